/**
 * What every op is: a name, the per-call parameters derived from a node and its tensors' shapes, a
 * plain-loop CPU reference, (for differentiable ops) a vector-Jacobian rule that appends the backward
 * nodes to the graph, and its kernel for each backend: shaders/<name>.wgsl for WebGPU, an export of
 * wasm/ for Wasm, each described as plain data (src/kernels/).
 */
import type { NumArray, Tolerance } from '../device/device.js';
import type { Graph, Node, OpName, StepContext } from '../ir/ir.js';
import type { GpuKernel } from '../kernels/gpu.js';
import type { WasmKernel } from '../kernels/wasm.js';

export type { NumArray, Tolerance } from '../device/device.js';

/** Gradients of a node's outputs (undefined: no gradient flows there). */
export type Grads = readonly (number | undefined)[];

export interface OpDef<O extends OpName, P> {
  readonly name: O;
  params(node: Node<O>, graph: Graph): P;
  reference(p: P, inputs: readonly NumArray[], outputs: readonly NumArray[], ctx: StepContext): void;
  /** The WebGPU kernel: shaders/<name>.wgsl and how to bind and dispatch it. */
  readonly kernel: GpuKernel<P>;
  /** The Wasm kernel: exports of wasm/index.ts and how to bind them. */
  readonly wasm?: WasmKernel<P>;
  /**
   * How far an f32 GPU result may be from this reference: |gpu − ref| ≤ atol + rtol·|ref| (docs/contracts.md, "Tolerances").
   * Used by the conformance tests and by validate mode.
   */
  tolerance(p: P): Tolerance;
  /**
   * Parameters that exercise each of the op's binding layouts and kernels: the tests that check every
   * op's descriptors against its WGSL and Wasm kernels iterate them.
   */
  readonly samples: readonly P[];
  /**
   * Appends the nodes computing the gradients of the node's inputs from the gradients of its outputs.
   * `needed[i]` says whether input i needs a gradient at all; returns one entry per input.
   */
  vjp?(graph: Graph, node: Node<O>, outputGrads: Grads, needed: readonly boolean[]): Grads;
}

/** About one f32 rounding (2^-23 ≈ 1.2e-7) of difference, from a different order of two roundings. */
export const ONE_ULP: Tolerance = { atol: 0, rtol: 2.4e-7 };

export function shapeOf(graph: Graph, id: number | undefined): readonly number[] {
  if (id === undefined) throw new RangeError('missing tensor id');
  return graph.get(id).shape;
}

export function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`index ${index} out of range (length ${items.length})`);
  return item;
}

/** Dropout attributes for ops' `samples`. */
export const SAMPLE_DROPOUT = { site: 1, keepProb: 0.5, seed: 1, stream: 0 } as const;
