// dropout: out[i] = x[i]·scale if element i is kept at (seed, step, site), else 0 (docs/contracts.md,
// "Dropout masks": one Philox call per block of 4 elements, element 4·b + j kept iff word j < threshold). Four blocks at a
// time with philox4Blocks() (wasm/op_common.ts); the last blocks of a part with keptBits()
// (wasm/philox.ts): the same bits either way. TS twin: src/ops/wasm/dropout.ts (block: x, out,
// scratch, then length, key_lo, key_hi, threshold, keep_all, scale, site, stream; the step from the
// step block). Parallel over ranges of the elements (starts a multiple of 16).
import { keptBits } from './philox';
import { loadPartial, partStart, philox4Blocks, philoxLanes0, philoxLanes1, philoxLanes2, philoxLanes3, stepIndex, storePartial, word, wordF32 } from './op_common';

export function dropout(block: usize, step: usize, part: i32, parts: i32): void {
  const x = <usize>word(block, 0);
  const out = <usize>word(block, 1);
  const n = word(block, 3);
  const k0 = word(block, 4);
  const k1 = word(block, 5);
  const threshold = word(block, 6);
  const keepAll = word(block, 7) != 0;
  const scale = f32x4.splat(wordF32(block, 8));
  const site = word(block, 9);
  const stream = word(block, 10);
  const stepValue = stepIndex(step);
  const start = partStart(n, part, parts, 16);
  const end = partStart(n, part + 1, parts, 16);
  const zero = f32x4.splat(0);
  let i = start;
  if (keepAll) {
    for (; i + 4 <= end; i += 4) {
      const at = <usize>i << 2;
      v128.store(out + at, f32x4.mul(v128.load(x + at), scale));
    }
  } else {
    const t = i32x4.splat(threshold);
    for (; i + 16 <= end; i += 16) {
      philox4Blocks(i >> 2, stepValue, site, stream, k0, k1);
      // kept_j lane b: element 4b + j of these 16 is kept. Transpose to one mask per block.
      const w0 = i32x4.lt_u(philoxLanes0, t);
      const w1 = i32x4.lt_u(philoxLanes1, t);
      const w2 = i32x4.lt_u(philoxLanes2, t);
      const w3 = i32x4.lt_u(philoxLanes3, t);
      const a01 = v128.shuffle<u32>(w0, w1, 0, 4, 1, 5); // w0[0] w1[0] w0[1] w1[1]
      const a23 = v128.shuffle<u32>(w2, w3, 0, 4, 1, 5);
      const b01 = v128.shuffle<u32>(w0, w1, 2, 6, 3, 7);
      const b23 = v128.shuffle<u32>(w2, w3, 2, 6, 3, 7);
      const m0 = v128.shuffle<u64>(a01, a23, 0, 2);
      const m1 = v128.shuffle<u64>(a01, a23, 1, 3);
      const m2 = v128.shuffle<u64>(b01, b23, 0, 2);
      const m3 = v128.shuffle<u64>(b01, b23, 1, 3);
      const at = <usize>i << 2;
      v128.store(out + at, v128.and(f32x4.mul(v128.load(x + at), scale), m0));
      v128.store(out + at, v128.and(f32x4.mul(v128.load(x + at, 16), scale), m1), 16);
      v128.store(out + at, v128.and(f32x4.mul(v128.load(x + at, 32), scale), m2), 32);
      v128.store(out + at, v128.and(f32x4.mul(v128.load(x + at, 48), scale), m3), 48);
    }
  }
  const laneBits = i32x4(1, 2, 4, 8);
  for (; i < end; i += 4) {
    const bits = keptBits(i >> 2, stepValue, site, stream, k0, k1, threshold, keepAll);
    const kept = i32x4.ne(v128.and(i32x4.splat(bits), laneBits), zero);
    const at = <usize>i << 2;
    const count = end - i < 4 ? end - i : 4;
    const v = count == 4 ? v128.load(x + at) : loadPartial(x + at, count, 0);
    const y = v128.and(f32x4.mul(v, scale), kept);
    if (count == 4) v128.store(out + at, y);
    else storePartial(out + at, y, count);
  }
}
