/**
 * max_norm: the constraint of Srivastava et al. (2014), in place on a weight w [O, I] (PyTorch layout,
 * so row o is unit o's incoming weights): a row with ‖w_o‖₂ > c is scaled to norm c; rows with norm
 * ≤ c are left exactly as they are (a projection).
 */
import { f32Bits, joinWgsl, rowWorkgroups } from '../kernels/gpu.js';
import type { NumArray, OpDef } from './op.js';
import { shapeOf } from './op.js';
import { maxNormWasm } from './wasm/max-norm.js';

export interface MaxNormParams {
  rows: number;
  cols: number;
  maxNorm: number;
}

// WGSL twin: shaders/max_norm.wgsl
export function maxNormReference(p: MaxNormParams, [w]: readonly NumArray[]): void {
  const W = w as NumArray;
  for (let r = 0; r < p.rows; r++) {
    let squares = 0;
    for (let c = 0; c < p.cols; c++) squares += (W[r * p.cols + c] as number) ** 2;
    const norm = Math.sqrt(squares);
    if (norm > p.maxNorm) {
      for (let c = 0; c < p.cols; c++) W[r * p.cols + c] = ((W[r * p.cols + c] as number) * p.maxNorm) / norm;
    }
  }
}

export const maxNorm: OpDef<'max_norm', MaxNormParams> = {
  name: 'max_norm',
  samples: [{ rows: 2, cols: 3, maxNorm: 1 }],
  params(node, graph) {
    const [rows = 0, cols = 0] = shapeOf(graph, node.inputs[0]);
    return { rows, cols, maxNorm: node.attrs.maxNorm };
  },
  reference: maxNormReference,
  wasm: maxNormWasm,
  kernel: {
    wgsl: joinWgsl('max_norm'),
    bind: () => [['in', 0]],
    uniform: (p) => Uint32Array.of(p.rows, p.cols, f32Bits(p.maxNorm)),
    usesStep: false,
    workgroups: (p) => rowWorkgroups(p.rows, 64),
  },
  tolerance: () => ({ atol: 1e-7, rtol: 1e-6 }),
};
