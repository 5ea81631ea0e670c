/**
 * A compiled net: one model at one batch size on one device. It owns its state (state.ts: parameters,
 * optimizer state, metrics, step counter), the training program, inference (infer.ts), and the one
 * dataset it keeps on the device (resident.ts). Every argument is checked before any work starts, so a
 * bad call leaves the net as it was.
 */
import { checkHyperparameters, checkInputs, checkLabels, checkRows } from '../check.js';
import { checkDataset, type Dataset } from '../data/dataset.js';
import { type Device, MAX_STEPS_PER_RUN, type NumArray, type RunResult } from '../device/device.js';
import { ArgumentError, DisposedError, describe } from '../errors.js';
import { type CompiledGraph, checkFits, compileGraph } from '../graph/executor.js';
import { allTensors, Validator } from '../graph/validate.js';
import { buildPredictGraph, buildTrainGraph } from '../nn/graphs.js';
import { initParams, type ParamMap } from '../nn/init.js';
import type { MlpSpec } from '../nn/mlp.js';
import { stepContext } from '../nn/optim.js';
import { CallOrder } from './call-order.js';
import { checkPredict, Inference } from './infer.js';
import { ResidentDataset } from './resident.js';
import { NetState } from './state.js';
import {
  frozenInfo,
  type McPrediction,
  type NetCheckpoint,
  type NetInfo,
  type PredictOptions,
  type ResolvedCompileOptions,
  type StepHyperparameters,
  type TrainingMetrics,
  type TrainStepResult,
} from './types.js';

/**
 * `takeMetrics` for `fit`'s reports (set in `Net`'s static block): it keeps the non-finite count, so
 * that a run `fit` queued before seeing a report's non-finite loss makes no update either.
 */
export let takeReportMetrics: (net: Net) => Promise<TrainingMetrics>;

/** A step's lr and momentum, checked. */
type StepSettings = ReturnType<typeof checkHyperparameters>;
/** One step's arguments, checked and copied when the call was made. */
type CheckedBatch = StepSettings & { inputs: Float32Array; labels: Uint32Array };

/**
 * A model compiled for one backend and batch size (made by `backend.compile`): train it step by step
 * or with `fit`, predict, move its parameters in and out, and dispose it.
 */
export class Net<Buffer = unknown> {
  /** What the net was compiled from (frozen: changing it cannot change the net). */
  readonly info: NetInfo;
  readonly #device: Device<Buffer>;
  readonly #state: NetState<Buffer>;
  readonly #train: CompiledGraph<Buffer>;
  readonly #inference: Inference<Buffer>;
  readonly #resident: ResidentDataset<Buffer>;
  readonly #validator: Validator<Buffer> | null;
  /** Where a training step's batch goes, looked up once. */
  readonly #batch: { xId: number; labelsId: number; x: Buffer; labels: Buffer };
  #disposed = false;
  /** Every call in call order, and what is in flight (call-order.ts). */
  readonly #calls = new CallOrder();

  private constructor(
    device: Device<Buffer>,
    info: NetInfo,
    state: NetState<Buffer>,
    train: CompiledGraph<Buffer>,
    inference: Inference<Buffer>,
    validator: Validator<Buffer> | null,
  ) {
    this.#device = device;
    this.info = info;
    this.#state = state;
    this.#train = train;
    this.#inference = inference;
    this.#validator = validator;
    this.#resident = new ResidentDataset(device, info, state.shared, validator === null);
    const [xId, labelsId] = [train.graph.find('x').id, train.graph.find('labels').id];
    this.#batch = { xId, labelsId, x: train.bufferOf(xId), labels: train.bufferOf(labelsId) };
  }

  /** Builds the programs and uploads the seed's initial parameters. Arguments are already validated. */
  static async create<Buffer>(
    device: Device<Buffer>,
    spec: MlpSpec,
    options: ResolvedCompileOptions,
  ): Promise<Net<Buffer>> {
    const { batchSize, optimizer, maxNorm, validate } = options;
    const train = buildTrainGraph(spec, batchSize, optimizer, maxNorm, true);
    checkFits(device, train.graph, batchSize);
    checkFits(device, buildPredictGraph(spec, batchSize, true).graph, batchSize);
    const info = frozenInfo({ spec, batchSize, optimizer, maxNorm, backend: device.kind });
    // Made (and freed on failure) one by one: a compile that fails leaves nothing on the device.
    const state = new NetState(device, train.graph);
    let trainCompiled: CompiledGraph<Buffer> | undefined;
    let inference: Inference<Buffer> | undefined;
    try {
      trainCompiled = await compileGraph(device, 'train', train.graph, {
        shared: state.shared,
        snapshots: [train.loss],
        // Validate mode reads every tensor after the step, so none may share a buffer; it checks
        // Adam's update as its own node (CompileGraphOptions.fuseAdam).
        ...(validate ? { keep: allTensors(train.graph), fuseAdam: false } : {}),
      });
      inference = await Inference.create(device, info, state.paramBuffers());
      const validator = validate ? new Validator(device, train.graph, trainCompiled.bufferOf) : null;
      const net = new Net(device, info, state, trainCompiled, inference, validator);
      state.writeParams(state.checkParams(initParams(spec)));
      return net;
    } catch (error) {
      // Nothing of a net that could not be made stays on the device.
      inference?.dispose();
      trainCompiled?.dispose();
      state.dispose();
      throw error;
    }
  }

  /** Training steps taken so far: the step counter t of the next step's dropout masks. */
  get step(): number {
    return this.#state.step;
  }

  /**
   * One step of minibatch training on `x` (batchSize × inputs, row-major) with integer labels `y`
   * (batchSize of them): the forward pass with dropout, the loss, the backward pass, the optimizer update
   * and max-norm.
   */
  trainStep(
    x: ArrayLike<number>,
    y: ArrayLike<number>,
    hyperparameters: StepHyperparameters = {},
  ): Promise<TrainStepResult> {
    return this.#calls.checkThenSerialize(
      () => this.#checkLive(),
      () => {
        const { batchSize, spec, optimizer } = this.info;
        const inputs = checkInputs('x', x, batchSize, spec.sizes[0] as number, true);
        const labels = checkLabels('y', y, batchSize, spec.sizes[spec.sizes.length - 1] as number);
        return { inputs, labels, ...checkHyperparameters(optimizer, hyperparameters, '') };
      },
      (batch) => this.#trainStep(batch),
    );
  }

  async #trainStep({ inputs, labels, lr, momentum }: CheckedBatch): Promise<TrainStepResult> {
    const { optimizer } = this.info;
    const { xId, labelsId } = this.#batch;
    this.#device.write(this.#batch.x, inputs);
    this.#device.write(this.#batch.labels, labels);
    const step = this.#state.step;
    const ctx = stepContext(optimizer, step, lr, momentum);
    const validator = this.#validator;
    const start = validator
      ? await validator.before(
          new Map<number, NumArray>([
            [xId, inputs],
            [labelsId, labels],
          ]),
        )
      : undefined;
    const run: RunResult = this.#train.program.run(ctx);
    this.#state.step += 1;
    if (start) await validator?.check(start, ctx);
    return this.#stepResult(step, run);
  }

  /**
   * Several training steps on rows of `data`, which stays on the device: `rows` holds steps ×
   * batchSize row indices (step s trains on rows[s·B … (s+1)·B)); `hyperparameters` is one entry per
   * step, or one for all. The first call with a dataset uploads it (a later call with another one
   * replaces it; `dispose` frees it), as bytes when it has `bytes` (MNIST: a quarter of x's size);
   * after that a step uploads only its B row indices, and up to MAX_STEPS_PER_RUN (1,024) steps go to
   * the GPU in one submission, every one of whose losses stays readable. The results are those of `trainStep` on the same batches, bit for bit.
   * When the dataset does not fit the device's buffer limits (or in validate mode), the batches are
   * gathered on the CPU and trained one `trainStep` at a time, with the same results.
   * A Dataset object is checked (labels, finite values) and uploaded once: do not change its arrays
   * after training on it. Switching to another dataset frees the old one's program, and with it the
   * loss history of its steps: await the losses you want before switching.
   *
   * @throws ArgumentError naming `data`, `data.features`, `data.classes`, `data.x[i]`, `data.y[i]`,
   * `rows`, `rows[i]`, `hyperparameters`, `hyperparameters[s].lr`/`.momentum`, `lr` or `momentum`.
   */
  trainRows(
    data: Dataset,
    rows: ArrayLike<number>,
    hyperparameters: StepHyperparameters | readonly StepHyperparameters[] = {},
  ): Promise<TrainStepResult[]> {
    return this.#calls.serialize(
      () => this.#checkLive(),
      () => this.#trainRows(data, rows, hyperparameters),
    );
  }

  async #trainRows(
    data: Dataset,
    rows: ArrayLike<number>,
    hyperparameters: StepHyperparameters | readonly StepHyperparameters[],
  ): Promise<TrainStepResult[]> {
    const { batchSize, spec, optimizer } = this.info;
    checkDataset('data', data, spec.sizes);
    const indices = checkRows(rows, batchSize, data.n);
    const steps = indices.length / batchSize;
    const perStep = Array.isArray(hyperparameters);
    if (perStep && hyperparameters.length !== steps) {
      throw new ArgumentError(
        'hyperparameters',
        `${steps} entries, one per step`,
        `${hyperparameters.length}`,
      );
    }
    const settings = Array.from({ length: steps }, (_, s) =>
      checkHyperparameters(
        this.info.optimizer,
        (perStep ? hyperparameters[s] : hyperparameters) as StepHyperparameters,
        perStep ? `hyperparameters[${s}].` : '',
      ),
    );
    const resident = (await this.#resident.for(data)).program;
    this.#checkLive(); // disposed while the set was uploading
    const results: TrainStepResult[] = [];
    if (!resident) {
      const features = data.features;
      for (let s = 0; s < steps; s++) {
        const inputs = new Float32Array(batchSize * features);
        const labels = new Uint32Array(batchSize);
        for (let r = 0; r < batchSize; r++) {
          const row = indices[s * batchSize + r] as number;
          inputs.set(data.x.subarray(row * features, (row + 1) * features), r * features);
          labels[r] = data.y[row] as number;
        }
        results.push(await this.#trainStep({ inputs, labels, ...(settings[s] as StepSettings) }));
      }
      return results;
    }
    for (let first = 0; first < steps; first += MAX_STEPS_PER_RUN) {
      const count = Math.min(MAX_STEPS_PER_RUN, steps - first);
      const step = this.#state.step;
      const ctxs = settings
        .slice(first, first + count)
        .map(({ lr, momentum }, i) => stepContext(optimizer, step + i, lr, momentum));
      const slice = indices.subarray(first * batchSize, (first + count) * batchSize);
      resident.program.runMany(ctxs, [slice]).forEach((run, i) => {
        results.push(this.#stepResult(step + i, run));
      });
      this.#state.step += count;
    }
    return results;
  }

  /**
   * Class probabilities [rows × classes] for `x` [rows × inputs], without dropout. Any number of rows:
   * they are run batchSize at a time (rows are independent, so the last chunk is zero-padded).
   *
   * With `{ mcSamples: n }` (1 ≤ n ≤ 10,000): MC-dropout (Gal & Ghahramani 2016): n stochastic passes with dropout on,
   * returning the mean class probabilities and their per-class variance over the passes (divided by
   * n). Pass p draws its masks from Philox counter [i/4, p, site, 3]: apart from every training mask,
   * and the same on every call, so predictions repeat exactly.
   */
  predict(x: ArrayLike<number>): Promise<Float32Array>;
  predict(x: ArrayLike<number>, options: PredictOptions): Promise<McPrediction>;
  predict(x: ArrayLike<number>, options?: PredictOptions): Promise<Float32Array | McPrediction> {
    return this.#calls.checkThenSerialize<
      { inputs: Float32Array; samples: number | undefined },
      Float32Array | McPrediction
    >(
      () => this.#checkLive(),
      () => checkPredict(this.info.spec.sizes[0] as number, x, options),
      ({ inputs, samples }) =>
        samples === undefined
          ? this.#inference.predict(inputs, this.#state.step)
          : this.#inference.mc(inputs, samples),
    );
  }

  /**
   * The training metrics accumulated on the device since the last call (or since compile), read back
   * in one transfer, then reset to zero. Reset also lets updates resume after a non-finite loss. Calls
   * made after it do not wait for the values to come back (CallOrder.serializeRead).
   */
  takeMetrics(): Promise<TrainingMetrics> {
    return this.#takeMetrics(false);
  }

  static {
    takeReportMetrics = (net) => net.#takeMetrics(true);
  }

  #takeMetrics(keepNonFinite: boolean): Promise<TrainingMetrics> {
    return this.#calls.serializeRead(
      () => this.#checkLive(),
      () => this.#state.takeMetrics(this.info.batchSize, keepNonFinite),
    );
  }

  /** The parameters by PyTorch name (`layers.k.weight` [out, in], `layers.k.bias` [out]), copied. */
  getParams(): Promise<ParamMap> {
    return this.#calls.serialize(
      () => this.#checkLive(),
      () => this.#state.readParams(),
    );
  }

  /**
   * Replaces every parameter. `params` must hold exactly this net's names with matching shapes and
   * finite values; nothing is written unless all of it is valid. Optimizer state is kept as it is.
   * `step` sets the step counter too (the t of the next step's dropout masks), e.g. to resume training
   * from a file saved at that step.
   */
  setParams(params: ParamMap, options: { step?: number } = {}): void {
    this.#checkLive();
    if (typeof options !== 'object' || options === null) {
      throw new ArgumentError('options', 'an object, e.g. { step }', describe(options));
    }
    const { step } = options;
    if (step !== undefined && !(Number.isSafeInteger(step) && step >= 0)) {
      throw new ArgumentError('step', 'an integer ≥ 0', describe(step));
    }
    const data = this.#state.checkParams(params);
    this.#calls.inOrder(
      () => this.#checkLive(),
      () => {
        this.#state.writeParams(data);
        if (step !== undefined) this.#state.step = step;
      },
    );
  }

  /**
   * Everything training needs to continue exactly where it is: parameters, optimizer state (momentum,
   * Adam moments) and the step counter, copied to the CPU. `restore` puts it into a net compiled
   * from the same spec and options, on any backend, e.g. after the GPU device was lost.
   */
  checkpoint(): Promise<NetCheckpoint> {
    return this.#calls.serialize(
      () => this.#checkLive(),
      () => this.#state.checkpoint(),
    );
  }

  /** Puts a checkpoint back (see `checkpoint`). Throws, changing nothing, if it does not fit this net. */
  restore(checkpoint: NetCheckpoint): void {
    this.#checkLive();
    this.#calls.inOrder(() => this.#checkLive(), this.#state.prepareRestore(checkpoint));
  }

  /**
   * Frees every buffer. Any later call throws (or rejects with) `DisposedError`, and so do calls made
   * before it that had not started yet; what is in flight (a running call, a loss being read) finishes
   * first, and the buffers are freed once nothing uses them (at once when nothing is in flight).
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const free = () => {
      this.#train.dispose();
      this.#inference.dispose();
      this.#resident.dispose();
      this.#state.dispose();
    };
    if (this.#calls.idle) free();
    else
      void this.#calls
        .whenIdle()
        .then(free)
        .catch(() => {
          // Freeing never fails on a live device; on a failed one its buffers are gone with it.
        });
  }

  /**
   * What trainStep and trainRows return for one step: the loss is read back only when awaited; once
   * the net is disposed it is refused (its buffers are going away), and a read under way delays the
   * freeing until it is done.
   */
  #stepResult(step: number, run: RunResult): TrainStepResult {
    let loss: Promise<number> | undefined;
    const read = (): Promise<number> => {
      if (this.#disposed) return Promise.reject(new DisposedError('this net'));
      return this.#calls.track(run.read(0).then((values) => values[0] as number));
    };
    return {
      step,
      get loss() {
        loss ??= read();
        return loss;
      },
    };
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  #checkLive(): void {
    if (this.#disposed) throw new DisposedError('this net');
  }
}
