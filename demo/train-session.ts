/**
 * One training run of the page: one net, or two ("dropout vs no dropout") trained in turn, epoch by
 * epoch, on the same data order. Adds to `fit` what a page needs:
 *
 * - Pause: every `trainStep` passes a gate that waits while paused and yields to the browser (so the
 *   page stays responsive even on the CPU backend, whose steps are synchronous work).
 * - Stop: an AbortSignal for `fit`, and the gate refuses further steps.
 * - Device loss: the parameters are read back after every epoch; after a `DeviceLostError`, `resume()`
 *   opens a new backend, compiles the same specs, restores those parameters and step counters, and
 *   goes on from the next epoch. (Optimizer state such as momentum starts again from zero.)
 * - The page's own calls (predictions, saving) run between training steps, through `use()`.
 */
import {
  type Backend,
  createBackend,
  type Dataset,
  DeviceLostError,
  evaluate,
  type FitProgress,
  fit,
  type MlpSpec,
  type Net,
  type Optimizer,
  type ParamMap,
  WebGpuUnavailableError,
} from '../src/index.js';

export interface Member {
  /** 'dropout' / 'no dropout' in the comparison, 'model' otherwise. */
  readonly label: string;
  readonly spec: MlpSpec;
}

export interface SessionOptions {
  readonly members: readonly Member[];
  readonly batchSize: number;
  readonly optimizer: Optimizer;
  readonly maxNorm: number | undefined;
  readonly epochs: number;
  readonly seed: number;
  readonly train: Dataset;
  readonly test: Dataset;
  /** Also evaluate each net on the training set without dropout after every epoch (the comparison). */
  readonly evaluateTrain: boolean;
}

/** After an epoch of one member: loss and accuracy without dropout (train only with evaluateTrain). */
export interface EpochResult {
  readonly member: number;
  /** Epochs done; 0 is the evaluation before training. */
  readonly epoch: number;
  readonly train?: { loss: number; accuracy: number };
  readonly test: { loss: number; accuracy: number };
}

export interface SessionProgress {
  readonly member: number;
  /** Fractional epochs done by this member. */
  readonly epoch: number;
  /** Mean training loss and accuracy (with dropout) since the last report. */
  readonly loss: number;
  readonly accuracy: number;
  /** Over all members and epochs, in [0, 1]. */
  readonly fraction: number;
  readonly samplesPerSecond: number;
  readonly etaSeconds: number;
}

export type SessionState = 'training' | 'paused' | 'stopped' | 'done' | 'lost' | 'failed';

export interface SessionEvents {
  onProgress(progress: SessionProgress): void;
  onEpoch(result: EpochResult): void;
  onState(state: SessionState, error?: unknown): void;
  /** After a device loss, training goes on from the end of this epoch: later points are void. */
  onResume(epochs: number): void;
}

/** Thrown by the gate when Stop was pressed, so no step runs after it. */
class StopRequested extends Error {
  override name = 'StopRequested';
}

/** Runs async work one piece at a time: training steps and the page's calls never interleave. */
class Lock {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** Lets the browser render and handle input: a macrotask, without setTimeout's 4 ms clamp. */
function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

export class TrainSession {
  readonly options: SessionOptions;
  #backend: Backend;
  #nets: Net[] = [];
  #snapshot: { epochs: number; params: ParamMap[]; steps: number[] } | null = null;
  #events: SessionEvents;
  #lock = new Lock();
  #abort = new AbortController();
  #paused: { resume: () => void; promise: Promise<void>; since: number } | null = null;
  #state: SessionState = 'training';
  /** Samples trained in this session, and the seconds spent training (not paused). */
  #samples = 0;
  #activeSeconds = 0;
  #runStarted = 0;
  #rate = 0;

  private constructor(backend: Backend, options: SessionOptions, events: SessionEvents) {
    this.#backend = backend;
    this.options = options;
    this.#events = events;
  }

  /** Compiles the nets on `backend` and starts training (the returned promise resolves at once). */
  static async start(
    backend: Backend,
    options: SessionOptions,
    events: SessionEvents,
  ): Promise<TrainSession> {
    const session = new TrainSession(backend, options, events);
    await session.#compile();
    // A device lost in the first epoch resumes from the initial parameters.
    await session.#takeSnapshot(0);
    void session.#run(0);
    return session;
  }

  get state(): SessionState {
    return this.#state;
  }

  get backend(): Backend {
    return this.#backend;
  }

  /** The nets, in member order (empty after a device loss until `resume`). */
  get nets(): readonly Net[] {
    return this.#nets;
  }

  /** Runs `work` between training steps (or at once when not training). */
  use<T>(work: () => Promise<T>): Promise<T> {
    return this.#lock.run(work);
  }

  pause(): void {
    if (this.#state !== 'training') return;
    let resume = () => {};
    const promise = new Promise<void>((resolve) => {
      resume = resolve;
    });
    this.#paused = { resume, promise, since: performance.now() };
    this.#setState('paused');
  }

  /** Continues after Pause, or after a device loss (on a new backend of the same kind). */
  async resume(): Promise<void> {
    if (this.#state === 'paused' && this.#paused) {
      this.#runStarted += performance.now() - this.#paused.since;
      this.#paused.resume();
      this.#paused = null;
      this.#setState('training');
      return;
    }
    if (this.#state !== 'lost' || !this.#snapshot) return;
    const snapshot = this.#snapshot;
    // The same kind of backend; if WebGPU cannot be had any more, Wasm does the same work.
    this.#backend = await createBackend(this.#backend.kind).catch((error: unknown) => {
      if (error instanceof WebGpuUnavailableError) return createBackend('wasm');
      throw error;
    });
    await this.#compile();
    this.#nets.forEach((net, i) => {
      net.setParams(snapshot.params[i] as ParamMap, { step: snapshot.steps[i] as number });
    });
    this.#events.onResume(snapshot.epochs);
    this.#setState('training');
    void this.#run(snapshot.epochs);
  }

  stop(): void {
    if (this.#state !== 'training' && this.#state !== 'paused') return;
    this.#abort.abort();
    this.#paused?.resume();
  }

  dispose(): void {
    this.stop();
    for (const net of this.#nets) if (!net.disposed) net.dispose();
    this.#nets = [];
  }

  async #compile(): Promise<void> {
    const { members, batchSize, optimizer, maxNorm } = this.options;
    this.#nets = [];
    for (const member of members) {
      this.#nets.push(
        await this.#backend.compile(member.spec, {
          batchSize,
          optimizer,
          ...(maxNorm === undefined ? {} : { maxNorm }),
        }),
      );
    }
  }

  #setState(state: SessionState, error?: unknown): void {
    this.#state = state;
    this.#events.onState(state, error);
  }

  /** The net as `fit` sees it: steps wait at the gate, and every call goes through the lock. */
  #gated(net: Net): Net {
    const gate = async () => {
      await yieldToBrowser();
      while (this.#paused) await this.#paused.promise;
      if (this.#abort.signal.aborted) throw new StopRequested();
    };
    const locked = new Set<PropertyKey>(['trainStep', 'predict', 'takeMetrics', 'getParams']);
    return new Proxy(net, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        if (key === 'trainStep') {
          return async (...args: Parameters<Net['trainStep']>) => {
            await gate();
            return this.#lock.run(() => target.trainStep(...args));
          };
        }
        if (locked.has(key)) return (...args: unknown[]) => this.#lock.run(() => value.apply(target, args));
        return value.bind(target);
      },
    });
  }

  async #run(firstEpoch: number): Promise<void> {
    const { epochs, seed, train, test, batchSize, evaluateTrain } = this.options;
    const members = this.#nets.length;
    const stepsPerEpoch = Math.floor(train.n / batchSize);
    const totalSteps = stepsPerEpoch * epochs * members;
    this.#runStarted = performance.now();
    const activeBefore = this.#activeSeconds;
    try {
      if (firstEpoch === 0 && evaluateTrain) {
        // The starting point of the comparison's curves: both nets start from the same weights.
        for (const [member, net] of this.#nets.entries()) await this.#evaluate(member, net, 0);
      }
      for (let epoch = firstEpoch; epoch < epochs; epoch++) {
        for (const [member, net] of this.#nets.entries()) {
          let last = { step: 0, time: performance.now() };
          const stepsBefore = (epoch * members + member) * stepsPerEpoch;
          const history = await fit(this.#gated(net), train, {
            epochs: 1,
            // fit numbers this call's only epoch 0: a seed per epoch gives every epoch its own order.
            seed: seed + epoch,
            // The comparison evaluates after the epoch itself (train and test together).
            ...(evaluateTrain ? {} : { validation: test }),
            signal: this.#abort.signal,
            onProgress: (p: FitProgress) => {
              if (p.phase !== 'step') return;
              const now = performance.now();
              const samples = (p.step - last.step) * batchSize;
              this.#samples += samples;
              // Smoothed speed of training steps alone (validation and pauses excluded).
              const rate = (samples / Math.max(now - last.time, 1)) * 1000;
              this.#rate = this.#rate === 0 ? rate : 0.7 * this.#rate + 0.3 * rate;
              last = { step: p.step, time: now };
              const active = activeBefore + (now - this.#runStarted) / 1000;
              this.#activeSeconds = active;
              const done = stepsBefore + p.step;
              const overall = this.#samples / Math.max(active, 1e-3);
              this.#events.onProgress({
                member,
                epoch: epoch + p.step / p.totalSteps,
                loss: p.loss,
                accuracy: p.accuracy,
                fraction: done / totalSteps,
                samplesPerSecond: this.#rate,
                etaSeconds: ((totalSteps - done) * batchSize) / overall,
              });
            },
          });
          if (history.stopReason === 'aborted') throw new StopRequested();
          const record = history.epochs[0];
          if (evaluateTrain) await this.#evaluate(member, net, epoch + 1);
          else if (record?.validationLoss !== undefined && record.validationAccuracy !== undefined) {
            this.#events.onEpoch({
              member,
              epoch: epoch + 1,
              test: { loss: record.validationLoss, accuracy: record.validationAccuracy },
            });
          }
        }
        // Read back after every epoch: what a device loss resumes from.
        await this.#takeSnapshot(epoch + 1);
      }
      this.#setState('done');
    } catch (error) {
      if (error instanceof StopRequested) this.#setState('stopped');
      else if (error instanceof DeviceLostError) {
        this.#backend.dispose();
        this.#nets = [];
        this.#setState('lost', error);
      } else this.#setState('failed', error);
    }
  }

  async #takeSnapshot(epochs: number): Promise<void> {
    const params: ParamMap[] = [];
    for (const net of this.#nets) params.push(await this.use(() => net.getParams()));
    this.#snapshot = { epochs, params, steps: this.#nets.map((net) => net.step) };
  }

  async #evaluate(member: number, net: Net, epoch: number): Promise<void> {
    const train = await this.use(() => evaluate(net, this.options.train));
    const test = await this.use(() => evaluate(net, this.options.test));
    this.#events.onEpoch({
      member,
      epoch,
      train: { loss: train.loss, accuracy: train.accuracy },
      test: { loss: test.loss, accuracy: test.accuracy },
    });
  }

  /** Whether `resume()` can continue after a device loss (a snapshot was taken). */
  get canResume(): boolean {
    return this.#state === 'lost' && this.#snapshot !== null;
  }
}
