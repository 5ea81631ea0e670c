// adam: one Adam step in place, as shaders/adam.wgsl: g = grad + wd·p; m = β1·m + (1−β1)·g;
// v = β2·v + (1−β2)·g²; p −= lr·(m / c1) / (√(v / c2) + ε), c1 and c2 the bias corrections of the
// step block. Nothing once metrics[3] > 0. TS twin: src/ops/wasm/adam.ts (block: param, grad, m, v,
// metrics, scratch, then length, β1, β2, ε, wd, 1 − β1, 1 − β2; the last two rounded from double in
// TS). Parallel over contiguous ranges of the elements, f32x4.
import { loadPartial, partStart, stepBiasCorrection1, stepBiasCorrection2, stepLr, storePartial, word, wordF32 } from './op_common';

export function adam(block: usize, step: usize, part: i32, parts: i32): void {
  const param = <usize>word(block, 0);
  const grad = <usize>word(block, 1);
  const mBuf = <usize>word(block, 2);
  const vBuf = <usize>word(block, 3);
  const metrics = <usize>word(block, 4);
  if (load<f32>(metrics, 12) > 0) return;
  const n = word(block, 6);
  const beta1 = f32x4.splat(wordF32(block, 7));
  const beta2 = f32x4.splat(wordF32(block, 8));
  const epsilon = f32x4.splat(wordF32(block, 9));
  const wd = f32x4.splat(wordF32(block, 10));
  const oneMinusBeta1 = f32x4.splat(wordF32(block, 11));
  const oneMinusBeta2 = f32x4.splat(wordF32(block, 12));
  const lr = f32x4.splat(stepLr(step));
  const c1 = f32x4.splat(stepBiasCorrection1(step));
  const c2 = f32x4.splat(stepBiasCorrection2(step));
  const start = partStart(n, part, parts, 16);
  const end = partStart(n, part + 1, parts, 16);
  let i = start;
  while (i < end) {
    const at = <usize>i << 2;
    const count = end - i < 4 ? end - i : 4;
    const p = count == 4 ? v128.load(param + at) : loadPartial(param + at, count, 0);
    const gr = count == 4 ? v128.load(grad + at) : loadPartial(grad + at, count, 0);
    const m0 = count == 4 ? v128.load(mBuf + at) : loadPartial(mBuf + at, count, 0);
    const v0 = count == 4 ? v128.load(vBuf + at) : loadPartial(vBuf + at, count, 0);
    const g = f32x4.add(gr, f32x4.mul(wd, p));
    const m = f32x4.add(f32x4.mul(beta1, m0), f32x4.mul(oneMinusBeta1, g));
    const v = f32x4.add(f32x4.mul(beta2, v0), f32x4.mul(f32x4.mul(oneMinusBeta2, g), g));
    const update = f32x4.div(
      f32x4.mul(lr, f32x4.div(m, c1)),
      f32x4.add(f32x4.sqrt(f32x4.div(v, c2)), epsilon),
    );
    const next = f32x4.sub(p, update);
    if (count == 4) {
      v128.store(mBuf + at, m);
      v128.store(vBuf + at, v);
      v128.store(param + at, next);
    } else {
      storePartial(mBuf + at, m, count);
      storePartial(vBuf + at, v, count);
      storePartial(param + at, next, count);
    }
    i += count;
  }
}
