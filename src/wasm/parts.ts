/**
 * How many parts a node's calls run as on the Wasm pool (see pool.ts), fixed by the node's shape and
 * never by the thread count, and whether they are too small to share among threads. Kernels' results do
 * not depend on their parts, so neither rule changes a bit of the output.
 */
import type { BoundWasmKernel } from '../kernels/wasm.js';

/**
 * Work per part, in multiply-adds: ~50 µs on one core at the backend's matmul rate, long enough that a
 * claim (one atomic add) is noise and short enough that a worker descheduled mid-part delays the run
 * by little, on the largest products 16 parts.
 */
export const PART_WORK = 1 << 19;

/** The most parts of a call: enough to balance 2-4 threads; each part of a matmul packs its own panels. */
export const MAX_PARTS = 16;

/**
 * Below this much work a node's calls run on one thread. Measured (bench/wasm/split.ts, 2 cores): the
 * logits layer's products (K or N = 10 at batch 128, 1.3 M multiply-adds, ~100 µs) ran at half the
 * 1-thread rate when shared by 2 threads, statically or claimed, the wake-ups and barriers costing more
 * than the work saved; inline they match 1 thread. The next smallest products (100 M) gain from threads.
 */
export const INLINE_WORK = 1 << 21;

/** A memory-bound element costs about as much as this many multiply-adds of a matmul. */
const ELEMENT_WORK = 4;

/**
 * Approximate multiply-adds of a node: what its kernel says (a matmul: M·N·K), else ELEMENT_WORK per
 * element of its buffers (`elements`: the lengths of its bound buffers, summed).
 */
export function nodeWork(kernel: BoundWasmKernel, elements: number): number {
  return kernel.work ?? elements * ELEMENT_WORK;
}

/** The parts word of a node's calls (WasmPool.run): n parts, negated when the node is small. */
export function nodeParts(work: number): number {
  const parts = Math.min(MAX_PARTS, Math.max(1, Math.ceil(work / PART_WORK)));
  return work < INLINE_WORK ? -parts : parts;
}
