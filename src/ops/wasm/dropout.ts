/** dropout on the Wasm backend. Wasm twin: wasm/dropout.ts. */
import { f32Bits, inputsThenOutputs } from '../../kernels/bindings.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import { keepThreshold, seedKey } from '../../rng/philox.js';
import type { DropoutParams } from '../dropout.js';

/**
 * One phase, parallel over blocks of 4 elements. Params: length, then the words of docs/contracts.md,
 * "Dropout masks", as the WebGPU uniform has them: key (lo, hi), threshold, keep_all,
 * scale = f32(1/keepProb), site, stream.
 */
export const dropoutWasm: WasmKernel<DropoutParams> = {
  phases: ['dropout'],
  bind: () => inputsThenOutputs(1, 1),
  params: (p) => {
    const [keyLo, keyHi] = seedKey(p.seed);
    const threshold = keepThreshold(p.keepProb);
    return [
      p.length,
      keyLo,
      keyHi,
      threshold ?? 0,
      threshold === null ? 1 : 0,
      f32Bits(1 / p.keepProb),
      p.site >>> 0,
      p.stream >>> 0,
    ];
  },
};
