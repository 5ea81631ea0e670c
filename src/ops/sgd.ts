/**
 * sgd: one SGD step on a parameter, in place, as PyTorch's `torch.optim.SGD` does it:
 *   g ← grad + weightDecay·p;  v ← μ·v + g;  d ← nesterov ? g + μ·v : v;  p ← p − lr·d
 * (without momentum d = g and there is no velocity buffer). lr and μ come from the step context so
 * schedules can move them. Inputs [p, grad, metrics, v?], outputs [p, v?]. Does nothing once the
 * loss kernel has counted a non-finite loss in metrics (ops/softmax-xent.ts).
 */
import { elementCount } from '../ir/ir.js';
import { f32Bits, joinWgsl, linearWorkgroups } from '../kernels/gpu.js';
import type { NumArray, OpDef } from './op.js';
import { shapeOf } from './op.js';
import { METRICS } from './softmax-xent.js';
import { sgdWasm } from './wasm/sgd.js';

export interface SgdParams {
  length: number;
  momentum: boolean;
  nesterov: boolean;
  weightDecay: number;
}

// WGSL twin: shaders/sgd.wgsl
// WGSL twin: shaders/sgd_step.wgsl
export function sgdReference(
  p: SgdParams,
  [param, grad, metrics, velocity]: readonly NumArray[],
  _outputs: readonly NumArray[],
  ctx: { lr: number; momentum: number },
): void {
  if (((metrics as NumArray)[METRICS.nonFinite] as number) > 0) return;
  const P = param as NumArray;
  const G = grad as NumArray;
  for (let i = 0; i < p.length; i++) {
    const g = (G[i] as number) + p.weightDecay * (P[i] as number);
    let direction = g;
    if (p.momentum && velocity) {
      const v = ctx.momentum * (velocity[i] as number) + g;
      velocity[i] = v;
      direction = p.nesterov ? g + ctx.momentum * v : v;
    }
    P[i] = (P[i] as number) - ctx.lr * direction;
  }
}

export const sgd: OpDef<'sgd', SgdParams> = {
  name: 'sgd',
  samples: [
    { length: 6, momentum: true, nesterov: true, weightDecay: 0.1 },
    { length: 6, momentum: false, nesterov: false, weightDecay: 0 },
  ],
  params: (node, graph) => ({ length: elementCount(shapeOf(graph, node.inputs[0])), ...node.attrs }),
  reference: sgdReference,
  wasm: sgdWasm,
  kernel: {
    wgsl: joinWgsl('sgd_step', 'sgd'),
    // In place: param and velocity are read and written; without momentum velocity is a placeholder.
    bind: (p) => [['in', 0], ['in', 1], p.momentum ? ['in', 3] : null, ['in', 2]],
    uniform: (p) => Uint32Array.of(p.length, f32Bits(p.weightDecay)),
    usesStep: true,
    overrides: (p) => ({ HasMomentum: Number(p.momentum), Nesterov: Number(p.nesterov) }),
    workgroups: (p) => linearWorkgroups(p.length),
  },
  // A few f32 roundings in the update; relative to the parameter's magnitude.
  tolerance: () => ({ atol: 1e-7, rtol: 1e-6 }),
};
