/** sgd on the Wasm backend. Wasm twin: wasm/sgd.ts. */
import { f32Bits } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import type { SgdParams } from '../sgd.js';

/**
 * One phase, parallel over ranges of the elements; in place on param and velocity (a null binding
 * without momentum); skips the update once metrics[3] > 0. lr and μ come from the step block.
 */
export const sgdWasm: WasmKernel<SgdParams> = {
  phases: ['sgd'],
  bind: (p) => [['in', 0], ['in', 1], p.momentum ? ['in', 3] : null, ['in', 2]],
  params: (p) => [p.length, f32Bits(p.weightDecay), Number(p.momentum), Number(p.nesterov)],
};
