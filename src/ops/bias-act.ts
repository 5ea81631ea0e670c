/**
 * bias_act: out[r,c] = act(x[r,c] + b[c]), x and out [rows, cols], b [cols]. Its gradient goes through
 * act_grad, which needs only the output: every activation here has a derivative expressible in it.
 */
import type { Activation } from '../ir/ir.js';
import { ACTIVATION_CODE, inputsThenOutputs, joinWgsl, linearWorkgroups } from '../kernels/gpu.js';
import { type Grads, type NumArray, ONE_ULP, type OpDef, shapeOf } from './op.js';
import { biasActWasm } from './wasm/bias-act.js';

export interface BiasActParams {
  rows: number;
  cols: number;
  activation: Activation;
}

export function activationReference(activation: Activation, z: number): number {
  switch (activation) {
    case 'relu':
      // Math.max propagates NaN; the WGSL port must too (its max() need not).
      return Math.max(z, 0);
    case 'tanh':
      return Math.tanh(z);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-z));
    case 'identity':
      return z;
    default:
      return activation satisfies never;
  }
}

// WGSL twin: shaders/bias_act.wgsl
export function biasActReference(
  p: BiasActParams,
  [x, b]: readonly NumArray[],
  [out]: readonly NumArray[],
): void {
  const X = x as NumArray;
  const bias = b as NumArray;
  const O = out as NumArray;
  for (let r = 0; r < p.rows; r++) {
    for (let c = 0; c < p.cols; c++) {
      O[r * p.cols + c] = activationReference(
        p.activation,
        (X[r * p.cols + c] as number) + (bias[c] as number),
      );
    }
  }
}

export const biasAct: OpDef<'bias_act', BiasActParams> = {
  name: 'bias_act',
  samples: [{ rows: 2, cols: 3, activation: 'sigmoid' }],
  params(node, graph) {
    const [rows = 0, cols = 0] = shapeOf(graph, node.inputs[0]);
    return { rows, cols, activation: node.attrs.activation };
  },
  reference: biasActReference,
  wasm: biasActWasm,
  kernel: {
    wgsl: joinWgsl('activation', 'bias_act'),
    bind: () => inputsThenOutputs(2, 1),
    uniform: (p) => Uint32Array.of(p.rows, p.cols),
    usesStep: false,
    overrides: (p) => ({ Activation: ACTIVATION_CODE[p.activation] }),
    workgroups: (p) => linearWorkgroups(p.rows * p.cols),
  },
  // relu/identity: one f32 add either way; tanh/sigmoid: the GPU's exp is a few ulp off.
  tolerance: (p) =>
    p.activation === 'relu' || p.activation === 'identity' ? ONE_ULP : { atol: 1e-7, rtol: 2e-6 },
  vjp(graph, node, [dOut], needed): Grads {
    if (dOut === undefined) return [undefined, undefined];
    const [x, b] = node.inputs as [number, number];
    const out = node.outputs[0] as number;
    const { activation } = node.attrs;
    const dPre =
      activation === 'identity'
        ? dOut
        : graph.apply(
            'act_grad',
            `grad(${graph.get(out).name}:pre)`,
            [dOut, out],
            { activation },
            graph.get(x).shape,
            'gradient',
          );
    const dBias = needed[1]
      ? graph.apply('bias_grad', `grad(${graph.get(b).name})`, [dPre], {}, graph.get(b).shape, 'gradient')
      : undefined;
    return [needed[0] ? dPre : undefined, dBias];
  },
};
