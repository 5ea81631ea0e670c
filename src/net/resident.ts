/**
 * A training set kept on the device for `Net.trainRows`: checked once, packed (one byte per value
 * through its 256-entry table when `Dataset.bytes` says so exactly, else its f32 values; labels one
 * byte each), uploaded once, with a training program whose first node gathers the batch from it
 * (`gather_rows`). Steps then upload only their row indices. A net keeps one such set at a time
 * (`ResidentDataset`): another dataset replaces it, and the net's `dispose` frees it.
 */
import { checkFinite, checkLabels } from '../check.js';
import type { Dataset } from '../data/dataset.js';
import type { Device } from '../device/device.js';
import { allocate, type CompiledGraph, compileGraph } from '../graph/executor.js';
import { buildTrainGraph, RESIDENT } from '../nn/graphs.js';
import type { NetInfo } from './types.js';

/** The device copy of one Dataset. `program` null: the set exceeds the device's buffers. */
export interface ResidentSet<Buffer> {
  readonly program: CompiledGraph<Buffer> | null;
  dispose(): void;
}

/**
 * Whether `data.bytes` reproduces x bit for bit (x[i] === table[pixels[i]], signed zeros included),
 * so the set may live on the device as bytes and still train exactly as uploading x would.
 */
export function exactBytes(data: Dataset): boolean {
  const bytes = data.bytes;
  if (
    !bytes ||
    !(bytes.pixels instanceof Uint8Array) ||
    !(bytes.table instanceof Float32Array) ||
    bytes.pixels.length !== data.x.length ||
    bytes.table.length !== 256
  ) {
    return false;
  }
  const xBits = new Uint32Array(data.x.buffer, data.x.byteOffset, data.x.length);
  const tableBits = new Uint32Array(bytes.table.buffer, bytes.table.byteOffset, 256);
  const { pixels } = bytes;
  for (let i = 0; i < xBits.length; i++) {
    if (xBits[i] !== tableBits[pixels[i] as number]) return false;
  }
  return true;
}

/**
 * Uploads `data` (already checked) and compiles the training program that reads it, sharing the
 * net's parameters, optimizer state and metrics through `shared` (tensor name → buffer). Allocates
 * nothing when the set would exceed `device.maxBufferBytes`.
 */
export async function openResident<Buffer>(
  device: Device<Buffer>,
  info: NetInfo,
  shared: ReadonlyMap<string, Buffer>,
  data: Dataset,
): Promise<ResidentSet<Buffer>> {
  const bytes = exactBytes(data);
  const values = data.n * data.features;
  const words = bytes ? Math.ceil(values / 4) : values;
  if (words * 4 > device.limits.maxBufferBytes) {
    return { program: null, dispose() {} };
  }
  const valueWords = new Uint32Array(words);
  if (bytes) new Uint8Array(valueWords.buffer).set((data.bytes as NonNullable<Dataset['bytes']>).pixels);
  else new Float32Array(valueWords.buffer).set(data.x);
  const labelWords = new Uint32Array(Math.ceil(data.n / 4));
  new Uint8Array(labelWords.buffer).set(data.y);
  // Without bytes the kernel never reads the table, but every binding needs a buffer.
  const table = bytes ? (data.bytes as NonNullable<Dataset['bytes']>).table : new Float32Array(1);

  const made: Buffer[] = [];
  const upload = (name: string, dtype: 'u32' | 'f32', array: Uint32Array | Float32Array) => {
    const buffer = allocate(device, `resident ${name}`, dtype, array.length, 'data');
    made.push(buffer);
    device.write(buffer, array);
    return buffer;
  };
  const destroy = () => {
    for (const buffer of made) device.destroyBuffer(buffer);
  };
  const { spec, batchSize, optimizer, maxNorm } = info;
  let program: CompiledGraph<Buffer>;
  try {
    const buffers = new Map<string, Buffer>([
      ...shared,
      [RESIDENT.data, upload(RESIDENT.data, 'u32', valueWords)],
      [RESIDENT.table, upload(RESIDENT.table, 'f32', table)],
      [RESIDENT.labels, upload(RESIDENT.labels, 'u32', labelWords)],
    ]);
    const train = buildTrainGraph(spec, batchSize, optimizer, maxNorm, true, { n: data.n, bytes });
    program = await compileGraph(device, 'train (resident data)', train.graph, {
      shared: buffers,
      snapshots: [train.loss],
      streamed: [train.graph.find(RESIDENT.rows).id],
    });
  } catch (error) {
    // An upload or compile that fails leaves nothing of the set behind.
    destroy();
    throw error;
  }
  return {
    program,
    dispose() {
      program.dispose();
      destroy();
    },
  };
}

/** The dataset being uploaded (`ready`), then `made`; `dropped` once replaced or disposed. */
interface Slot<Buffer> {
  readonly data: Dataset;
  readonly ready: Promise<ResidentSet<Buffer>>;
  made?: ResidentSet<Buffer>;
  dropped: boolean;
}

/** The one training set a net keeps on its device, with the program that trains from it. */
export class ResidentDataset<Buffer> {
  readonly #device: Device<Buffer>;
  readonly #info: NetInfo;
  readonly #shared: ReadonlyMap<string, Buffer>;
  /** Validate mode checks steps one trainStep at a time, against inputs it can see: nothing resident. */
  readonly #enabled: boolean;
  #slot: Slot<Buffer> | undefined;

  constructor(device: Device<Buffer>, info: NetInfo, shared: ReadonlyMap<string, Buffer>, enabled: boolean) {
    this.#device = device;
    this.#info = info;
    this.#shared = shared;
    this.#enabled = enabled;
  }

  /**
   * `data` on the device with its training program: made on first use, replaced (and the old one freed)
   * when another dataset comes. Checks the whole set first, so that a bad value fails the call before
   * any step rather than in the middle of it. Concurrent calls share one upload; a set made after it
   * was dropped is freed as soon as it exists. `program` null: train step by step instead.
   */
  for(data: Dataset): Promise<ResidentSet<Buffer>> {
    if (this.#slot?.data === data) return this.#slot.ready;
    const { spec } = this.#info;
    // What trainStep would reject in any batch, for the whole set before its first step (dataset()
    // and the MNIST loaders guarantee both; a Dataset built by hand may not).
    checkLabels('data.y', data.y, data.n, spec.sizes[spec.sizes.length - 1] as number);
    checkFinite('data.x', data.x, data.x.length);
    this.dispose();
    const slot: Slot<Buffer> = {
      data,
      ready: this.#enabled
        ? openResident(this.#device, this.#info, this.#shared, data)
        : Promise.resolve({ program: null, dispose() {} }),
      dropped: false,
    };
    slot.ready.then(
      (set) => {
        if (slot.dropped) set.dispose();
        else slot.made = set;
      },
      () => {
        // A failed upload or compile is not remembered: the next call tries again.
        if (this.#slot === slot) this.#slot = undefined;
      },
    );
    this.#slot = slot;
    return slot.ready;
  }

  /** Frees the set (now, or as soon as its upload finishes). */
  dispose(): void {
    const slot = this.#slot;
    if (!slot) return;
    slot.dropped = true;
    slot.made?.dispose();
    this.#slot = undefined;
  }
}
