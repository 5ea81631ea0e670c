/**
 * adam: one Adam step in place (Kingma & Ba; PyTorch's `torch.optim.Adam`, L2 weight decay added to
 * the gradient), with t = step + 1 and the bias corrections 1 − β^t taken from the step context:
 *   g ← grad + weightDecay·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − lr·(m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
 * Inputs [p, grad, metrics, m, v], outputs [p, m, v]. Does nothing once the loss kernel has counted
 * a non-finite loss in metrics (ops/softmax-xent.ts).
 */
import { elementCount } from '../ir/ir.js';
import { f32Bits, joinWgsl, linearWorkgroups } from '../kernels/gpu.js';
import type { NumArray, OpDef } from './op.js';
import { shapeOf } from './op.js';
import { METRICS } from './softmax-xent.js';
import { adamWasm } from './wasm/adam.js';

export interface AdamParams {
  length: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

// WGSL twin: shaders/adam.wgsl
// WGSL twin: shaders/adam_step.wgsl
export function adamReference(
  p: AdamParams,
  [param, grad, metrics, m, v]: readonly NumArray[],
  _outputs: readonly NumArray[],
  ctx: { lr: number; biasCorrection1: number; biasCorrection2: number },
): void {
  if (((metrics as NumArray)[METRICS.nonFinite] as number) > 0) return;
  const P = param as NumArray;
  const G = grad as NumArray;
  const M = m as NumArray;
  const V = v as NumArray;
  const correction1 = ctx.biasCorrection1;
  const correction2 = ctx.biasCorrection2;
  for (let i = 0; i < p.length; i++) {
    const g = (G[i] as number) + p.weightDecay * (P[i] as number);
    const mi = p.beta1 * (M[i] as number) + (1 - p.beta1) * g;
    const vi = p.beta2 * (V[i] as number) + (1 - p.beta2) * g * g;
    M[i] = mi;
    V[i] = vi;
    P[i] = (P[i] as number) - (ctx.lr * (mi / correction1)) / (Math.sqrt(vi / correction2) + p.epsilon);
  }
}

export const adam: OpDef<'adam', AdamParams> = {
  name: 'adam',
  samples: [{ length: 6, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }],
  params: (node, graph) => ({ length: elementCount(shapeOf(graph, node.inputs[0])), ...node.attrs }),
  reference: adamReference,
  wasm: adamWasm,
  kernel: {
    wgsl: joinWgsl('adam_step', 'adam'),
    // param, grad, m, v, metrics
    bind: () => [
      ['in', 0],
      ['in', 1],
      ['in', 3],
      ['in', 4],
      ['in', 2],
    ],
    uniform: (p) =>
      Uint32Array.of(
        p.length,
        f32Bits(p.beta1),
        f32Bits(p.beta2),
        f32Bits(p.epsilon),
        f32Bits(p.weightDecay),
      ),
    usesStep: true,
    workgroups: (p) => linearWorkgroups(p.length),
  },
  // The bias corrections come from f32 exp2/log2 on the GPU, in double precision on the CPU.
  tolerance: () => ({ atol: 1e-7, rtol: 1e-5 }),
};
