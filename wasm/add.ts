// add: out[i] = a[i] + b[i]. TS twin: src/ops/wasm/add.ts (block: a, b, out, scratch, then length).
// Parallel over contiguous ranges of the elements, f32x4.
import { loadPartial, partStart, storePartial, word } from './op_common';

export function add(block: usize, step: usize, part: i32, parts: i32): void {
  const a = <usize>word(block, 0);
  const b = <usize>word(block, 1);
  const out = <usize>word(block, 2);
  const n = word(block, 4);
  const start = partStart(n, part, parts, 16);
  const end = partStart(n, part + 1, parts, 16);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const at = <usize>i << 2;
    v128.store(out + at, f32x4.add(v128.load(a + at), v128.load(b + at)));
  }
  if (i < end) {
    const at = <usize>i << 2;
    const count = end - i;
    storePartial(out + at, f32x4.add(loadPartial(a + at, count, 0), loadPartial(b + at, count, 0)), count);
  }
}
