/** gather_rows on the Wasm backend. Wasm twin: wasm/gather_rows.ts. */
import { inputsThenOutputs } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import type { GatherRowsParams } from '../gather-rows.js';

/** One phase, parallel over batch rows; bit-exact copies. */
export const gatherRowsWasm: WasmKernel<GatherRowsParams> = {
  phases: ['gather_rows'],
  bind: () => inputsThenOutputs(4, 2),
  params: (p) => [p.batch, p.features, Number(p.bytes)],
};
