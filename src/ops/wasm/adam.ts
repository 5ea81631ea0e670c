/** adam on the Wasm backend. Wasm twin: wasm/adam.ts. */
import { f32Bits } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import type { AdamParams } from '../adam.js';

/**
 * One phase, parallel over ranges of the elements; in place on param, m and v; skips the update once
 * metrics[3] > 0. 1 − β1 and 1 − β2 are rounded to f32 from double here (not 1 − f32(β)).
 */
export const adamWasm: WasmKernel<AdamParams> = {
  phases: ['adam'],
  // param, grad, m, v, metrics
  bind: () => [
    ['in', 0],
    ['in', 1],
    ['in', 3],
    ['in', 4],
    ['in', 2],
  ],
  params: (p) => [
    p.length,
    f32Bits(p.beta1),
    f32Bits(p.beta2),
    f32Bits(p.epsilon),
    f32Bits(p.weightDecay),
    f32Bits(1 - p.beta1),
    f32Bits(1 - p.beta2),
  ],
};
