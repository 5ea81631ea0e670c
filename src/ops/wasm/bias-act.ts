/** bias_act on the Wasm backend. Wasm twin: wasm/bias_act.ts. */
import { inputsThenOutputs } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import type { BiasActParams } from '../bias-act.js';

/** Activation codes of the Wasm kernels (IDENTITY … SIGMOID in wasm/op_common.ts). */
export const WASM_ACTIVATION_CODE: Readonly<Record<BiasActParams['activation'], number>> = {
  identity: 0,
  relu: 1,
  tanh: 2,
  sigmoid: 3,
};

/** One phase, parallel over ranges of the flat index. */
export const biasActWasm: WasmKernel<BiasActParams> = {
  phases: ['bias_act'],
  bind: () => inputsThenOutputs(2, 1),
  params: (p) => [p.rows, p.cols, WASM_ACTIVATION_CODE[p.activation]],
};
