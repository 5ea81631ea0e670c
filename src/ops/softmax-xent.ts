/**
 * softmax_xent: loss = (1/B)·Σ_r [logsumexp(z_r) − z_r[y_r]] (SPEC §3.4), logits z [B, C], labels y [B]
 * (u32), loss [1]. Max-subtracted, so large logits do not overflow. Its gradient is softmax_xent_grad;
 * the loss must be the root of the backward pass (its upstream gradient is taken to be 1).
 */
import type { Grads, NumArray, OpDef } from './op.js';
import { shapeOf } from './op.js';

export interface SoftmaxXentParams {
  rows: number;
  classes: number;
}

export function softmaxXentReference(
  p: SoftmaxXentParams,
  [logits, labels]: readonly NumArray[],
  [loss]: readonly NumArray[],
): void {
  const Z = logits as NumArray;
  const Y = labels as NumArray;
  let total = 0;
  for (let r = 0; r < p.rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < p.classes; c++) max = Math.max(max, Z[r * p.classes + c] as number);
    let sumExp = 0;
    for (let c = 0; c < p.classes; c++) sumExp += Math.exp((Z[r * p.classes + c] as number) - max);
    total += max + Math.log(sumExp) - (Z[r * p.classes + (Y[r] as number)] as number);
  }
  (loss as NumArray)[0] = total / p.rows;
}

function rowsAndClasses(shape: readonly number[]): SoftmaxXentParams {
  const [rows = 0, classes = 0] = shape;
  return { rows, classes };
}

export const softmaxXent: OpDef<'softmax_xent', SoftmaxXentParams> = {
  name: 'softmax_xent',
  params: (node, graph) => rowsAndClasses(shapeOf(graph, node.inputs[0])),
  reference: softmaxXentReference,
  vjp(graph, node, _outputGrads, needed): Grads {
    const [logits, labels] = node.inputs as [number, number];
    if (!needed[0]) return [undefined, undefined];
    const grad = graph.apply(
      'softmax_xent_grad',
      `grad(${graph.get(logits).name})`,
      [logits, labels],
      {},
      graph.get(logits).shape,
      'gradient',
    );
    return [grad, undefined];
  },
};

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
  params: (node, graph) => rowsAndClasses(shapeOf(graph, node.inputs[0])),
  reference: softmaxXentGradReference,
};

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
  params: (node, graph) => rowsAndClasses(shapeOf(graph, node.inputs[0])),
  reference: softmaxReference,
};
