/**
 * The dropout words of a uniform (dropout.wgsl's and matmul_epilogue.wgsl's Params): key, threshold,
 * keep_all, scale, site, stream, in that order. All values are computed here, in TS, from docs/contracts.md, "Dropout masks".
 */
import type { DropoutAttrs } from '../ir/ir.js';
import { keepThreshold, seedKey } from '../rng/philox.js';
import { f32Bits } from './bindings.js';

export function dropoutWords(dropout: DropoutAttrs | undefined): number[] {
  if (!dropout) return [0, 0, 0, 1, f32Bits(1), 0, 0];
  const [keyLo, keyHi] = seedKey(dropout.seed);
  const threshold = keepThreshold(dropout.keepProb);
  return [
    keyLo,
    keyHi,
    threshold ?? 0,
    threshold === null ? 1 : 0,
    f32Bits(1 / dropout.keepProb),
    dropout.site,
    dropout.stream,
  ];
}
