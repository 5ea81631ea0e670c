/** softmax_xent, softmax_xent_grad and softmax on the Wasm backend. Wasm twin: wasm/softmax_xent.ts. */
import { inputsThenOutputs } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import type { SoftmaxXentParams } from '../softmax-xent.js';

/**
 * Two phases: `softmax_xent` (parallel over rows) writes each row's loss term (f64) and whether it was
 * classified right (u32) to scratch; `softmax_xent_total` (part 0 alone) sums them in row order, writes
 * the loss and accumulates the metrics in place.
 */
export const softmaxXentWasm: WasmKernel<SoftmaxXentParams> = {
  phases: ['softmax_xent', 'softmax_xent_total'],
  // logits, labels, metrics (read and written in place), loss
  bind: () => [
    ['in', 0],
    ['in', 1],
    ['in', 2],
    ['out', 0],
  ],
  params: (p) => [p.rows, p.classes],
  scratch: (p) => p.rows * 12,
};

/** One phase, parallel over rows. */
export const softmaxXentGradWasm: WasmKernel<SoftmaxXentParams> = {
  phases: ['softmax_xent_grad'],
  bind: () => inputsThenOutputs(2, 1),
  params: (p) => [p.rows, p.classes],
};

/** One phase, parallel over rows. */
export const softmaxWasm: WasmKernel<SoftmaxXentParams> = {
  phases: ['softmax'],
  bind: () => inputsThenOutputs(1, 1),
  params: (p) => [p.rows, p.classes],
};
