/**
 * One training run, inside the training worker: one net, or two ("dropout vs no dropout") trained in
 * turn, epoch by epoch, on the same data order. Adds to `fit` what the page needs:
 *
 * - Pause: a `PauseController` given to every `fit`; `pause()` reports 'paused' once it has taken
 *   effect (the run of steps in flight is done), so nothing is trained or submitted after that.
 * - Stop: an AbortSignal for `fit` (it also ends a paused fit).
 * - Device loss: `fit`'s checkpoints (parameters, optimizer state, step, place in the epoch) are kept;
 *   after a `DeviceLostError`, `continueAfterLoss()` opens a new backend, compiles the same specs and
 *   goes on from each net's checkpoint before its last (the last may have been read from the dying
 *   device) with `fit`'s `resume`: the run ends with the same parameters as one never interrupted.
 * - The paper's figures after every epoch (figures.ts), and the page's own calls (predictions,
 *   saving), which the nets run in call order between runs of training steps.
 */
import {
  type Backend,
  createBackend,
  type Dataset,
  DeviceLostError,
  evaluate,
  type FitCheckpoint,
  type FitProgress,
  fit,
  type Net,
  PauseController,
  WebGpuUnavailableError,
} from '../src/index.js';
import { type EpochFigures, MC_PASSES, memberFigures, parameterChecksum } from './figures.js';
import type { EpochResult, RunSettings, SessionProgress, SessionState } from './protocol.js';

export interface SessionEvents {
  onProgress(progress: SessionProgress): void;
  onEpoch(result: EpochResult): void;
  onFigures(figures: EpochFigures): void;
  onState(state: SessionState, detail?: { error?: unknown; checksum?: string }): void;
  /** After a device loss, training goes on from this fractional epoch: later points are void. */
  onResume(epochs: number): void;
}

/** Steps between `fit`'s checkpoints (one readback each): what a device loss can cost at most. */
const CHECKPOINT_EVERY = 25;
/** Test digits of the sparsity histograms and of the inference-rule figure. */
const SPARSITY_DIGITS = 200;
const MC_DIGITS = 100;

/** Where a net is: its last checkpoint, taken in (0-based) `epoch` of the session. */
interface Saved {
  readonly epoch: number;
  readonly checkpoint: FitCheckpoint;
}

export class TrainSession {
  readonly settings: RunSettings;
  readonly #train: Dataset;
  readonly #test: Dataset;
  #backend: Backend;
  #nets: Net[] = [];
  /** Each net's last two checkpoints, newest last. */
  #checkpoints: Saved[][];
  /** Where each net goes on from in the next `#run` (null: from its initial parameters). */
  #resumeFrom: (Saved | null)[];
  readonly #events: SessionEvents;
  readonly #abort = new AbortController();
  readonly #pause = new PauseController();
  #state: SessionState = 'training';
  /** Samples trained, and the seconds spent training (not paused), for the speed and ETA. */
  #samples = 0;
  #activeSeconds = 0;
  #runStarted = 0;
  #pausedAt = 0;
  #rate = 0;
  /** Wakes the session where it waits between fits (see `#gate`). */
  #wakeGate: (() => void) | null = null;

  private constructor(
    backend: Backend,
    settings: RunSettings,
    data: { train: Dataset; test: Dataset },
    events: SessionEvents,
  ) {
    this.#backend = backend;
    this.settings = settings;
    this.#train = data.train;
    this.#test = data.test;
    this.#events = events;
    this.#checkpoints = settings.members.map(() => []);
    this.#resumeFrom = settings.members.map(() => null);
  }

  /** Compiles the nets on `backend` and starts training (the returned promise resolves at once). */
  static async start(
    backend: Backend,
    settings: RunSettings,
    data: { train: Dataset; test: Dataset },
    events: SessionEvents,
  ): Promise<TrainSession> {
    const session = new TrainSession(backend, settings, data, events);
    await session.#compile();
    void session.#run();
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

  /** Training steps taken by all nets together. */
  get steps(): number {
    return this.#nets.reduce((sum, net) => sum + (net.disposed ? 0 : net.step), 0);
  }

  get test(): Dataset {
    return this.#test;
  }

  /**
   * Pauses; 'paused' is reported once nothing runs on the nets any more: when `fit` holds at the pause
   * (its run of steps in flight done), or when the session reaches its gate between two fits.
   */
  pause(): void {
    if (this.#state !== 'training' || this.#pause.paused) return;
    this.#pause.pause();
    this.#pausedAt = performance.now();
    void this.#pause.held().then(() => this.#reportPaused());
  }

  /** Continues after Pause. */
  resume(): void {
    if (!this.#pause.paused) return;
    this.#runStarted += performance.now() - this.#pausedAt;
    this.#pause.resume();
    this.#wakeGate?.();
    if (this.#state === 'paused') this.#setState('training');
  }

  #reportPaused(): void {
    if (this.#pause.paused && this.#state === 'training') this.#setState('paused');
  }

  /** Between fits, evaluations and figures: waits while paused (and says so), until resume or stop. */
  async #gate(): Promise<void> {
    if (!this.#pause.paused || this.#abort.signal.aborted) return;
    this.#reportPaused();
    await new Promise<void>((resolve) => {
      const wake = () => {
        this.#abort.signal.removeEventListener('abort', wake);
        this.#wakeGate = null;
        resolve();
      };
      this.#wakeGate = wake;
      this.#abort.signal.addEventListener('abort', wake);
    });
  }

  /** After a device loss: a new backend of the same kind, the nets from their last checkpoints. */
  async continueAfterLoss(): Promise<void> {
    if (this.#state !== 'lost') return;
    // The same kind of backend; if WebGPU cannot be had any more, Wasm does the same work.
    this.#backend = await createBackend(this.#backend.kind).catch((error: unknown) => {
      if (error instanceof WebGpuUnavailableError) return createBackend('wasm');
      throw error;
    });
    await this.#compile();
    const stepsPerEpoch = Math.floor(this.#train.n / this.settings.batchSize);
    const at = (saved: Saved | null) =>
      saved ? saved.epoch + saved.checkpoint.stepInEpoch / stepsPerEpoch : 0;
    this.#events.onResume(Math.min(...this.#resumeFrom.map(at)));
    this.#setState('training');
    void this.#run();
  }

  stop(): void {
    if (this.#state !== 'training' && this.#state !== 'paused') return;
    this.#abort.abort();
  }

  dispose(): void {
    this.stop();
    for (const net of this.#nets) if (!net.disposed) net.dispose();
    this.#nets = [];
    this.#backend.dispose();
  }

  async #compile(): Promise<void> {
    const { members, batchSize, optimizer, maxNorm } = this.settings;
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

  #setState(state: SessionState, detail?: { error?: unknown; checksum?: string }): void {
    this.#state = state;
    this.#events.onState(state, detail);
  }

  async #run(): Promise<void> {
    const { epochs, seed, batchSize, evaluateTrain } = this.settings;
    const train = this.#train;
    const members = this.#nets.length;
    const stepsPerEpoch = Math.floor(train.n / batchSize);
    const totalSteps = stepsPerEpoch * epochs * members;
    this.#runStarted = performance.now();
    const activeBefore = this.#activeSeconds;
    // Each net goes on from its last checkpoint (all null on a fresh start).
    const firstEpoch = Math.min(...this.#resumeFrom.map((saved) => saved?.epoch ?? 0));
    /** False once stopped (after waiting out a pause). */
    const proceed = async () => {
      await this.#gate();
      if (!this.#abort.signal.aborted) return true;
      this.#setState('stopped');
      return false;
    };
    try {
      if (firstEpoch === 0 && this.#resumeFrom.every((saved) => saved === null)) {
        if (evaluateTrain) {
          // The starting point of the comparison's curves: both nets start from the same weights.
          for (const [member, net] of this.#nets.entries()) {
            if (!(await proceed())) return;
            await this.#evaluate(member, net, 0);
          }
        }
        if (!(await proceed())) return;
        await this.#figures(0);
      }
      for (let epoch = firstEpoch; epoch < epochs; epoch++) {
        for (const [member, net] of this.#nets.entries()) {
          const saved = this.#resumeFrom[member] ?? null;
          if (saved && saved.epoch > epoch) {
            // This net had finished the epoch before the loss: it only takes its state back.
            net.restore(saved.checkpoint);
            continue;
          }
          this.#resumeFrom[member] = null;
          if (!(await proceed())) return;
          let last = {
            step: saved?.epoch === epoch ? saved.checkpoint.stepInEpoch : 0,
            time: performance.now(),
          };
          const stepsBefore = (epoch * members + member) * stepsPerEpoch;
          const history = await fit(net, train, {
            epochs: 1,
            // fit numbers this call's only epoch 0: a seed per epoch gives every epoch its own order.
            seed: seed + epoch,
            // The comparison evaluates after the epoch itself (train and test together).
            ...(evaluateTrain ? {} : { validation: this.#test }),
            signal: this.#abort.signal,
            pause: this.#pause,
            checkpointEvery: CHECKPOINT_EVERY,
            ...(saved?.epoch === epoch ? { resume: saved.checkpoint } : {}),
            onCheckpoint: (checkpoint) => this.#keep(member, { epoch, checkpoint }),
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
          if (history.stopReason === 'aborted') {
            this.#setState('stopped');
            return;
          }
          // The start of the next epoch, for a device lost before that epoch's first checkpoint.
          if (!(await proceed())) return;
          this.#keep(member, {
            epoch: epoch + 1,
            checkpoint: { ...(await net.checkpoint()), epoch: 0, stepInEpoch: 0 },
          });
          const record = history.epochs[0];
          if (!(await proceed())) return;
          if (evaluateTrain) await this.#evaluate(member, net, epoch + 1);
          else if (record?.validationLoss !== undefined && record.validationAccuracy !== undefined) {
            this.#events.onEpoch({
              member,
              epoch: epoch + 1,
              test: { loss: record.validationLoss, accuracy: record.validationAccuracy },
            });
          }
        }
        if (!(await proceed())) return;
        await this.#figures(epoch + 1);
      }
      if (!(await proceed())) return;
      const checksum = parameterChecksum(await Promise.all(this.#nets.map((net) => net.getParams())));
      this.#setState('done', { checksum });
    } catch (error) {
      if (error instanceof DeviceLostError) {
        // The newest checkpoint may be void: a lost device's readback can resolve (with zeros) before
        // the loss is reported. The one before it was read while the device still worked.
        this.#resumeFrom = this.#checkpoints.map((kept) => {
          kept.pop();
          return kept.at(-1) ?? null;
        });
        this.#backend.dispose();
        this.#nets = [];
        this.#setState('lost', { error });
      } else this.#setState('failed', { error });
    }
  }

  #keep(member: number, saved: Saved): void {
    const kept = this.#checkpoints[member] as Saved[];
    kept.push(saved);
    if (kept.length > 2) kept.shift();
  }

  async #figures(epoch: number): Promise<void> {
    const figures = [];
    for (const [member, net] of this.#nets.entries()) {
      figures.push(
        await memberFigures(this.settings.members[member]?.label ?? 'model', net, this.#test, {
          sparsityDigits: SPARSITY_DIGITS,
          mcDigits: MC_DIGITS,
          mcPasses: MC_PASSES,
        }),
      );
    }
    this.#events.onFigures({ epoch, members: figures });
  }

  async #evaluate(member: number, net: Net, epoch: number): Promise<void> {
    const train = await evaluate(net, this.#train);
    const test = await evaluate(net, this.#test);
    this.#events.onEpoch({
      member,
      epoch,
      train: { loss: train.loss, accuracy: train.accuracy },
      test: { loss: test.loss, accuracy: test.accuracy },
    });
  }
}
