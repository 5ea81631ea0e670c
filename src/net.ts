/**
 * A compiled net: one model at one batch size on one device. Owns the parameter and optimizer-state
 * buffers, the training program and the inference program, and the step counter t of SPEC §3.2.
 * Every argument is checked before any work starts, so a bad call leaves the net as it was.
 */
import { type Device, MAX_STEPS_PER_RUN, type RunResult } from './backend/device.js';
import { checkDataset, type Dataset } from './data/mnist.js';
import { ArgumentError, DisposedError, describe } from './errors.js';
import { type CompiledGraph, compileGraph } from './graph/executor.js';
import { elementCount, plainStep, type StepContext } from './graph/ir.js';
import { allTensors, Validator } from './graph/validate.js';
import { buildPredictGraph, buildTrainGraph } from './nn/graphs.js';
import { initParams, type ParamMap } from './nn/init.js';
import type { MlpSpec } from './nn/mlp.js';
import { type Optimizer, stepContext } from './nn/optim.js';
import type { NumArray } from './ops/op.js';
import { METRICS } from './ops/softmax-xent.js';
import { openResident, type ResidentSet } from './resident.js';

/** How `backend.compile` builds a net: batch size, optimizer, max-norm, validate mode. */
export interface CompileOptions {
  /**
   * Check every node of every training step against the CPU reference, given the same inputs, and
   * throw `ValidationError` at the first that differs beyond its op's tolerance. Slow: for debugging.
   */
  validate?: boolean;
  /** Rows per training step. A positive integer. */
  batchSize: number;
  /** Default `sgd({ lr: 0.1 })`. */
  optimizer?: Optimizer;
  /** Max-norm constraint c on every unit's incoming weights (> 0). Default: none. */
  maxNorm?: number;
}

/** What `trainStep` returns. Reading `loss` is what triggers a readback (on WebGPU). */
export interface TrainStepResult {
  /** The step's index t (0 for the net's first step). */
  readonly step: number;
  /** Mean cross-entropy of the batch before this step's update. */
  readonly loss: Promise<number>;
}

/** What the loss kernel accumulated on the device over some training steps (see `takeMetrics`). */
export interface TrainingMetrics {
  readonly steps: number;
  readonly examples: number;
  /** Mean of the steps' losses (with dropout, before each step's update). NaN when no steps. */
  readonly loss: number;
  /** Fraction of examples whose highest logit (the first, on ties) was the label. NaN when no steps. */
  readonly accuracy: number;
  /** Steps whose loss was NaN or infinite. From the first of them on, updates were skipped. */
  readonly nonFiniteSteps: number;
}

/** A net's whole training state on the CPU (see `Net.checkpoint`). */
export interface NetCheckpoint {
  readonly params: ParamMap;
  /** Momentum or Adam moments, by `<parameter>:<state>` name. */
  readonly optimizerState: ParamMap;
  readonly step: number;
}

/** MC-dropout predictions: per row and class, the mean probability and its variance over the passes. */
export interface McPrediction {
  readonly mean: Float32Array;
  readonly variance: Float32Array;
}

/** Per-step overrides of the optimizer's hyperparameters (learning-rate schedules, momentum ramps). */
export interface StepHyperparameters {
  lr?: number;
  momentum?: number;
}

/** Compile options with every default filled in and every value checked. */
export interface ResolvedCompileOptions {
  readonly batchSize: number;
  readonly optimizer: Optimizer;
  readonly maxNorm: number | undefined;
  readonly validate: boolean;
}

/** What a net was compiled from: its spec, batch size, optimizer, max-norm and backend kind. */
export interface NetInfo {
  readonly spec: MlpSpec;
  readonly batchSize: number;
  readonly optimizer: Optimizer;
  readonly maxNorm: number | undefined;
  readonly backend: Device['kind'];
}

/**
 * A model compiled for one backend and batch size (made by `backend.compile`): train it step by step
 * or with `fit`, predict, move its parameters in and out, and dispose it.
 */
export class Net<Buffer = unknown> {
  readonly info: NetInfo;
  readonly #device: Device<Buffer>;
  readonly #params: ReadonlyMap<string, { shape: readonly number[]; buffer: Buffer }>;
  readonly #train: CompiledGraph<Buffer>;
  readonly #predict: CompiledGraph<Buffer>;
  readonly #state: ReadonlyMap<string, { shape: readonly number[]; buffer: Buffer }>;
  readonly #validator: Validator<Buffer> | null;
  /** Where a training step's batch goes, looked up once. */
  readonly #trainInputs: { xId: number; labelsId: number; xBuffer: Buffer; labelsBuffer: Buffer };
  #mc: Promise<CompiledGraph<Buffer>> | undefined;
  #mcCompiled: CompiledGraph<Buffer> | undefined;
  /** The training set kept on the device and the program that trains from it (see `trainRows`). */
  #resident: ResidentSlot<Buffer> | undefined;
  #step = 0;
  #disposed = false;

  private constructor(
    device: Device<Buffer>,
    info: NetInfo,
    params: ReadonlyMap<string, { shape: readonly number[]; buffer: Buffer }>,
    state: ReadonlyMap<string, { shape: readonly number[]; buffer: Buffer }>,
    train: CompiledGraph<Buffer>,
    predict: CompiledGraph<Buffer>,
    validator: Validator<Buffer> | null,
  ) {
    this.#validator = validator;
    const [xId, labelsId] = [train.graph.find('x').id, train.graph.find('labels').id];
    this.#trainInputs = {
      xId,
      labelsId,
      xBuffer: train.bufferOf(xId),
      labelsBuffer: train.bufferOf(labelsId),
    };
    this.#device = device;
    this.info = info;
    this.#params = params;
    this.#state = state;
    this.#train = train;
    this.#predict = predict;
  }

  /** Builds both programs and uploads the seed's initial parameters. Arguments are already validated. */
  static async create<Buffer>(
    device: Device<Buffer>,
    spec: MlpSpec,
    options: ResolvedCompileOptions,
  ): Promise<Net<Buffer>> {
    const { batchSize, optimizer, maxNorm, validate } = options;
    const train = buildTrainGraph(spec, batchSize, optimizer, maxNorm, true);
    const predict = buildPredictGraph(spec, batchSize, true);
    for (const graph of [train.graph, predict.graph]) device.check?.(graph, batchSize);
    // Parameters and optimizer state live across steps and are shared by both programs.
    const shared = new Map<string, Buffer>();
    const params = new Map<string, { shape: readonly number[]; buffer: Buffer }>();
    const state = new Map<string, { shape: readonly number[]; buffer: Buffer }>();
    for (const tensor of train.graph.tensors) {
      if (tensor.role !== 'parameter' && tensor.role !== 'optimizer_state') continue;
      const buffer = device.createBuffer(tensor.name, tensor.dtype, elementCount(tensor.shape));
      shared.set(tensor.name, buffer);
      if (tensor.role === 'parameter') params.set(tensor.name, { shape: tensor.shape, buffer });
      else state.set(tensor.name, { shape: tensor.shape, buffer });
    }
    const trainCompiled = await compileGraph(device, 'train', train.graph, {
      shared,
      snapshots: [train.loss],
      // Validate mode reads every tensor after the step, so none may share a buffer.
      ...(validate ? { keep: allTensors(train.graph) } : {}),
    });
    const predictCompiled = await compileGraph(device, 'predict', predict.graph, {
      shared,
      keep: [predict.probs],
    });
    const info = { spec, batchSize, optimizer, maxNorm, backend: device.kind };
    const validator = validate ? new Validator(device, train.graph, trainCompiled.bufferOf) : null;
    const net = new Net(device, info, params, state, trainCompiled, predictCompiled, validator);
    net.#writeParams(initParams(spec));
    return net;
  }

  /** Training steps taken so far: the step counter t of the next step's dropout masks. */
  get step(): number {
    return this.#step;
  }

  /**
   * One step of minibatch training on `x` (batchSize × inputs, row-major) with integer labels `y`
   * (batchSize of them): the forward pass with dropout, the loss, the backward pass, the optimizer update
   * and max-norm.
   */
  async trainStep(
    x: ArrayLike<number>,
    y: ArrayLike<number>,
    hyperparameters: StepHyperparameters = {},
  ): Promise<TrainStepResult> {
    this.#checkLive();
    const { batchSize, spec, optimizer } = this.info;
    const inputs = checkInputs('x', x, batchSize, spec.sizes[0] as number, true);
    const labels = checkLabels('y', y, batchSize, spec.sizes[spec.sizes.length - 1] as number);
    const { lr, momentum } = this.#hyperparameters(hyperparameters, '');
    const { xId, labelsId, xBuffer, labelsBuffer } = this.#trainInputs;
    this.#device.write(xBuffer, inputs);
    this.#device.write(labelsBuffer, labels);
    const step = this.#step;
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
    this.#step += 1;
    if (start) await this.#validator?.check(start, ctx);
    return stepResult(step, run);
  }

  /**
   * Several training steps on rows of `data`, which stays on the device: `rows` holds steps ×
   * batchSize row indices (step s trains on rows[s·B … (s+1)·B)); `hyperparameters` is one entry per
   * step, or one for all. The first call with a dataset uploads it (a later call with another one
   * replaces it; `dispose` frees it), as bytes when it has `bytes` (MNIST: a quarter of x's size);
   * after that a step uploads only its B row indices, and up to MAX_STEPS_PER_RUN (32) steps go to the
   * GPU in one submission. The results are those of `trainStep` on the same batches, bit for bit.
   * When the dataset does not fit the device's buffer limits (or in validate mode), the batches are
   * gathered on the CPU and trained one `trainStep` at a time, with the same results.
   * A Dataset object is checked (labels, finite values) and uploaded once: do not change its arrays
   * after training on it. Switching to another dataset frees the old one's program, and with it the
   * loss history of its steps: await the losses you want before switching.
   *
   * @throws ArgumentError naming `data`, `data.features`, `data.classes`, `data.x[i]`, `data.y[i]`,
   * `rows`, `rows[i]`, `hyperparameters`, `hyperparameters[s].lr`/`.momentum`, `lr` or `momentum`.
   */
  async trainRows(
    data: Dataset,
    rows: ArrayLike<number>,
    hyperparameters: StepHyperparameters | readonly StepHyperparameters[] = {},
  ): Promise<TrainStepResult[]> {
    this.#checkLive();
    const { batchSize, spec, optimizer } = this.info;
    checkDataset('data', data, spec.sizes);
    const steps = rows?.length / batchSize;
    if (!(Number.isInteger(steps) && steps >= 1)) {
      throw new ArgumentError(
        'rows',
        `a non-empty multiple of batchSize = ${batchSize} row indices`,
        describe(rows),
      );
    }
    const indices = new Uint32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (!(Number.isInteger(row) && (row as number) >= 0 && (row as number) < data.n)) {
        throw new ArgumentError(`rows[${i}]`, `an integer row index in [0, ${data.n})`, describe(row));
      }
      indices[i] = row as number;
    }
    const perStep = Array.isArray(hyperparameters);
    if (perStep && hyperparameters.length !== steps) {
      throw new ArgumentError(
        'hyperparameters',
        `${steps} entries, one per step`,
        `${hyperparameters.length}`,
      );
    }
    const settings = Array.from({ length: steps }, (_, s) =>
      this.#hyperparameters(
        (perStep ? hyperparameters[s] : hyperparameters) as StepHyperparameters,
        perStep ? `hyperparameters[${s}].` : '',
      ),
    );
    const resident = (await this.#residentFor(data)).program;
    this.#checkLive(); // disposed while the set was uploading
    const results: TrainStepResult[] = [];
    if (!resident) {
      const features = data.features;
      const x = new Float32Array(batchSize * features);
      const y = new Uint8Array(batchSize);
      for (let s = 0; s < steps; s++) {
        for (let r = 0; r < batchSize; r++) {
          const row = indices[s * batchSize + r] as number;
          x.set(data.x.subarray(row * features, (row + 1) * features), r * features);
          y[r] = data.y[row] as number;
        }
        results.push(await this.trainStep(x, y, settings[s]));
      }
      return results;
    }
    for (let first = 0; first < steps; first += MAX_STEPS_PER_RUN) {
      const count = Math.min(MAX_STEPS_PER_RUN, steps - first);
      const ctxs = settings
        .slice(first, first + count)
        .map(({ lr, momentum }, i) => stepContext(optimizer, this.#step + i, lr, momentum));
      const slice = indices.subarray(first * batchSize, (first + count) * batchSize);
      resident.program.runMany(ctxs, [slice]).forEach((run, i) => {
        results.push(stepResult(this.#step + i, run));
      });
      this.#step += count;
    }
    return results;
  }

  /** The checked lr and momentum of one step; `prefix` names where they came from in errors. */
  #hyperparameters(given: StepHyperparameters, prefix: string): { lr: number; momentum: number } {
    const { optimizer } = this.info;
    const lr = given?.lr ?? optimizer.lr;
    if (!(Number.isFinite(lr) && lr > 0))
      throw new ArgumentError(`${prefix}lr`, 'a number > 0', describe(lr));
    const momentum = given?.momentum ?? (optimizer.kind === 'sgd' ? optimizer.momentum : 0);
    if (!(momentum >= 0 && momentum < 1)) {
      throw new ArgumentError(`${prefix}momentum`, 'a number in [0, 1)', describe(momentum));
    }
    return { lr, momentum };
  }

  /**
   * `data` on the device with a training program that gathers its batches from it: made on first use,
   * replaced (and the old one freed) when another dataset comes. Checks the whole set first, so that a
   * bad value fails the call before any step rather than in the middle of it. Concurrent calls share
   * one upload; a set made after the net or its slot was dropped is freed as soon as it exists.
   */
  #residentFor(data: Dataset): Promise<ResidentSet<Buffer>> {
    if (this.#resident?.data === data) return this.#resident.ready;
    const { spec } = this.info;
    // What trainStep would reject in any batch, for the whole set before its first step (dataset()
    // and the MNIST loaders guarantee both; a Dataset built by hand may not).
    checkLabels('data.y', data.y, data.n, spec.sizes[spec.sizes.length - 1] as number);
    checkFinite('data.x', data.x, data.x.length);
    this.#disposeResident();
    const shared = new Map<string, Buffer>([
      ...[...this.#params, ...this.#state].map(([name, { buffer }]) => [name, buffer] as const),
      ['metrics', this.#train.bufferOf(this.#train.graph.find('metrics').id)],
    ]);
    const slot: ResidentSlot<Buffer> = {
      data,
      // Validate mode checks steps one trainStep at a time, against inputs it can see.
      ready: this.#validator
        ? Promise.resolve({ program: null, dispose() {} })
        : openResident(this.#device, this.info, shared, data),
      dropped: false,
    };
    slot.ready.then(
      (set) => {
        if (slot.dropped) set.dispose();
        else slot.made = set;
      },
      () => {
        // A failed upload or compile is not remembered: the next call tries again.
        if (this.#resident === slot) this.#resident = undefined;
      },
    );
    this.#resident = slot;
    return slot.ready;
  }

  #disposeResident(): void {
    const slot = this.#resident;
    if (!slot) return;
    slot.dropped = true;
    slot.made?.dispose();
    this.#resident = undefined;
  }

  /**
   * Class probabilities [rows × classes] for `x` [rows × inputs], without dropout. Any number of rows:
   * they are run batchSize at a time (rows are independent, so the last chunk is zero-padded).
   *
   * With `{ mcSamples: n }`: MC-dropout (Gal & Ghahramani 2016): n stochastic passes with dropout on,
   * returning the mean class probabilities and their per-class variance over the passes (divided by
   * n). Pass p draws its masks from Philox counter [i/4, p, site, 3]: apart from every training mask,
   * and the same on every call, so predictions repeat exactly.
   */
  async predict(x: ArrayLike<number>): Promise<Float32Array>;
  async predict(x: ArrayLike<number>, options: { mcSamples: number }): Promise<McPrediction>;
  async predict(x: ArrayLike<number>, options?: { mcSamples: number }): Promise<Float32Array | McPrediction> {
    this.#checkLive();
    const { spec } = this.info;
    const width = spec.sizes[0] as number;
    if (x?.length % width !== 0 || x.length === 0) {
      throw new ArgumentError('x', `a non-empty multiple of ${width} values (rows × inputs)`, describe(x));
    }
    const samples = options?.mcSamples;
    if (options !== undefined && !(Number.isInteger(samples) && (samples as number) >= 1)) {
      throw new ArgumentError('mcSamples', 'an integer ≥ 1', describe(samples));
    }
    const inputs = checkInputs('x', x, x.length / width, width, false);
    if (samples === undefined) return this.#infer(this.#predict, inputs, [plainStep(this.#step)], null);
    this.#mc ??= this.#compileMc();
    const passes = Array.from({ length: samples }, (_, pass) => plainStep(pass));
    const variance = new Float32Array(
      (inputs.length / width) * (spec.sizes[spec.sizes.length - 1] as number),
    );
    const mean = await this.#infer(await this.#mc, inputs, passes, variance);
    return { mean, variance };
  }

  /** The MC-dropout program, compiled on first use: most nets never need it. */
  async #compileMc(): Promise<CompiledGraph<Buffer>> {
    const { graph, probs } = buildPredictGraph(this.info.spec, this.info.batchSize, true, 'mc');
    const shared = new Map([...this.#params].map(([name, { buffer }]) => [name, buffer]));
    this.#mcCompiled = await compileGraph(this.#device, 'predict (MC-dropout)', graph, {
      shared,
      keep: [probs],
    });
    return this.#mcCompiled;
  }

  /**
   * Runs `compiled` over `inputs` batchSize rows at a time, once per context in `passes`, and returns
   * the mean of the probabilities over the passes (with their variance into `variance` if given).
   */
  async #infer(
    compiled: CompiledGraph<Buffer>,
    inputs: Float32Array,
    passes: readonly StepContext[],
    variance: Float32Array | null,
  ): Promise<Float32Array> {
    const { batchSize, spec } = this.info;
    const width = spec.sizes[0] as number;
    const classes = spec.sizes[spec.sizes.length - 1] as number;
    const rows = inputs.length / width;
    const { graph, program } = compiled;
    const xBuffer = compiled.bufferOf(graph.find('x').id);
    const probsBuffer = compiled.bufferOf(graph.find('probs').id);
    const mean = new Float32Array(rows * classes);
    const chunk = new Float32Array(batchSize * width);
    for (let start = 0; start < rows; start += batchSize) {
      const count = Math.min(batchSize, rows - start);
      chunk.fill(0);
      chunk.set(inputs.subarray(start * width, (start + count) * width));
      this.#device.write(xBuffer, chunk);
      const sum = new Float64Array(count * classes);
      const squares = new Float64Array(count * classes);
      for (const ctx of passes) {
        program.run(ctx);
        const values = await this.#device.read(probsBuffer, count * classes);
        for (let i = 0; i < values.length; i++) {
          const v = values[i] as number;
          sum[i] = (sum[i] as number) + v;
          squares[i] = (squares[i] as number) + v * v;
        }
      }
      for (let i = 0; i < sum.length; i++) {
        const m = (sum[i] as number) / passes.length;
        mean[start * classes + i] = m;
        if (variance)
          variance[start * classes + i] = Math.max(0, (squares[i] as number) / passes.length - m * m);
      }
    }
    return mean;
  }

  /**
   * The training metrics accumulated on the device since the last call (or since compile), read back
   * in one transfer, then reset to zero. Reset also lets updates resume after a non-finite loss.
   */
  async takeMetrics(): Promise<TrainingMetrics> {
    this.#checkLive();
    const buffer = this.#train.bufferOf(this.#train.graph.find('metrics').id);
    // The read is queued before the reset, so it sees the sums and nothing is lost in between.
    const reading = this.#device.read(buffer, METRICS.length);
    this.#device.write(buffer, new Float32Array(METRICS.length));
    const values = await reading;
    const examples = values[METRICS.rows] as number;
    const steps = examples / this.info.batchSize;
    return {
      steps,
      examples,
      loss: (values[METRICS.lossSum] as number) / steps,
      accuracy: (values[METRICS.correct] as number) / examples,
      nonFiniteSteps: values[METRICS.nonFinite] as number,
    };
  }

  /** The parameters by PyTorch name (`layers.k.weight` [out, in], `layers.k.bias` [out]), copied. */
  async getParams(): Promise<ParamMap> {
    this.#checkLive();
    const result: ParamMap = {};
    for (const [name, { shape, buffer }] of this.#params) {
      const values = await this.#device.read(buffer, elementCount(shape));
      result[name] = { shape: [...shape], data: Float32Array.from(values) };
    }
    return result;
  }

  /**
   * Replaces every parameter. `params` must hold exactly this net's names with matching shapes and
   * finite values; nothing is written unless all of it is valid. Optimizer state is kept as it is.
   * `step` sets the step counter too (the t of the next step's dropout masks), e.g. to resume training
   * from a file saved at that step.
   */
  setParams(params: ParamMap, options: { step?: number } = {}): void {
    this.#checkLive();
    const { step } = options;
    if (step !== undefined && !(Number.isSafeInteger(step) && step >= 0)) {
      throw new ArgumentError('step', 'an integer ≥ 0', describe(step));
    }
    if (typeof params !== 'object' || params === null) {
      throw new ArgumentError('params', 'an object of { shape, data } by parameter name', describe(params));
    }
    for (const name of Object.keys(params)) {
      if (!this.#params.has(name)) {
        throw new ArgumentError(
          'params',
          `only the names ${[...this.#params.keys()].join(', ')}`,
          JSON.stringify(name),
        );
      }
    }
    for (const [name, { shape }] of this.#params) {
      const given = params[name];
      if (!given) throw new ArgumentError(`params["${name}"]`, `a tensor of shape [${shape}]`, 'nothing');
      const sameShape = given.shape?.length === shape.length && shape.every((d, i) => given.shape[i] === d);
      if (!sameShape) throw new ArgumentError(`params["${name}"].shape`, `[${shape}]`, `[${given.shape}]`);
      checkFinite(`params["${name}"].data`, given.data, elementCount(shape));
    }
    this.#writeParams(params);
    if (step !== undefined) this.#step = step;
  }

  /**
   * Everything training needs to continue exactly where it is: parameters, optimizer state (momentum,
   * Adam moments) and the step counter, copied to the CPU. `restore` puts it into a net compiled
   * from the same spec and options, on any backend, e.g. after the GPU device was lost.
   */
  async checkpoint(): Promise<NetCheckpoint> {
    this.#checkLive();
    const optimizerState: ParamMap = {};
    for (const [name, { shape, buffer }] of this.#state) {
      optimizerState[name] = {
        shape: [...shape],
        data: Float32Array.from(await this.#device.read(buffer, elementCount(shape))),
      };
    }
    return { params: await this.getParams(), optimizerState, step: this.#step };
  }

  /** Puts a checkpoint back (see `checkpoint`). Throws, changing nothing, if it does not fit this net. */
  restore(checkpoint: NetCheckpoint): void {
    this.#checkLive();
    for (const [name, { shape }] of this.#state) {
      const given = checkpoint?.optimizerState?.[name];
      const sameShape = given?.shape?.length === shape.length && shape.every((d, i) => given?.shape[i] === d);
      if (!given || !sameShape) {
        throw new ArgumentError(
          `checkpoint.optimizerState["${name}"]`,
          `a tensor of shape [${shape}]`,
          describe(given),
        );
      }
      checkFinite(`checkpoint.optimizerState["${name}"].data`, given.data, elementCount(shape));
    }
    this.setParams(checkpoint.params, { step: checkpoint.step });
    for (const [name, { buffer }] of this.#state) {
      this.#device.write(
        buffer,
        Float32Array.from((checkpoint.optimizerState[name] as ParamMap[string]).data),
      );
    }
  }

  /** Frees every buffer. Any later call throws `DisposedError`. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#train.dispose();
    this.#predict.dispose();
    // Disposed now if compiled, else as soon as its compile finishes.
    if (this.#mcCompiled) this.#mcCompiled.dispose();
    else this.#mc?.then((mc) => mc.dispose());
    this.#disposeResident();
    for (const { buffer } of this.#params.values()) this.#device.destroyBuffer(buffer);
    for (const { buffer } of this.#state.values()) this.#device.destroyBuffer(buffer);
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  #writeParams(params: ParamMap): void {
    for (const [name, { buffer }] of this.#params) {
      const given = params[name] as ParamMap[string];
      this.#device.write(buffer, Float32Array.from(given.data));
    }
  }

  #checkLive(): void {
    if (this.#disposed) throw new DisposedError('this net');
  }
}

/** The dataset `trainRows` keeps on the device: being uploaded (`ready`), then `made`. */
interface ResidentSlot<Buffer> {
  readonly data: Dataset;
  readonly ready: Promise<ResidentSet<Buffer>>;
  made?: ResidentSet<Buffer>;
  /** Replaced or disposed: whatever `ready` yields is freed at once. */
  dropped: boolean;
}

/** What trainStep and trainRows return for one step: the loss is read back only when awaited. */
function stepResult(step: number, run: RunResult): TrainStepResult {
  let loss: Promise<number> | undefined;
  return {
    step,
    get loss() {
      loss ??= run.read(0).then((values) => values[0] as number);
      return loss;
    },
  };
}

function checkFinite(argument: string, data: ArrayLike<number> | undefined, length: number): void {
  if (!data || typeof data.length !== 'number' || data.length !== length) {
    throw new ArgumentError(argument, `${length} numbers`, describe(data));
  }
  for (let i = 0; i < length; i++) {
    if (!Number.isFinite(data[i]))
      throw new ArgumentError(`${argument}[${i}]`, 'a finite number', describe(data[i]));
  }
}

function checkInputs(
  argument: string,
  x: ArrayLike<number>,
  rows: number,
  width: number,
  exact: boolean,
): Float32Array {
  if (exact && x?.length !== rows * width) {
    throw new ArgumentError(argument, `${rows * width} values (${rows} rows × ${width} inputs)`, describe(x));
  }
  checkFinite(argument, x, rows * width);
  return x instanceof Float32Array ? x : Float32Array.from(x);
}

function checkLabels(argument: string, y: ArrayLike<number>, rows: number, classes: number): Uint32Array {
  if (y?.length !== rows) throw new ArgumentError(argument, `${rows} labels`, describe(y));
  const labels = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) {
    const label = y[i];
    if (!Number.isInteger(label) || (label as number) < 0 || (label as number) >= classes) {
      throw new ArgumentError(`${argument}[${i}]`, `an integer class in [0, ${classes})`, describe(label));
    }
    labels[i] = label as number;
  }
  return labels;
}
