/**
 * softmax_xent: loss = (1/B)·Σ_r [logsumexp(z_r) − z_r[y_r]] (docs/contracts.md, "Loss and optimizers"), logits z [B, C], labels y [B]
 * (u32), loss [1]. Max-subtracted, so large logits do not overflow. Its gradient is softmax_xent_grad;
 * the loss must be the root of the backward pass (its upstream gradient is taken to be 1).
 *
 * It also accumulates training metrics in place, so a training loop reads them once per reporting
 * interval instead of once per step: metrics [4] = [Σ loss, Σ correct rows (first argmax = label),
 * Σ rows, Σ non-finite losses]. The optimizers skip their update while metrics[3] > 0, which keeps
 * the parameters from before the first step whose loss was not finite.
 */
import { type GpuKernel, inputsThenOutputs, joinWgsl, rowWorkgroups } from '../kernels/gpu.js';
import type { Grads, NumArray, OpDef, Tolerance } from './op.js';
import { shapeOf } from './op.js';
import { softmaxWasm, softmaxXentGradWasm, softmaxXentWasm } from './wasm/softmax-xent.js';

export interface SoftmaxXentParams {
  rows: number;
  classes: number;
}

/** Metrics slots (see above). */
export const METRICS = { lossSum: 0, correct: 1, rows: 2, nonFinite: 3, length: 4 } as const;

// WGSL twin: shaders/softmax_xent.wgsl
export function softmaxXentReference(
  p: SoftmaxXentParams,
  [logits, labels, metricsIn]: readonly NumArray[],
  [loss]: readonly NumArray[],
): void {
  const Z = logits as NumArray;
  const Y = labels as NumArray;
  let total = 0;
  let correct = 0;
  for (let r = 0; r < p.rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    let best = 0;
    for (let c = 0; c < p.classes; c++) {
      const z = Z[r * p.classes + c] as number;
      if (z > max || c === 0) {
        max = z;
        best = c;
      }
    }
    let sumExp = 0;
    for (let c = 0; c < p.classes; c++) sumExp += Math.exp((Z[r * p.classes + c] as number) - max);
    total += max + Math.log(sumExp) - (Z[r * p.classes + (Y[r] as number)] as number);
    if (best === Y[r]) correct++;
  }
  const value = total / p.rows;
  (loss as NumArray)[0] = value;
  if (metricsIn) {
    const m = metricsIn;
    m[METRICS.lossSum] = (m[METRICS.lossSum] as number) + value;
    m[METRICS.correct] = (m[METRICS.correct] as number) + correct;
    m[METRICS.rows] = (m[METRICS.rows] as number) + p.rows;
    m[METRICS.nonFinite] = (m[METRICS.nonFinite] as number) + (Number.isFinite(value) ? 0 : 1);
  }
}

function rowsAndClasses(shape: readonly number[]): SoftmaxXentParams {
  const [rows = 0, classes = 0] = shape;
  return { rows, classes };
}

/** One invocation per row (softmax, softmax_xent_grad). */
function perRowKernel(shaderName: string, inputs: number): GpuKernel<SoftmaxXentParams> {
  return {
    wgsl: joinWgsl('softmax_row', shaderName),
    bind: () => inputsThenOutputs(inputs, 1),
    uniform: (p) => Uint32Array.of(p.rows, p.classes),
    usesStep: false,
    workgroups: (p) => rowWorkgroups(p.rows, 64),
  };
}

// exp and log on the GPU are a few ulp from the double-precision reference.
const SOFTMAX_TOLERANCE: Tolerance = { atol: 1e-7, rtol: 2e-6 };

export const softmaxXent: OpDef<'softmax_xent', SoftmaxXentParams> = {
  name: 'softmax_xent',
  samples: [{ rows: 2, classes: 3 }],
  params: (node, graph) => rowsAndClasses(shapeOf(graph, node.inputs[0])),
  reference: softmaxXentReference,
  wasm: softmaxXentWasm,
  kernel: {
    wgsl: joinWgsl('softmax_xent'),
    // logits, labels, metrics (read and written in place), loss
    bind: () => [
      ['in', 0],
      ['in', 1],
      ['in', 2],
      ['out', 0],
    ],
    uniform: (p) => Uint32Array.of(p.rows, p.classes),
    usesStep: false,
    // One workgroup, parallel over rows (WebGPU guarantees 256 invocations per workgroup).
    overrides: () => ({ WorkgroupSize: 256 }),
    workgroups: () => [1, 1, 1],
  },
  tolerance: () => ({ atol: 1e-6, rtol: 1e-5 }),
  vjp(graph, node, _outputGrads, needed): Grads {
    const [logits, labels] = node.inputs as [number, number];
    if (!needed[0]) return node.inputs.map(() => undefined);
    const grad = graph.apply(
      'softmax_xent_grad',
      `grad(${graph.get(logits).name})`,
      [logits, labels],
      {},
      graph.get(logits).shape,
      'gradient',
    );
    return [grad, ...node.inputs.slice(1).map(() => undefined)];
  },
};

// WGSL twin: shaders/softmax_xent_grad.wgsl
/** softmax_xent_grad: dz[r,c] = (softmax(z_r)[c] − [c = y_r]) / B. */
export function softmaxXentGradReference(
  p: SoftmaxXentParams,
  [logits, labels]: readonly NumArray[],
  [dLogits]: readonly NumArray[],
): void {
  const Z = logits as NumArray;
  const Y = labels as NumArray;
  const dZ = dLogits as NumArray;
  for (let r = 0; r < p.rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < p.classes; c++) max = Math.max(max, Z[r * p.classes + c] as number);
    let sumExp = 0;
    for (let c = 0; c < p.classes; c++) sumExp += Math.exp((Z[r * p.classes + c] as number) - max);
    for (let c = 0; c < p.classes; c++) {
      const probability = Math.exp((Z[r * p.classes + c] as number) - max) / sumExp;
      dZ[r * p.classes + c] = (probability - (c === Y[r] ? 1 : 0)) / p.rows;
    }
  }
}

export const softmaxXentGrad: OpDef<'softmax_xent_grad', SoftmaxXentParams> = {
  name: 'softmax_xent_grad',
  samples: [{ rows: 2, classes: 3 }],
  params: (node, graph) => rowsAndClasses(shapeOf(graph, node.inputs[0])),
  reference: softmaxXentGradReference,
  wasm: softmaxXentGradWasm,
  kernel: perRowKernel('softmax_xent_grad', 2),
  tolerance: () => SOFTMAX_TOLERANCE,
};

// WGSL twin: shaders/softmax.wgsl
/** softmax: probabilities [B, C] from logits [B, C], max-subtracted. Used by predict. */
export function softmaxReference(
  p: SoftmaxXentParams,
  [logits]: readonly NumArray[],
  [probs]: readonly NumArray[],
): void {
  const Z = logits as NumArray;
  const P = probs as NumArray;
  for (let r = 0; r < p.rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < p.classes; c++) max = Math.max(max, Z[r * p.classes + c] as number);
    let sumExp = 0;
    for (let c = 0; c < p.classes; c++) sumExp += Math.exp((Z[r * p.classes + c] as number) - max);
    for (let c = 0; c < p.classes; c++)
      P[r * p.classes + c] = Math.exp((Z[r * p.classes + c] as number) - max) / sumExp;
  }
}

export const softmax: OpDef<'softmax', SoftmaxXentParams> = {
  name: 'softmax',
  samples: [{ rows: 2, classes: 3 }],
  params: (node, graph) => rowsAndClasses(shapeOf(graph, node.inputs[0])),
  reference: softmaxReference,
  wasm: softmaxWasm,
  kernel: perRowKernel('softmax', 1),
  tolerance: () => SOFTMAX_TOLERANCE,
};
