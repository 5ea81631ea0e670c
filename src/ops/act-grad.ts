/**
 * act_grad: dx[i] = dy[i]·act'(z[i]), written in terms of the activation's output y = act(z):
 * relu' = [y > 0], tanh' = 1 − y², sigmoid' = y(1 − y). Inputs dy and y, output dx, all the same shape.
 */
import type { Activation } from '../ir/ir.js';
import { elementCount } from '../ir/ir.js';
import { ACTIVATION_CODE, inputsThenOutputs, joinWgsl, linearWorkgroups } from '../kernels/gpu.js';
import { type NumArray, ONE_ULP, type OpDef, shapeOf } from './op.js';
import { actGradWasm } from './wasm/act-grad.js';

export interface ActGradParams {
  length: number;
  activation: Activation;
}

/** act'(z) written in terms of the output y = act(z). */
export function derivativeFromOutput(activation: Activation, y: number): number {
  switch (activation) {
    case 'relu':
      return y > 0 ? 1 : 0;
    case 'tanh':
      return 1 - y * y;
    case 'sigmoid':
      return y * (1 - y);
    case 'identity':
      return 1;
    default:
      return activation satisfies never;
  }
}

// WGSL twin: shaders/act_grad.wgsl
export function actGradReference(
  p: ActGradParams,
  [dy, y]: readonly NumArray[],
  [dx]: readonly NumArray[],
): void {
  const dY = dy as NumArray;
  const Y = y as NumArray;
  const dX = dx as NumArray;
  for (let i = 0; i < p.length; i++)
    dX[i] = (dY[i] as number) * derivativeFromOutput(p.activation, Y[i] as number);
}

export const actGrad: OpDef<'act_grad', ActGradParams> = {
  name: 'act_grad',
  samples: [{ length: 6, activation: 'tanh' }],
  params: (node, graph) => ({
    length: elementCount(shapeOf(graph, node.inputs[0])),
    activation: node.attrs.activation,
  }),
  reference: actGradReference,
  wasm: actGradWasm,
  kernel: {
    wgsl: joinWgsl('activation', 'act_grad'),
    bind: () => inputsThenOutputs(2, 1),
    uniform: (p) => Uint32Array.of(p.length),
    usesStep: false,
    overrides: (p) => ({ Activation: ACTIVATION_CODE[p.activation] }),
    workgroups: (p) => linearWorkgroups(p.length),
  },
  tolerance: (p) =>
    p.activation === 'relu' || p.activation === 'identity' ? ONE_ULP : { atol: 1e-7, rtol: 1e-6 },
};
