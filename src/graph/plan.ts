/**
 * Buffer planning: every tensor gets a slot, once, at compile time. Tensors that outlive a step
 * (inputs, labels, parameters, optimizer state, outputs, datasets, and anything the caller asks to keep) get a
 * slot each; activations and gradients share slots by liveness, so a step allocates nothing.
 */
import { type DType, elementCount, type Graph } from '../ir/ir.js';

export interface Slot {
  readonly dtype: DType;
  /** Elements: the largest tensor ever placed in it. */
  readonly length: number;
  /** The tensors placed in it, for labels and debugging. */
  readonly tensors: readonly number[];
}

export interface BufferPlan {
  readonly slots: readonly Slot[];
  /** slotOf[tensorId] */
  readonly slotOf: readonly number[];
}

const PERSISTENT_ROLES = new Set([
  'input',
  'label',
  'parameter',
  'optimizer_state',
  'output',
  'metrics',
  'dataset',
]);

export function planBuffers(graph: Graph, keep: ReadonlySet<number> = new Set()): BufferPlan {
  const lastUse = new Map<number, number>();
  graph.nodes.forEach((node, index) => {
    for (const id of [...node.inputs, ...node.outputs]) lastUse.set(id, index);
  });

  const slots: { dtype: DType; length: number; tensors: number[] }[] = [];
  const slotOf: number[] = new Array(graph.tensors.length).fill(-1);
  const free: number[] = [];
  const place = (id: number, reuse: boolean): void => {
    const tensor = graph.get(id);
    const length = Math.max(1, elementCount(tensor.shape));
    const candidate = reuse ? bestFit(free, slots, tensor.dtype, length) : -1;
    let slot: number;
    if (candidate >= 0) {
      slot = free.splice(candidate, 1)[0] as number;
    } else {
      slot = slots.length;
      slots.push({ dtype: tensor.dtype, length: 0, tensors: [] });
    }
    const entry = slots[slot] as (typeof slots)[number];
    entry.length = Math.max(entry.length, length);
    entry.tensors.push(id);
    slotOf[id] = slot;
  };

  const isTransient = (id: number): boolean => !PERSISTENT_ROLES.has(graph.get(id).role) && !keep.has(id);
  for (const tensor of graph.tensors) if (!isTransient(tensor.id)) place(tensor.id, false);

  graph.nodes.forEach((node, index) => {
    for (const id of node.outputs) if (slotOf[id] === -1) place(id, true);
    // Freed only after this node's outputs are placed: a kernel never reads and writes one buffer.
    for (const id of new Set([...node.inputs, ...node.outputs])) {
      if (isTransient(id) && lastUse.get(id) === index) free.push(slotOf[id] as number);
    }
  });
  return { slots, slotOf };
}

/** Index in `free` of the smallest slot that holds `length` elements, else of the largest one; -1 if none. */
function bestFit(free: readonly number[], slots: readonly Slot[], dtype: DType, length: number): number {
  let best = -1;
  let bestLength = 0;
  free.forEach((slot, index) => {
    const candidate = slots[slot];
    if (!candidate || candidate.dtype !== dtype) return;
    const fits = candidate.length >= length;
    const bestFits = bestLength >= length;
    if (
      best < 0 ||
      (fits && (!bestFits || candidate.length < bestLength)) ||
      (!fits && !bestFits && candidate.length > bestLength)
    ) {
      best = index;
      bestLength = candidate.length;
    }
  });
  return best;
}
