/** add on the Wasm backend. Wasm twin: wasm/add.ts. */
import { inputsThenOutputs } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import type { AddParams } from '../add.js';

/** One phase, parallel over ranges of the elements. */
export const addWasm: WasmKernel<AddParams> = {
  phases: ['add'],
  bind: () => inputsThenOutputs(2, 1),
  params: (p) => [p.length],
};
