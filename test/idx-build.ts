/** Builds IDX files byte by byte for the IDX tests: the format written out, independent of the parser. */

/** Type byte → element size, per the IDX description on LeCun's MNIST page. */
export const IDX_SIZES: Record<number, number> = { 8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8 };

/**
 * An IDX file: 0x00 0x00, `typeByte`, `dims.length`, big-endian u32 dims, then `values` big-endian
 * (each written as the type says; u8/i8 values are taken modulo 256).
 */
export function idxBytes(typeByte: number, dims: readonly number[], values: ArrayLike<number>): Uint8Array {
  const size = IDX_SIZES[typeByte] ?? 1;
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + values.length * size);
  const view = new DataView(out.buffer);
  out[2] = typeByte;
  out[3] = dims.length;
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const at = header + i * size;
    if (typeByte === 8 || typeByte === 9) view.setUint8(at, v & 0xff);
    else if (typeByte === 11) view.setInt16(at, v, false);
    else if (typeByte === 12) view.setInt32(at, v, false);
    else if (typeByte === 13) view.setFloat32(at, v, false);
    else view.setFloat64(at, v, false);
  }
  return out;
}

/** 0, 1, …, n − 1 */
export const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
