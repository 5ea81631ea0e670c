/**
 * The order of examples in each epoch: a Fisher–Yates shuffle driven by Philox, so it is a pure
 * function of (seed, epoch). For i = n−1 down to 1, swap i with j = floor(u·(i+1)), where u is word 0 of
 *   philox4x32([i, epoch, 0, 2], [seed mod 2^32, floor(seed / 2^32)]) / 2^32
 * (counter word 3 = 2 keeps these draws apart from dropout masks and initialization).
 */
import { philox4x32, STREAM, seedKey } from '../rng/philox.js';

export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const key = seedKey(seed);
  for (let i = n - 1; i > 0; i--) {
    const u = (philox4x32([i, epoch, 0, STREAM.shuffle], key)[0] as number) / 2 ** 32;
    const j = Math.floor(u * (i + 1));
    const swap = order[i] as number;
    order[i] = order[j] as number;
    order[j] = swap;
  }
  return order;
}
