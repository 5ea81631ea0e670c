// bias_grad: db[c] = Σ_r dz[r, c], rows summed in order from 0 in f32, as shaders/bias_grad.wgsl (so
// the same bits). TS twin: src/ops/wasm/bias-grad.ts (block: dz, db, scratch, then rows, cols).
// Parallel: each part takes a range of columns (starts a multiple of 4) and runs down the rows,
// f32x4 across its columns, accumulating in db.
import { loadPartial, partStart, storePartial, word } from './op_common';

export function bias_grad(block: usize, step: usize, part: i32, parts: i32): void {
  const dz = <usize>word(block, 0);
  const db = <usize>word(block, 1);
  const rows = word(block, 3);
  const cols = word(block, 4);
  const c0 = partStart(cols, part, parts, 4);
  const c1 = partStart(cols, part + 1, parts, 4);
  if (c0 >= c1) return;
  const full = c0 + ((c1 - c0) & ~3);
  const tail = c1 - full;
  const zero = f32x4.splat(0);
  for (let c = c0; c < full; c += 4) v128.store(db + (<usize>c << 2), zero);
  if (tail > 0) storePartial(db + (<usize>full << 2), zero, tail);
  for (let r: u32 = 0; r < rows; r++) {
    const row = dz + ((<usize>r * <usize>cols) << 2);
    for (let c = c0; c < full; c += 4) {
      const at = <usize>c << 2;
      v128.store(db + at, f32x4.add(v128.load(db + at), v128.load(row + at)));
    }
    if (tail > 0) {
      const at = <usize>full << 2;
      storePartial(db + at, f32x4.add(loadPartial(db + at, tail, 0), loadPartial(row + at, tail, 0)), tail);
    }
  }
}
