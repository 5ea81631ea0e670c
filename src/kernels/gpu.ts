/**
 * What an op needs to run on WebGPU: its WGSL (whole files joined, nothing spliced), the override
 * constants that fix its pipeline, the per-node uniform `params`, which buffers go to which
 * @binding, and the dispatch size. Pure data and arithmetic: no GPU objects here (see src/webgpu/).
 *
 * Binding convention for every shader: storage buffers first, in the order `bind` returns them, then
 * the uniform `params`, then (when `usesStep`) the uniform `step` shared by all nodes of a program.
 */

import type { BufferRef } from './bindings.js';

export { type BufferRef, f32Bits, inputsThenOutputs } from './bindings.js';

/**
 * The CPU emulations of a GPU that an adapter's name gives away (webgpu/autotune.ts `cpuAdapterOf`):
 * SwiftShader, Mesa's llvmpipe (lavapipe) and any other software renderer.
 */
export type CpuAdapter = 'swiftshader' | 'llvmpipe' | 'other';

export interface GpuKernel<P> {
  /** Names the shader module (its cache key) and the GPU labels; defaults to the op's name. */
  readonly name?: string;
  /** Names this kernel among its op's tuning candidates (the module plus its launch shape). */
  readonly variant?: string;
  /**
   * CPU adapters on which the autotuner does not time this candidate: it runs there at half the
   * default's speed or less (small blocks, workgroup-memory tiles on SwiftShader: docs/performance.md,
   * "On CPU adapters"), and each pipeline costs a second or so to compile, which every compile would
   * pay. Its bits are still tested there. Absent: timed everywhere.
   */
  readonly slowOn?: readonly CpuAdapter[];
  readonly wgsl: WgslSource;
  bind(p: P): readonly BufferRef[];
  uniform(p: P): Uint32Array;
  readonly usesStep: boolean;
  overrides?(p: P): Record<string, number>;
  workgroups(p: P): readonly [number, number, number];
  /**
   * The kernel that runs a node with these parameters: a fast variant of the same op (its own WGSL,
   * checked against the same reference) or this kernel. Absent: always this kernel.
   */
  select?(p: P): GpuKernel<P>;
  /** Present when several kernels can run a node and the fastest depends on the adapter. */
  readonly tuning?: Tuning<P>;
}

/**
 * How the autotuner (autotune.ts) chooses among kernels that compute the same bits: it times each
 * candidate on scratch buffers, once per adapter and `key`, and remembers the fastest's `variant`.
 */
export interface Tuning<P> {
  /** Whether `p` is big enough that timing its candidates costs less than it may save. */
  worthTiming(p: P): boolean;
  /** What the candidates' speeds depend on (e.g. shape and layout, not the epilogue). */
  key(p: P): string;
  /**
   * Every kernel that can run `p`, each with a distinct `variant`; the first is the default. As many,
   * in the same order, as for `plain(p)`: what is timed for the i-th is the i-th of those.
   */
  candidates(p: P): readonly GpuKernel<P>[];
  /** `p` reduced to what `key` describes: what is timed (with `candidates(plain(p))`). */
  plain(p: P): P;
  /** Element count of each storage binding's scratch buffer when timing `plain(p)` (0: unused). */
  scratch(p: P): readonly number[];
}

/** The kernel that runs a node with parameters `p`: `kernel.select(p)` when it has one. */
export function kernelFor<P>(kernel: GpuKernel<P>, p: P): GpuKernel<P> {
  return kernel.select?.(p) ?? kernel;
}

/**
 * Bytes of the `step` uniform: struct Step { step: u32, lr: f32, momentum: f32, bias_correction1: f32,
 * bias_correction2: f32 } (shaders that need only the first fields declare only those), padded to 32.
 */
export const STEP_UNIFORM_BYTES = 32;

/** Invocations per workgroup of the 1-D kernels (`override WorkgroupSize` in their WGSL). */
export const ELEMENTWISE_WORKGROUP = 256;
const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * Workgroups for `count` invocations of a 1-D kernel. Past 65535 workgroups the grid folds into y;
 * the WGSL recovers the index as gid.x + gid.y · (num_workgroups.x · WorkgroupSize).
 */
export function linearWorkgroups(
  count: number,
  workgroupSize = ELEMENTWISE_WORKGROUP,
): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / workgroupSize));
  if (groups <= MAX_WORKGROUPS_PER_DIMENSION) return [groups, 1, 1];
  return [MAX_WORKGROUPS_PER_DIMENSION, Math.ceil(groups / MAX_WORKGROUPS_PER_DIMENSION), 1];
}

/**
 * Workgroups for one invocation per row (or column) of a kernel that indexes by gid.x alone: never
 * folded, so a count past the device's per-dimension limit is refused at compile (WebGpuDevice.check).
 */
export function rowWorkgroups(count: number, workgroupSize: number): [number, number, number] {
  return [Math.max(1, Math.ceil(count / workgroupSize)), 1, 1];
}

/** One WGSL file: its name (for error messages) and its text. */
export interface WgslFile {
  readonly name: string;
  readonly code: string;
}

/** WGSL joined from whole files, with where each file starts, so a compile error can name file:line. */
export interface WgslSource {
  readonly code: string;
  readonly files: readonly { readonly name: string; readonly firstLine: number; readonly lines: number }[];
}

const SHADERS = import.meta.glob<string>('../../shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** shaders/<name>.wgsl. */
export function shader(name: string): WgslFile {
  const code = SHADERS[`../../shaders/${name}.wgsl`];
  if (code === undefined) throw new RangeError(`no shader shaders/${name}.wgsl`);
  return { name: `${name}.wgsl`, code };
}

/**
 * Joins whole WGSL files (shared functions first): names of shaders/ files, or files given as they are
 * (experiments of `npm run bench -- explore`). The only string work done on WGSL.
 */
export function joinWgsl(...files: (string | WgslFile)[]): WgslSource {
  const parts = files.map((file) => (typeof file === 'string' ? shader(file) : file));
  let firstLine = 1;
  const placed = parts.map(({ name, code }) => {
    const lines = code.split('\n').length;
    const entry = { name, firstLine, lines };
    firstLine += lines;
    return entry;
  });
  return { code: parts.map((part) => part.code).join('\n'), files: placed };
}

/** Where line `line` (1-based) of joined WGSL comes from, as `file.wgsl:line`. */
export function sourceLine(source: WgslSource, line: number): string {
  const file = source.files.find((f) => line >= f.firstLine && line < f.firstLine + f.lines);
  return file ? `${file.name}:${line - file.firstLine + 1}` : `line ${line}`;
}

/** The `kind` numbers of shaders/activation.wgsl. */
export const ACTIVATION_CODE = { identity: 0, relu: 1, tanh: 2, sigmoid: 3 } as const;

/**
 * A kernel with one node's parameters applied: everything a device needs to build its pipeline and
 * bind group, as plain values (the device never sees the op's parameter type).
 */
export interface BoundGpuKernel {
  /** Names the shader module in GPU labels and error messages. */
  readonly name: string;
  /** Names this kernel among its op's candidates (the module plus its launch shape). */
  readonly variant: string;
  /** See `GpuKernel.slowOn`. */
  readonly slowOn?: readonly CpuAdapter[];
  readonly wgsl: WgslSource;
  readonly bindings: readonly BufferRef[];
  readonly uniform: Uint32Array;
  readonly usesStep: boolean;
  readonly overrides: Readonly<Record<string, number>>;
  readonly workgroups: readonly [number, number, number];
}

/** The choice among interchangeable kernels of one node (see `Tuning`), bound to its parameters. */
export interface BoundTuning {
  /** What the candidates' speeds depend on (e.g. shape and layout). */
  readonly key: string;
  readonly worthTiming: boolean;
  /** Every kernel that can run the node, the default first. */
  readonly candidates: readonly BoundGpuKernel[];
  /** The plain form's candidates (the same for most nodes) bound to it: what the autotuner times. */
  readonly timed: readonly BoundGpuKernel[];
  /** Element count of each storage binding's scratch buffer when timing (0: unused). */
  readonly scratch: readonly number[];
}

/** `kernel` (or the variant it selects) bound to `p`, with its tuning candidates if it has any. */
export function bindGpuKernel<P>(
  op: string,
  kernel: GpuKernel<P>,
  p: P,
): { readonly kernel: BoundGpuKernel; readonly tuning: BoundTuning | undefined } {
  const bound = (chosen: GpuKernel<P>, q: P): BoundGpuKernel => ({
    name: chosen.name ?? op,
    variant: chosen.variant ?? chosen.name ?? op,
    ...(chosen.slowOn ? { slowOn: chosen.slowOn } : {}),
    wgsl: chosen.wgsl,
    bindings: chosen.bind(q),
    uniform: chosen.uniform(q),
    usesStep: chosen.usesStep,
    overrides: chosen.overrides?.(q) ?? {},
    workgroups: chosen.workgroups(q),
  });
  const tuning = kernel.tuning;
  if (!tuning) return { kernel: bound(kernelFor(kernel, p), p), tuning: undefined };
  const candidates = tuning.candidates(p);
  const plain = tuning.plain(p);
  // The plain form's own kernels: a candidate whose epilogue needs other buffers or WGSL (matmul's
  // Adam twins) is timed as the product it computes, which is what its speed depends on.
  const plainCandidates = tuning.candidates(plain);
  if (plainCandidates.length !== candidates.length)
    throw new RangeError(`${op}: ${candidates.length} candidates but ${plainCandidates.length} to time`);
  return {
    kernel: bound(kernelFor(kernel, p), p),
    tuning: {
      key: tuning.key(p),
      worthTiming: tuning.worthTiming(p),
      candidates: candidates.map((candidate) => bound(candidate, p)),
      timed: plainCandidates.map((candidate) => bound(candidate, plain)),
      scratch: tuning.scratch(p),
    },
  };
}
