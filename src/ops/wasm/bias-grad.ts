/** bias_grad on the Wasm backend. Wasm twin: wasm/bias_grad.ts. */
import { inputsThenOutputs } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import type { BiasGradParams } from '../bias-grad.js';

/** One phase, parallel over ranges of columns; rows summed in order in f32 (as the WGSL kernel). */
export const biasGradWasm: WasmKernel<BiasGradParams> = {
  phases: ['bias_grad'],
  bind: () => inputsThenOutputs(1, 1),
  params: (p) => [p.rows, p.cols],
};
