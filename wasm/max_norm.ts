// max_norm: in place on w [rows, cols]: a row with ‖w_r‖₂ > c is scaled to norm c; other rows are not
// written at all. Squares summed in f64x2 and the scaling w·(c/‖w_r‖) done in f64 (one rounding to
// f32), closer to the double-precision reference than shaders/max_norm.wgsl. TS twin:
// src/ops/wasm/max-norm.ts (block: w, scratch, then rows, cols, max_norm). Parallel over rows.
import { demote2, loadPartial, partStart, promoteHigh, storePartial, word, wordF32 } from './op_common';

export function max_norm(block: usize, step: usize, part: i32, parts: i32): void {
  const w = <usize>word(block, 0);
  const rows = word(block, 2);
  const cols = word(block, 3);
  const maxNorm = <f64>wordF32(block, 4);
  const r0 = partStart(rows, part, parts, 1);
  const r1 = partStart(rows, part + 1, parts, 1);
  const full = cols & ~3;
  const tail = cols - full;
  for (let r = r0; r < r1; r++) {
    const row = w + ((<usize>r * <usize>cols) << 2);
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (let c: u32 = 0; c < full; c += 4) {
      const v = v128.load(row + (<usize>c << 2));
      const a = f64x2.promote_low_f32x4(v);
      const b = promoteHigh(v);
      lo = f64x2.add(lo, f64x2.mul(a, a));
      hi = f64x2.add(hi, f64x2.mul(b, b));
    }
    if (tail > 0) {
      const v = loadPartial(row + (<usize>full << 2), tail, 0);
      const a = f64x2.promote_low_f32x4(v);
      const b = promoteHigh(v);
      lo = f64x2.add(lo, f64x2.mul(a, a));
      hi = f64x2.add(hi, f64x2.mul(b, b));
    }
    const squares = (f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1)) +
      (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
    const norm = Math.sqrt(squares);
    if (norm > maxNorm) {
      const scale = f64x2.splat(maxNorm / norm);
      for (let c: u32 = 0; c < full; c += 4) {
        const at = row + (<usize>c << 2);
        const v = v128.load(at);
        v128.store(at, demote2(f64x2.mul(f64x2.promote_low_f32x4(v), scale), f64x2.mul(promoteHigh(v), scale)));
      }
      if (tail > 0) {
        const at = row + (<usize>full << 2);
        const v = loadPartial(at, tail, 0);
        storePartial(at, demote2(f64x2.mul(f64x2.promote_low_f32x4(v), scale), f64x2.mul(promoteHigh(v), scale)), tail);
      }
    }
  }
}
