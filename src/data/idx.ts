/**
 * The IDX file format of LeCun's MNIST distribution (http://yann.lecun.com/exdb/mnist/, bottom of the
 * page): two zero bytes, a type byte, a dimension-count byte, one big-endian u32 per dimension, then the
 * elements in row-major order, big-endian. Every length is checked against the bytes actually present
 * before anything is allocated, so a header that lies can cost at most an error, never memory.
 */
import { ArgumentError, DataFormatError, describe } from '../errors.js';

/** The element types of the IDX format, by their type byte. */
const IDX_TYPES = {
  8: { type: 'u8', size: 1 },
  9: { type: 'i8', size: 1 },
  11: { type: 'i16', size: 2 },
  12: { type: 'i32', size: 4 },
  13: { type: 'f32', size: 4 },
  14: { type: 'f64', size: 8 },
} as const;

export type IdxType = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]['type'];

interface IdxDataOf {
  u8: Uint8Array;
  i8: Int8Array;
  i16: Int16Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
}

/** A parsed IDX file; `type` tells which typed array `data` is. */
export type IdxArray = {
  [T in IdxType]: {
    readonly type: T;
    /** Sizes, outermost first, e.g. `[60000, 28, 28]`. Each ≥ 1. */
    readonly dims: readonly number[];
    /** prod(dims) elements, row-major, in native byte order. */
    readonly data: IdxDataOf[T];
  };
}[IdxType];

/** More dimensions than any dataset this library trains on needs; a larger count is taken as corruption. */
export const MAX_IDX_DIMS = 4;

/** Above this many elements a typed array cannot be allocated in every JS engine. */
export const MAX_IDX_ELEMENTS = 2 ** 31 - 1;

const hex = (byte: number) => `0x${byte.toString(16).padStart(2, '0')}`;

/**
 * Parses one IDX file. `name` (a path, URL or role such as `"train images"`) goes into every error.
 *
 * Byte data (`u8`, `i8`) is returned as a view of `bytes`, not a copy: the 47 MB of MNIST training
 * images are read once. Multi-byte types are copied, converted from big-endian.
 *
 * @throws DataFormatError for bad magic, an unknown type, a dimension count outside 1..MAX_IDX_DIMS,
 *   a zero dimension, a header or data shorter than declared, or bytes after the data; ArgumentError
 *   naming `bytes` or `name` when they are not bytes and a string.
 */
export function parseIdx(bytes: ArrayBuffer | Uint8Array, name = 'IDX data'): IdxArray {
  if (typeof name !== 'string') throw new ArgumentError('name', 'nothing, or a string', describe(name));
  const view = toBytes(bytes);
  const total = view.byteLength;
  if (total < 4) throw new DataFormatError(name, 'an IDX header of at least 4 bytes', `${total} bytes`);
  const [z0, z1, typeByte, rank] = view as unknown as [number, number, number, number];
  if (z0 === 0x1f && z1 === 0x8b) {
    throw new DataFormatError(name, 'uncompressed IDX data', 'gzip-compressed data (decompress it first)');
  }
  if (z0 !== 0 || z1 !== 0) {
    throw new DataFormatError(name, 'IDX magic starting with 0x00 0x00', `${hex(z0)} ${hex(z1)}`);
  }
  const kind = IDX_TYPES[typeByte as keyof typeof IDX_TYPES];
  if (kind === undefined) {
    throw new DataFormatError(
      name,
      'IDX type byte 0x08 (u8), 0x09 (i8), 0x0b (i16), 0x0c (i32), 0x0d (f32) or 0x0e (f64)',
      hex(typeByte),
    );
  }
  if (rank < 1 || rank > MAX_IDX_DIMS) {
    throw new DataFormatError(name, `1 to ${MAX_IDX_DIMS} dimensions`, `${rank}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (total < headerBytes) {
    throw new DataFormatError(
      name,
      `a ${headerBytes}-byte header for ${rank} dimensions`,
      `${total} bytes (truncated header)`,
    );
  }
  const reader = new DataView(view.buffer, view.byteOffset, view.byteLength);
  const dataBytes = total - headerBytes;
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) {
    const size = reader.getUint32(4 + 4 * d, false);
    if (size === 0) throw new DataFormatError(name, `dimension ${d} ≥ 1`, '0');
    dims.push(size);
  }
  // The running product is checked after every factor, so it stays below 2^31 · 2^32 (no u32 wrap-around
  // to a small value, which is how a lying header gets a C parser to read out of bounds) and nothing is
  // allocated until the whole product is known to fit in the bytes present.
  let elements = 1;
  for (const size of dims) {
    elements *= size;
    if (elements > MAX_IDX_ELEMENTS) {
      throw new DataFormatError(name, `at most ${MAX_IDX_ELEMENTS} elements`, `dims [${dims}]`);
    }
    if (elements * kind.size > dataBytes) {
      throw new DataFormatError(
        name,
        `at least ${elements * kind.size} data bytes for dims [${dims}] of ${kind.type}`,
        `${dataBytes} (truncated data)`,
      );
    }
  }
  const expectedBytes = elements * kind.size;
  if (dataBytes !== expectedBytes) {
    throw new DataFormatError(
      name,
      `${expectedBytes} data bytes for dims [${dims}] of ${kind.type}`,
      `${dataBytes} (${dataBytes - expectedBytes} trailing bytes)`,
    );
  }
  return {
    type: kind.type,
    dims,
    data: readElements(kind.type, view, reader, headerBytes, elements),
  } as IdxArray;
}

function toBytes(bytes: ArrayBuffer | Uint8Array): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  // An ArrayBuffer from another realm (an iframe, a worker's transfer in some runtimes) fails instanceof.
  if (bytes instanceof ArrayBuffer || Object.prototype.toString.call(bytes) === '[object ArrayBuffer]') {
    try {
      return new Uint8Array(bytes);
    } catch {
      // A buffer transferred away (postMessage, structuredClone) cannot be viewed.
      throw new ArgumentError('bytes', 'an ArrayBuffer that is not detached', 'a detached ArrayBuffer');
    }
  }
  throw new ArgumentError('bytes', 'an ArrayBuffer or Uint8Array', describe(bytes));
}

function readElements(
  type: IdxType,
  view: Uint8Array,
  reader: DataView,
  offset: number,
  n: number,
): IdxArray['data'] {
  switch (type) {
    case 'u8':
      return view.subarray(offset, offset + n);
    case 'i8':
      return new Int8Array(view.buffer, view.byteOffset + offset, n);
    case 'i16': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = reader.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'i32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = reader.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'f32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = reader.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'f64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = reader.getFloat64(offset + 8 * i, false);
      return out;
    }
    default:
      return type satisfies never;
  }
}
