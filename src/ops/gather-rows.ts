/**
 * gather_rows: the batch x [batch, features] and its labels [batch] from a dataset resident on the
 * device, given the batch's row indices. Inputs [rows u32, data u32, table f32, labelBytes u32],
 * outputs [x, labels]. `data` holds bytes 4 to a word (each value is table[byte]) when `bytes`, else
 * the values' f32 bits; labels are bytes 4 to a word. See shaders/gather_rows.wgsl.
 */
import { inputsThenOutputs, joinWgsl, linearWorkgroups } from '../kernels/gpu.js';
import { type NumArray, type OpDef, shapeOf } from './op.js';
import { gatherRowsWasm } from './wasm/gather-rows.js';

export interface GatherRowsParams {
  batch: number;
  features: number;
  bytes: boolean;
}

// WGSL twin: shaders/gather_rows.wgsl
/** Plain loops over whole rows; bytes and f32 bits are read through views of the words' memory. */
export function gatherRowsReference(
  p: GatherRowsParams,
  [rows, data, table, labelBytes]: readonly NumArray[],
  [x, labels]: readonly NumArray[],
): void {
  // The words' memory read as bytes or as f32: views, not copies (the dataset may be large).
  const memory = asWords(data as NumArray);
  const valueBytes = new Uint8Array(memory.buffer, memory.byteOffset, memory.byteLength);
  const values = new Float32Array(memory.buffer, memory.byteOffset, memory.length);
  const labelWords = asWords(labelBytes as NumArray);
  const labelMemory = new Uint8Array(labelWords.buffer, labelWords.byteOffset, labelWords.byteLength);
  const out = x as NumArray;
  for (let r = 0; r < p.batch; r++) {
    const row = (rows as NumArray)[r] as number;
    for (let c = 0; c < p.features; c++) {
      const at = row * p.features + c;
      out[r * p.features + c] = p.bytes
        ? ((table as NumArray)[valueBytes[at] as number] as number)
        : (values[at] as number);
    }
    (labels as NumArray)[r] = labelMemory[row] as number;
  }
}

/** u32 tensors are Uint32Arrays on the CPU backend; anything else (a test's plain array) is copied. */
function asWords(array: NumArray): Uint32Array {
  return array instanceof Uint32Array ? array : Uint32Array.from(array);
}

export const gatherRows: OpDef<'gather_rows', GatherRowsParams> = {
  name: 'gather_rows',
  samples: [{ batch: 3, features: 5, bytes: true }],
  params(node, graph) {
    const [batch = 0, features = 0] = shapeOf(graph, node.outputs[0]);
    return { batch, features, bytes: node.attrs.bytes };
  },
  reference: gatherRowsReference,
  wasm: gatherRowsWasm,
  kernel: {
    wgsl: joinWgsl('gather_rows'),
    bind: () => inputsThenOutputs(4, 2),
    uniform: (p) => Uint32Array.of(p.batch, p.features),
    usesStep: false,
    overrides: (p) => ({ Bytes: Number(p.bytes) }),
    workgroups: (p) => linearWorkgroups(p.batch * p.features),
  },
  // A copy: exact.
  tolerance: () => ({ atol: 0, rtol: 0 }),
};
