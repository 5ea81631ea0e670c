// act_grad: dx[i] = dy[i]·act'(z[i]) from the output y = act(z): relu' = [y > 0], tanh' = 1 − y²,
// sigmoid' = y(1 − y). TS twin: src/ops/wasm/act-grad.ts (block: dy, y, dx, scratch, then length,
// activation). tanh and sigmoid in f64x2 (one rounding, as the double-precision reference); relu and
// identity in f32x4. Parallel over contiguous ranges of the elements.
import { demote2, IDENTITY, loadPartial, partStart, promoteHigh, RELU, SIGMOID, storePartial, TANH, word } from './op_common';

// @ts-ignore: decorator
@inline
function grad4(dy: v128, y: v128, act: u32): v128 {
  if (act == RELU) {
    const d = v128.bitselect(f32x4.splat(1), f32x4.splat(0), f32x4.gt(y, f32x4.splat(0)));
    return f32x4.mul(dy, d);
  }
  if (act == TANH || act == SIGMOID) {
    const one = f64x2.splat(1);
    const yLo = f64x2.promote_low_f32x4(y);
    const yHi = promoteHigh(y);
    let dLo: v128;
    let dHi: v128;
    if (act == TANH) {
      dLo = f64x2.sub(one, f64x2.mul(yLo, yLo));
      dHi = f64x2.sub(one, f64x2.mul(yHi, yHi));
    } else {
      dLo = f64x2.mul(yLo, f64x2.sub(one, yLo));
      dHi = f64x2.mul(yHi, f64x2.sub(one, yHi));
    }
    return demote2(f64x2.mul(f64x2.promote_low_f32x4(dy), dLo), f64x2.mul(promoteHigh(dy), dHi));
  }
  return f32x4.mul(dy, f32x4.splat(1));
}

// @ts-ignore: decorator
@inline
function actGradRange(dy: usize, y: usize, dx: usize, start: u32, end: u32, act: u32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const at = <usize>i << 2;
    v128.store(dx + at, grad4(v128.load(dy + at), v128.load(y + at), act));
  }
  if (i < end) {
    const at = <usize>i << 2;
    const count = end - i;
    storePartial(dx + at, grad4(loadPartial(dy + at, count, 0), loadPartial(y + at, count, 0), act), count);
  }
}

export function act_grad(block: usize, step: usize, part: i32, parts: i32): void {
  const dy = <usize>word(block, 0);
  const y = <usize>word(block, 1);
  const dx = <usize>word(block, 2);
  const n = word(block, 4);
  const act = word(block, 5);
  const start = partStart(n, part, parts, 16);
  const end = partStart(n, part + 1, parts, 16);
  if (start >= end) return;
  if (act == RELU) actGradRange(dy, y, dx, start, end, RELU);
  else if (act == TANH) actGradRange(dy, y, dx, start, end, TANH);
  else if (act == SIGMOID) actGradRange(dy, y, dx, start, end, SIGMOID);
  else actGradRange(dy, y, dx, start, end, IDENTITY);
}
