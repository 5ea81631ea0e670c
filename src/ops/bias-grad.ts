/** bias_grad: db[c] = Σ_r dz[r,c], the column sum of dz [rows, cols]. */
import { inputsThenOutputs, joinWgsl, rowWorkgroups } from '../kernels/gpu.js';
import type { NumArray, OpDef } from './op.js';
import { shapeOf } from './op.js';
import { biasGradWasm } from './wasm/bias-grad.js';

export interface BiasGradParams {
  rows: number;
  cols: number;
}

// WGSL twin: shaders/bias_grad.wgsl
export function biasGradReference(
  p: BiasGradParams,
  [dz]: readonly NumArray[],
  [db]: readonly NumArray[],
): void {
  const dZ = dz as NumArray;
  const dB = db as NumArray;
  for (let c = 0; c < p.cols; c++) {
    let sum = 0;
    for (let r = 0; r < p.rows; r++) sum += dZ[r * p.cols + c] as number;
    dB[c] = sum;
  }
}

export const biasGrad: OpDef<'bias_grad', BiasGradParams> = {
  name: 'bias_grad',
  samples: [{ rows: 2, cols: 3 }],
  params(node, graph) {
    const [rows = 0, cols = 0] = shapeOf(graph, node.inputs[0]);
    return { rows, cols };
  },
  reference: biasGradReference,
  wasm: biasGradWasm,
  kernel: {
    wgsl: joinWgsl('bias_grad'),
    bind: () => inputsThenOutputs(1, 1),
    uniform: (p) => Uint32Array.of(p.rows, p.cols),
    usesStep: false,
    workgroups: (p) => rowWorkgroups(p.cols, 64),
  },
  // A sum of `rows` f32 terms against a double-precision sum.
  tolerance: (p) => ({ atol: 1e-7 * Math.sqrt(p.rows), rtol: 1e-5 }),
};
