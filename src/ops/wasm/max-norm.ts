/** max_norm on the Wasm backend. Wasm twin: wasm/max_norm.ts. */
import { f32Bits } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import type { MaxNormParams } from '../max-norm.js';

/** One phase, parallel over rows; in place; rows within the norm are not written. */
export const maxNormWasm: WasmKernel<MaxNormParams> = {
  phases: ['max_norm'],
  bind: () => [['in', 0]],
  params: (p) => [p.rows, p.cols, f32Bits(p.maxNorm)],
};
