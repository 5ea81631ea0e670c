/**
 * A net's state on its device: the parameter, optimizer-state and metrics buffers, which every program
 * of the net shares, and the step counter t of the next step's dropout masks. The sharing map is made
 * here, once, from the training graph's own tensors; compileGraph refuses a program that needs a
 * shared tensor this map lacks.
 */
import { checkTensor } from '../check.js';
import type { Device } from '../device/device.js';
import { ArgumentError, checkNotRevoked, describe } from '../errors.js';
import { allocate } from '../graph/executor.js';
import { elementCount, type Graph } from '../ir/ir.js';
import type { ParamMap } from '../nn/init.js';
import { METRICS } from '../ops/softmax-xent.js';
import type { NetCheckpoint, TrainingMetrics } from './types.js';

interface Stored<Buffer> {
  readonly shape: readonly number[];
  readonly buffer: Buffer;
}

export class NetState<Buffer> {
  readonly #device: Device<Buffer>;
  readonly #params = new Map<string, Stored<Buffer>>();
  readonly #optimizer = new Map<string, Stored<Buffer>>();
  /** Every buffer above, plus metrics, by tensor name: what the programs share. */
  readonly shared = new Map<string, Buffer>();
  /** Training steps taken so far: the step counter t of the next step's dropout masks. */
  step = 0;

  /** Makes the buffers of `train`'s parameter, optimizer-state and metrics tensors (not yet written). */
  constructor(device: Device<Buffer>, train: Graph) {
    this.#device = device;
    try {
      for (const tensor of train.tensors) {
        const kind = tensor.role;
        if (kind !== 'parameter' && kind !== 'optimizer_state' && kind !== 'metrics') continue;
        const buffer = allocate(device, tensor.name, tensor.dtype, elementCount(tensor.shape));
        this.shared.set(tensor.name, buffer);
        if (kind === 'parameter') this.#params.set(tensor.name, { shape: tensor.shape, buffer });
        if (kind === 'optimizer_state') this.#optimizer.set(tensor.name, { shape: tensor.shape, buffer });
      }
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  /** The metrics buffer the loss kernel accumulates into. */
  get metrics(): Buffer {
    const buffer = this.shared.get('metrics');
    if (buffer === undefined) throw new Error('the training graph has no metrics tensor');
    return buffer;
  }

  /**
   * The metrics accumulated since the last call, read back in one transfer, then reset to zero (see
   * `Net.takeMetrics`). The read and the reset are queued before this returns, so a run queued after
   * it counts towards the next call. `keepNonFinite` leaves the non-finite count (the last word) as it
   * is: updates stay stopped after a non-finite loss, for runs queued before the caller has seen it.
   */
  async takeMetrics(batchSize: number, keepNonFinite = false): Promise<TrainingMetrics> {
    const buffer = this.metrics;
    // The read is queued before the reset, so it sees the sums and nothing is lost in between.
    const reading = this.#device.read(buffer, METRICS.length);
    try {
      this.#device.write(buffer, new Float32Array(keepNonFinite ? METRICS.nonFinite : METRICS.length));
    } catch (error) {
      // The device failed (lost, disposed): the read rejects too, and that must not go unheard.
      reading.catch(() => {});
      throw error;
    }
    const values = await reading;
    const examples = values[METRICS.rows] as number;
    const steps = examples / batchSize;
    return {
      steps,
      examples,
      loss: (values[METRICS.lossSum] as number) / steps,
      accuracy: (values[METRICS.correct] as number) / examples,
      nonFiniteSteps: values[METRICS.nonFinite] as number,
    };
  }

  /** The parameters' buffers only: what inference programs share. */
  paramBuffers(): Map<string, Buffer> {
    return new Map([...this.#params].map(([name, { buffer }]) => [name, buffer]));
  }

  /** The parameters by PyTorch name, copied to the CPU. */
  async readParams(): Promise<ParamMap> {
    return this.#read(this.#params);
  }

  /** Checks `params` (exactly these names and shapes, finite f32 values): the f32 data to write. */
  checkParams(params: ParamMap): Map<string, Float32Array> {
    checkNotRevoked('params', params);
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
    return this.#check(this.#params, params, 'params');
  }

  /** Writes what `checkParams` returned. */
  writeParams(data: ReadonlyMap<string, Float32Array>): void {
    for (const [name, { buffer }] of this.#params) this.#device.write(buffer, data.get(name) as Float32Array);
  }

  /** Parameters, optimizer state and step, copied to the CPU (see `Net.checkpoint`). */
  async checkpoint(): Promise<NetCheckpoint> {
    const step = this.step;
    const optimizerState = await this.#read(this.#optimizer);
    return { params: await this.readParams(), optimizerState, step };
  }

  /** Checks all of a checkpoint (a bad one changes nothing) and returns what puts it back. */
  prepareRestore(checkpoint: NetCheckpoint): () => void {
    checkNotRevoked('checkpoint', checkpoint);
    if (typeof checkpoint !== 'object' || checkpoint === null) {
      throw new ArgumentError('checkpoint', 'what net.checkpoint() returned', describe(checkpoint));
    }
    const { step } = checkpoint;
    if (!(Number.isSafeInteger(step) && step >= 0)) {
      throw new ArgumentError('checkpoint.step', 'an integer ≥ 0', describe(step));
    }
    const state = checkpoint.optimizerState;
    if (typeof state !== 'object' || state === null) {
      throw new ArgumentError('checkpoint.optimizerState', 'an object of tensors by name', describe(state));
    }
    const params = this.checkParams(checkpoint.params);
    // State for another optimizer (Adam's moments, velocities where there is no momentum) is refused,
    // not dropped: the checkpoint is of another net.
    for (const name of Object.keys(state)) {
      if (!this.#optimizer.has(name)) {
        const names = [...this.#optimizer.keys()];
        throw new ArgumentError(
          'checkpoint.optimizerState',
          names.length === 0
            ? 'no tensors (this net has no optimizer state)'
            : `only the names ${names.join(', ')}`,
          JSON.stringify(name),
        );
      }
    }
    const optimizer = this.#check(this.#optimizer, state, 'checkpoint.optimizerState');
    return () => {
      this.writeParams(params);
      for (const [name, { buffer }] of this.#optimizer) {
        this.#device.write(buffer, optimizer.get(name) as Float32Array);
      }
      this.step = step;
    };
  }

  /** Frees every buffer. */
  dispose(): void {
    for (const buffer of this.shared.values()) this.#device.destroyBuffer(buffer);
    this.shared.clear();
  }

  #check(
    stored: ReadonlyMap<string, Stored<Buffer>>,
    given: ParamMap,
    argument: string,
  ): Map<string, Float32Array> {
    const data = new Map<string, Float32Array>();
    for (const [name, { shape }] of stored) {
      const tensor = Object.hasOwn(given, name) ? given[name] : undefined;
      data.set(name, checkTensor(`${argument}["${name}"]`, tensor, shape));
    }
    return data;
  }

  async #read(stored: ReadonlyMap<string, Stored<Buffer>>): Promise<ParamMap> {
    // Every read is queued before the first one resolves, so they all see one state.
    const reads = [...stored].map(async ([name, { shape, buffer }]) => {
      const values = await this.#device.read(buffer, elementCount(shape));
      return [name, { shape: [...shape], data: Float32Array.from(values) }] as const;
    });
    return Object.fromEntries(await Promise.all(reads));
  }
}
