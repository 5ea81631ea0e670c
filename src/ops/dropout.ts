/**
 * dropout: inverted dropout with the Philox mask of docs/contracts.md, "Dropout masks". out[i] = x[i]·(1/keepProb) if element i
 * is kept at (seed, step, site), else 0. The op is its own vector-Jacobian product (the same mask and
 * scale applied to the gradient), so the backward pass regenerates the mask and never stores it.
 */
import { elementCount } from '../ir/ir.js';
import { dropoutWords } from '../kernels/dropout-words.js';
import { inputsThenOutputs, joinWgsl, linearWorkgroups } from '../kernels/gpu.js';
import { philox4x32 } from '../rng/philox.js';
import { type Grads, type NumArray, ONE_ULP, type OpDef, SAMPLE_DROPOUT, shapeOf } from './op.js';
import { dropoutWasm } from './wasm/dropout.js';

export interface DropoutParams {
  length: number;
  keepProb: number;
  seed: number;
  site: number;
  stream: number;
}

// WGSL twin: shaders/dropout.wgsl
/** Written from docs/contracts.md, "Dropout masks" directly, sharing nothing with the GPU path but philox4x32 itself. */
export function dropoutReference(
  p: DropoutParams,
  [x]: readonly NumArray[],
  [out]: readonly NumArray[],
  ctx: { step: number },
): void {
  const X = x as NumArray;
  const O = out as NumArray;
  const key = [p.seed % 2 ** 32, Math.floor(p.seed / 2 ** 32)];
  const threshold = Math.floor(p.keepProb * 2 ** 32);
  const scale = 1 / p.keepProb;
  let words: Uint32Array = new Uint32Array(4);
  for (let i = 0; i < p.length; i++) {
    // One Philox call gives the words of the four elements of a block.
    if (i % 4 === 0) words = philox4x32([i / 4, ctx.step, p.site, p.stream], key);
    const kept = p.keepProb >= 1 || (words[i % 4] as number) < threshold;
    O[i] = kept ? (X[i] as number) * scale : 0;
  }
}

export const dropout: OpDef<'dropout', DropoutParams> = {
  name: 'dropout',
  samples: [{ length: 6, ...SAMPLE_DROPOUT }],
  params: (node, graph) => ({ length: elementCount(shapeOf(graph, node.inputs[0])), ...node.attrs }),
  reference: dropoutReference,
  wasm: dropoutWasm,
  kernel: {
    wgsl: joinWgsl('philox', 'dropout'),
    bind: () => inputsThenOutputs(1, 1),
    uniform: (p) => Uint32Array.of(p.length, ...dropoutWords(p)),
    usesStep: true,
    // One invocation per block of 4 elements (one Philox call each).
    workgroups: (p) => linearWorkgroups(Math.ceil(p.length / 4)),
  },
  // The mask is exact; the kept values differ by at most the rounding of the f32 scale 1/keepProb.
  tolerance: () => ONE_ULP,
  vjp(graph, node, [dOut], needed): Grads {
    if (dOut === undefined || !needed[0]) return [undefined];
    const x = node.inputs[0] as number;
    return [
      graph.apply(
        'dropout',
        `grad(${graph.get(x).name})`,
        [dOut],
        node.attrs,
        graph.get(x).shape,
        'gradient',
      ),
    ];
  },
};
