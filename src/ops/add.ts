/** add: out[i] = a[i] + b[i]. Autodiff uses it to sum the gradients of a tensor read by several nodes. */
import { elementCount } from '../ir/ir.js';
import { inputsThenOutputs, joinWgsl, linearWorkgroups } from '../kernels/gpu.js';
import { type Grads, type NumArray, ONE_ULP, type OpDef, shapeOf } from './op.js';
import { addWasm } from './wasm/add.js';

export interface AddParams {
  length: number;
}

// WGSL twin: shaders/add.wgsl
export function addReference(p: AddParams, [a, b]: readonly NumArray[], [out]: readonly NumArray[]): void {
  for (let i = 0; i < p.length; i++)
    (out as NumArray)[i] = ((a as NumArray)[i] as number) + ((b as NumArray)[i] as number);
}

export const add: OpDef<'add', AddParams> = {
  name: 'add',
  samples: [{ length: 6 }],
  params: (node, graph) => ({ length: elementCount(shapeOf(graph, node.inputs[0])) }),
  reference: addReference,
  wasm: addWasm,
  kernel: {
    wgsl: joinWgsl('add'),
    bind: () => inputsThenOutputs(2, 1),
    uniform: (p) => Uint32Array.of(p.length),
    usesStep: false,
    workgroups: (p) => linearWorkgroups(p.length),
  },
  tolerance: () => ONE_ULP,
  vjp: (_graph, _node, [dOut], needed): Grads => [needed[0] ? dOut : undefined, needed[1] ? dOut : undefined],
};
