/** act_grad on the Wasm backend. Wasm twin: wasm/act_grad.ts. */
import { inputsThenOutputs } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import type { ActGradParams } from '../act-grad.js';
import { WASM_ACTIVATION_CODE } from './bias-act.js';

/** One phase, parallel over ranges of the elements. */
export const actGradWasm: WasmKernel<ActGradParams> = {
  phases: ['act_grad'],
  bind: () => inputsThenOutputs(2, 1),
  params: (p) => [p.length, WASM_ACTIVATION_CODE[p.activation]],
};
