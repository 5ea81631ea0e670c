/**
 * A training set kept on the device for `Net.trainRows`: checked once, packed (one byte per value
 * through its 256-entry table when `Dataset.bytes` says so exactly, else its f32 values; labels one
 * byte each), uploaded once, with a training program whose first node gathers the batch from it
 * (`gather_rows`). Steps then upload only their row indices.
 */
import type { Device } from './backend/device.js';
import type { Dataset } from './data/mnist.js';
import { type CompiledGraph, compileGraph } from './graph/executor.js';
import type { NetInfo } from './net.js';
import { buildTrainGraph, RESIDENT } from './nn/graphs.js';

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
  if (words * 4 > (device.maxBufferBytes ?? Number.POSITIVE_INFINITY)) {
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
    const buffer = device.createBuffer(`resident ${name}`, dtype, array.length);
    made.push(buffer);
    device.write(buffer, array);
    return buffer;
  };
  const destroy = () => {
    for (const buffer of made) device.destroyBuffer(buffer);
  };
  const buffers = new Map<string, Buffer>([
    ...shared,
    [RESIDENT.data, upload(RESIDENT.data, 'u32', valueWords)],
    [RESIDENT.table, upload(RESIDENT.table, 'f32', table)],
    [RESIDENT.labels, upload(RESIDENT.labels, 'u32', labelWords)],
  ]);
  const { spec, batchSize, optimizer, maxNorm } = info;
  const train = buildTrainGraph(spec, batchSize, optimizer, maxNorm, true, { n: data.n, bytes });
  let program: CompiledGraph<Buffer>;
  try {
    program = await compileGraph(device, 'train (resident data)', train.graph, {
      shared: buffers,
      snapshots: [train.loss],
      streamed: [train.graph.find(RESIDENT.rows).id],
    });
  } catch (error) {
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
