// sgd: one SGD step in place, as shaders/sgd_step.wgsl (torch.optim.SGD): g = grad + wd·p;
// v = μ·v + g; d = nesterov ? g + μ·v : v; p −= lr·d (without momentum d = g). Nothing once
// metrics[3] > 0. TS twin: src/ops/wasm/sgd.ts (block: param, grad, velocity or 0, metrics, scratch,
// then length, weight_decay, momentum, nesterov; lr and μ from the step block). Parallel over
// contiguous ranges of the elements, f32x4.
import { loadPartial, partStart, stepLr, stepMomentum, storePartial, word, wordF32 } from './op_common';

// @ts-ignore: decorator
@inline
function sgdRange(param: usize, grad: usize, velocity: usize, start: u32, end: u32, lr: v128, mu: v128, wd: v128, momentum: bool, nesterov: bool): void {
  let i = start;
  while (i < end) {
    const at = <usize>i << 2;
    const count = end - i < 4 ? end - i : 4;
    const p = count == 4 ? v128.load(param + at) : loadPartial(param + at, count, 0);
    const gr = count == 4 ? v128.load(grad + at) : loadPartial(grad + at, count, 0);
    const g = f32x4.add(gr, f32x4.mul(wd, p));
    let direction = g;
    if (momentum) {
      const v0 = count == 4 ? v128.load(velocity + at) : loadPartial(velocity + at, count, 0);
      const v = f32x4.add(f32x4.mul(mu, v0), g);
      if (count == 4) v128.store(velocity + at, v);
      else storePartial(velocity + at, v, count);
      direction = nesterov ? f32x4.add(g, f32x4.mul(mu, v)) : v;
    }
    const next = f32x4.sub(p, f32x4.mul(lr, direction));
    if (count == 4) v128.store(param + at, next);
    else storePartial(param + at, next, count);
    i += count;
  }
}

export function sgd(block: usize, step: usize, part: i32, parts: i32): void {
  const param = <usize>word(block, 0);
  const grad = <usize>word(block, 1);
  const velocity = <usize>word(block, 2);
  const metrics = <usize>word(block, 3);
  if (load<f32>(metrics, 12) > 0) return;
  const n = word(block, 5);
  const wd = f32x4.splat(wordF32(block, 6));
  const momentum = word(block, 7) != 0 && velocity != 0;
  const nesterov = word(block, 8) != 0;
  const lr = f32x4.splat(stepLr(step));
  const mu = f32x4.splat(stepMomentum(step));
  const start = partStart(n, part, parts, 16);
  const end = partStart(n, part + 1, parts, 16);
  if (!momentum) sgdRange(param, grad, velocity, start, end, lr, mu, wd, false, false);
  else if (nesterov) sgdRange(param, grad, velocity, start, end, lr, mu, wd, true, true);
  else sgdRange(param, grad, velocity, start, end, lr, mu, wd, true, false);
}
