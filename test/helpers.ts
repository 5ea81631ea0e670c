/**
 * Shared test helpers: seeded data, and the one closeness check every conformance test uses:
 * |actual − expected| ≤ atol + rtol·|expected|, NaN only where expected is NaN, and a failure message
 * that names the op, the shape, the first bad index and both values.
 */
import { philox4x32 } from '../src/rng/philox.js';

/** n values uniform in [lo, hi), from Philox with key [seed, 7] (stream apart from the library's). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let block = 0; block * 4 < n; block++) {
    const words = philox4x32([block, 0, 0, 0], [seed, 7]);
    for (let lane = 0; lane < 4 && block * 4 + lane < n; lane++) {
      out[block * 4 + lane] = lo + ((hi - lo) * (words[lane] as number)) / 2 ** 32;
    }
  }
  return out;
}

/** n integers uniform in [0, classes). */
export function randomLabels(n: number, seed: number, classes: number): Uint32Array {
  return Uint32Array.from(randomArray(n, seed, 0, 1), (u) => Math.min(classes - 1, Math.floor(u * classes)));
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

/**
 * Returns null when close (equal values, ±∞ included, always are), else a message describing the first
 * mismatch and how many there were.
 */
export function compareClose(
  op: string,
  shape: readonly number[],
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol, rtol }: Tolerance,
): string | null {
  if (actual.length !== expected.length) {
    return `${op} [${shape}]: length ${actual.length}, expected ${expected.length}`;
  }
  let first = -1;
  let bad = 0;
  let maxError = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!Number.isNaN(e) && !Number.isNaN(a)) maxError = Math.max(maxError, Math.abs(a - e));
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad === 0) return null;
  return (
    `${op} [${shape}]: ${bad} of ${expected.length} values outside atol ${atol} + rtol ${rtol}·|ref|; ` +
    `first at index ${first}: got ${actual[first]}, expected ${expected[first]} (max abs error ${maxError})`
  );
}

export function expectAllClose(
  op: string,
  shape: readonly number[],
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: Tolerance,
): void {
  const message = compareClose(op, shape, actual, expected, tolerance);
  if (message) throw new Error(message);
}
