/**
 * act_grad: dx[i] = dy[i]·act'(z[i]), written in terms of the activation's output y = act(z):
 * relu' = [y > 0], tanh' = 1 − y², sigmoid' = y(1 − y). Inputs dy and y, output dx, all the same shape.
 */
import actGradWgsl from '../../shaders/act_grad.wgsl?raw';
import activationWgsl from '../../shaders/activation.wgsl?raw';
import type { Activation } from '../graph/ir.js';
import { elementCount } from '../graph/ir.js';
import { ACTIVATION_CODE, inputsThenOutputs, joinWgsl, linearWorkgroups } from '../webgpu/kernel.js';
import { type NumArray, ONE_ULP, type OpDef, shapeOf } from './op.js';

export interface ActGradParams {
  length: number;
  activation: Activation;
}

export function actGradReference(
  p: ActGradParams,
  [dy, y]: readonly NumArray[],
  [dx]: readonly NumArray[],
): void {
  const dY = dy as NumArray;
  const Y = y as NumArray;
  const dX = dx as NumArray;
  for (let i = 0; i < p.length; i++) {
    const g = dY[i] as number;
    const v = Y[i] as number;
    switch (p.activation) {
      case 'relu':
        dX[i] = v > 0 ? g : 0;
        break;
      case 'tanh':
        dX[i] = g * (1 - v * v);
        break;
      case 'sigmoid':
        dX[i] = g * v * (1 - v);
        break;
      case 'identity':
        dX[i] = g;
        break;
      default:
        p.activation satisfies never;
    }
  }
}

export const actGrad: OpDef<'act_grad', ActGradParams> = {
  name: 'act_grad',
  params: (node, graph) => ({
    length: elementCount(shapeOf(graph, node.inputs[0])),
    activation: node.attrs.activation,
  }),
  reference: actGradReference,
  kernel: {
    wgsl: joinWgsl(activationWgsl, actGradWgsl),
    bind: () => inputsThenOutputs(2, 1),
    uniform: (p) => Uint32Array.of(p.length),
    usesStep: false,
    overrides: (p) => ({ Activation: ACTIVATION_CODE[p.activation] }),
    workgroups: (p) => linearWorkgroups(p.length),
  },
  tolerance: (p) =>
    p.activation === 'relu' || p.activation === 'identity' ? ONE_ULP : { atol: 1e-7, rtol: 1e-6 },
};
