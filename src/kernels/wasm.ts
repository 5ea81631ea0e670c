/**
 * What an op needs to run on the Wasm backend: which exports of wasm/index.ts run it (phases, with a
 * barrier between them), which buffers go into its block, its parameter words, and its scratch memory.
 * Pure data and arithmetic: no Wasm objects here (see src/wasm/).
 *
 * Calling convention of every kernel export: `entry(block: usize, step: usize, part: i32, parts: i32)`.
 * `block` points at u32 words: one byte pointer per entry of `bind(p)` (0 for a `null` entry), then the
 * scratch pointer (0 without scratch), then the words of `params(p)`. `step` points at the step block:
 * step u32, lr f32, momentum f32, bias_correction1 f32, bias_correction2 f32 (as the WebGPU `step`
 * uniform). Every phase is called once for each part in [0, parts), possibly at the same time on
 * different threads; a part computes its share of the output, and the results must not depend on
 * `parts` (each output is computed by one part, in a fixed order).
 */
import type { BufferRef } from './bindings.js';

export interface WasmKernel<P> {
  /** Exports of wasm/index.ts run in order; every part finishes a phase before any starts the next. */
  readonly phases: readonly string[];
  /** The node's buffers, in the order the kernel reads their pointers from its block. */
  bind(p: P): readonly BufferRef[];
  /** The kernel's parameter words (u32; floats as their f32 bits, see `f32Bits`). */
  params(p: P): readonly number[];
  /** Bytes of scratch memory (e.g. packed panels) for `parts` parts; absent or 0: none. */
  scratch?(p: P, parts: number): number;
  /**
   * The node's cost in multiply-adds, which fixes how many parts it runs as (src/wasm/parts.ts);
   * absent: a memory-bound kernel, costed by the elements of its buffers.
   */
  work?(p: P): number;
}

/** A Wasm kernel with one node's parameters applied (see `WasmKernel`). */
export interface BoundWasmKernel {
  readonly phases: readonly string[];
  readonly bindings: readonly BufferRef[];
  readonly params: readonly number[];
  /** Bytes of scratch memory for `parts` parts. */
  scratch(parts: number): number;
  /** Multiply-adds, where the kernel says (`WasmKernel.work`). */
  readonly work?: number;
}

export function bindWasmKernel<P>(kernel: WasmKernel<P>, p: P): BoundWasmKernel {
  return {
    phases: kernel.phases,
    bindings: kernel.bind(p),
    params: kernel.params(p),
    scratch: (parts) => kernel.scratch?.(p, parts) ?? 0,
    ...(kernel.work ? { work: kernel.work(p) } : {}),
  };
}
