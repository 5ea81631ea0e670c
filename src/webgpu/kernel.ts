/**
 * What an op needs to run on WebGPU: its WGSL (whole files joined, nothing spliced), the override
 * constants that fix its pipeline, the per-node uniform `params`, which buffers go to which
 * @binding, and the dispatch size. Pure data and arithmetic: no GPU objects here (see device.ts).
 *
 * Binding convention for every shader: storage buffers first, in the order `bind` returns them, then
 * the uniform `params`, then (when `usesStep`) the uniform `step` shared by all nodes of a program.
 */

/** A node's input i or output i; `null` binds a 4-byte placeholder for a binding the node does not use. */
export type BufferRef = readonly ['in' | 'out', number] | null;

export interface GpuKernel<P> {
  /** Names the shader module (its cache key) and the GPU labels; defaults to the op's name. */
  readonly name?: string;
  /** Names this kernel among its op's tuning candidates (the module plus its launch shape). */
  readonly variant?: string;
  readonly wgsl: string;
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
  /** Every kernel that can run `p`, each with a distinct `variant`; the first is the default. */
  candidates(p: P): readonly GpuKernel<P>[];
  /** `p` reduced to what `key` describes: what is timed. */
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

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The bits of `value` rounded to f32, for packing floats into a u32 uniform. */
export function f32Bits(value: number): number {
  F32[0] = value;
  return U32[0] as number;
}

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

/** Inputs then outputs, for kernels that write buffers they do not read. */
export function inputsThenOutputs(inputs: number, outputs: number): BufferRef[] {
  return [
    ...Array.from({ length: inputs }, (_, i) => ['in', i] as const),
    ...Array.from({ length: outputs }, (_, i) => ['out', i] as const),
  ];
}

/** Joins whole WGSL files (shared functions first). The only string work done on WGSL. */
export function joinWgsl(...files: string[]): string {
  return files.join('\n');
}

/** The `kind` numbers of shaders/activation.wgsl. */
export const ACTIVATION_CODE = { identity: 0, relu: 1, tanh: 2, sigmoid: 3 } as const;
