/**
 * matmul's WebGPU kernels, behind the shared epilogue file: shaders/matmul.wgsl for every shape and its
 * vec4 variant shaders/matmul_vec4.wgsl (8×8 blocks of plain global loads, the defaults),
 * shaders/matmul_block.wgsl (smaller blocks: 4×4, 4×8, 8×4) and shaders/matmul_tiled.wgsl
 * (workgroup-memory tiles of 64×64 to 128×128) and its double-buffered twin
 * shaders/matmul_tiled_double.wgsl, each in several workgroup shapes: the autotuner's
 * candidates. They sum every output in the same order, so they compute the same bits (tested here,
 * and checked on each device by the autotuner); each is checked against matmulReference(). Each also
 * has an Adam twin (`adamTwin`): the same main file behind shaders/matmul_adam_epilogue.wgsl.
 */
import { dropoutWords } from '../kernels/dropout-words.js';
import {
  ACTIVATION_CODE,
  type BufferRef,
  f32Bits,
  type GpuKernel,
  joinWgsl,
  type WgslFile,
  type WgslSource,
} from '../kernels/gpu.js';
import { type MatmulParams, matmulSlots } from './matmul-layout.js';

/** An input or output slot of matmulSlots as a binding, null where the node has none. */
function ref(kind: 'in' | 'out', index: number | undefined): BufferRef {
  return index === undefined ? null : [kind, index];
}

/**
 * Storage bindings of both WGSL kernels (shaders/matmul_epilogue.wgsl), and the pointer slots of the
 * Wasm kernel's block, from matmulSlots: a, b, bias, aux, out (C or the parameter), out2 (the dropped
 * activation or the velocity), metrics, colsum. A bias update (WebGPU only: the Wasm kernel has none)
 * reuses the two slots an update leaves free, since 8 storage bindings is all a stage is guaranteed:
 * the bias's velocity in aux, the bias in colsum.
 */
export function matmulBindings(p: MatmulParams): BufferRef[] {
  const { inputs, outputs } = matmulSlots(p);
  return [
    ref('in', inputs.a),
    ref('in', inputs.b),
    ref('in', inputs.bias),
    outputs.biasVelocity === undefined ? ref('in', inputs.aux) : ref('out', outputs.biasVelocity),
    ref('out', outputs.out),
    ref('out', outputs.second),
    ref('in', inputs.metrics),
    ref('out', outputs.colsum ?? outputs.biasParam),
  ];
}

/**
 * Storage bindings of the kernels behind shaders/matmul_adam_epilogue.wgsl (a weight gradient with
 * Adam's step): a, b, W, its two moments, metrics, then the column sums or the bias, and the bias's
 * two moments (null without a bias update).
 */
export function adamMatmulBindings(p: MatmulParams): BufferRef[] {
  const { inputs, outputs } = matmulSlots(p);
  return [
    ref('in', inputs.a),
    ref('in', inputs.b),
    ref('out', outputs.out),
    ref('out', outputs.moment1),
    ref('out', outputs.moment2),
    ref('in', inputs.metrics),
    ref('out', outputs.colsum ?? outputs.biasParam),
    ref('out', outputs.biasMoment1),
    ref('out', outputs.biasMoment2),
  ];
}

/**
 * The storage buffers per shader stage that a kernel with Adam's step fused needs: one more than
 * WebGPU guarantees (8), so a device fuses it only where its limit allows (Device.fusesAdamUpdates).
 */
export const ADAM_UPDATE_STORAGE_BUFFERS = 9;

/** Output rows and columns per invocation (`Block` in matmul.wgsl, matmul_vec4.wgsl, matmul_tiled.wgsl). */
const BLOCK = { m: 8, n: 8 } as const;

/** What sets a kernel apart besides its file and workgroup shape. */
export interface MatmulKernelOptions {
  /** Rows and columns per invocation (matmul_block.wgsl's BlockM, BlockN); default 8×8. */
  readonly block?: { readonly m: number; readonly n: number };
  /** More override constants (e.g. matmul_tiled.wgsl's TileK), named in the variant as `name value`. */
  readonly overrides?: Readonly<Record<string, number>>;
}

/** Invocations per workgroup along N (x) and M (y): the `WorkgroupX`, `WorkgroupY` overrides. */
export interface WorkgroupShape {
  readonly x: number;
  readonly y: number;
}

const DEFAULT_WORKGROUP: WorkgroupShape = { x: 8, y: 8 };

/**
 * The workgroup shapes the autotuner times (src/webgpu/autotune.ts). All run the same per-invocation
 * code, so they compute the same bits; only the order in which blocks run, and so the memory traffic,
 * differs. Up to 256 invocations (the WebGPU default limit).
 */
export const WORKGROUP_SHAPES: readonly WorkgroupShape[] = [
  DEFAULT_WORKGROUP,
  { x: 16, y: 4 },
  { x: 4, y: 16 },
  { x: 16, y: 16 },
  { x: 32, y: 2 },
];

/**
 * Whether shaders/matmul_vec4.wgsl can run `p`: every operand it reads as vec4 has that dimension a
 * multiple of 4 (A [M, K] and B [N, K] along K, A [K, M] along M, B [K, N] along N). K % 4 may be
 * non-zero only when both are read across K (A [K, M] and B [K, N]: the weight gradient dYᵀ·X).
 */
export function matmulVec4Fits(p: Pick<MatmulParams, 'M' | 'N' | 'K' | 'transA' | 'transB'>): boolean {
  const aFits = p.transA ? p.M % 4 === 0 : p.K % 4 === 0;
  const bFits = p.transB ? p.K % 4 === 0 : p.N % 4 === 0;
  return aFits && bFits;
}

/**
 * One matmul kernel: a WGSL file with matmul.wgsl's interface (shaders/matmul.wgsl, its vec4 variant,
 * or an experiment of `npm run bench -- explore`) behind the shared epilogue, with a workgroup shape.
 */
export function matmulKernel(
  name: string,
  main: string | WgslFile,
  workgroup: WorkgroupShape,
  options: MatmulKernelOptions = {},
): GpuKernel<MatmulParams> {
  const wgsl = joinWgsl('philox', 'activation', 'sgd_step', 'matmul_acc', 'matmul_epilogue', main);
  const block = options.block ?? BLOCK;
  const extra = options.overrides ?? {};
  const blockOverrides = options.block ? { BlockM: block.m, BlockN: block.n } : {};
  const launch = { WorkgroupX: workgroup.x, WorkgroupY: workgroup.y, ...blockOverrides, ...extra };
  ADAM_PARTS.set(wgsl, { main, launch });
  const suffix =
    (options.block ? ` block ${block.m}x${block.n}` : '') +
    Object.entries(extra)
      .map(([key, value]) => ` ${key} ${value}`)
      .join('');
  return {
    name,
    variant: `${name} ${workgroup.x}x${workgroup.y}${suffix}`,
    wgsl,
    bind: matmulBindings,
    uniform: (p) =>
      Uint32Array.of(
        p.M,
        p.N,
        p.K,
        ...dropoutWords(p.dropout),
        f32Bits(p.update?.weightDecay ?? 0),
        f32Bits(p.biasUpdate?.weightDecay ?? 0),
      ),
    usesStep: true,
    overrides: (p) => ({
      TransA: Number(p.transA),
      TransB: Number(p.transB),
      HasBias: Number(p.bias),
      Activation: ACTIVATION_CODE[p.activation],
      ActivationGrad: ACTIVATION_CODE[p.activationGrad],
      Dropout: p.dropout ? (p.dropoutBackward ? 2 : 1) : 0,
      Update: p.update ? 1 : 0,
      HasMomentum: Number(p.update?.momentum ?? false),
      Nesterov: Number(p.update?.nesterov ?? false),
      ColSum: Number(p.colSum),
      BiasUpdate: Number(p.biasUpdate !== undefined),
      ...launch,
    }),
    workgroups: (p) =>
      [Math.ceil(p.N / (block.n * workgroup.x)), Math.ceil(p.M / (block.m * workgroup.y)), 1] as const,
  };
}

/** What `adamTwin` takes from a kernel made by `matmulKernel`, by its WGSL (which a spread keeps). */
const ADAM_PARTS = new WeakMap<WgslSource, { main: string | WgslFile; launch: Record<string, number> }>();
const ADAM_TWINS = new WeakMap<GpuKernel<MatmulParams>, GpuKernel<MatmulParams>>();

/**
 * `kernel` (made by `matmulKernel`) with Adam's weight-gradient step: its main file behind
 * shaders/matmul_adam_epilogue.wgsl instead of matmul_epilogue.wgsl, in the same launch shape, under
 * the same name and variant (it is the same candidate, timed as the plain product is: Tuning.plain).
 */
export function adamTwin(kernel: GpuKernel<MatmulParams>): GpuKernel<MatmulParams> {
  const known = ADAM_TWINS.get(kernel);
  if (known) return known;
  const parts = ADAM_PARTS.get(kernel.wgsl);
  if (!parts) throw new RangeError(`${kernel.variant}: not a kernel of matmulKernel()`);
  const twin: GpuKernel<MatmulParams> = {
    ...kernel,
    wgsl: joinWgsl('adam_step', 'matmul_acc', 'matmul_adam_epilogue', parts.main),
    bind: adamMatmulBindings,
    uniform: (p) =>
      Uint32Array.of(
        p.M,
        p.N,
        p.K,
        f32Bits(p.adamUpdate?.beta1 ?? 0),
        f32Bits(p.adamUpdate?.beta2 ?? 0),
        f32Bits(p.adamUpdate?.epsilon ?? 0),
        f32Bits(p.adamUpdate?.weightDecay ?? 0),
        f32Bits(p.biasUpdate?.weightDecay ?? 0),
      ),
    overrides: (p) => ({
      TransA: Number(p.transA),
      TransB: Number(p.transB),
      ColSum: Number(p.colSum),
      BiasUpdate: Number(p.biasUpdate !== undefined),
      ...parts.launch,
    }),
  };
  ADAM_TWINS.set(kernel, twin);
  return twin;
}

export const SCALAR_KERNELS = WORKGROUP_SHAPES.map((shape) => matmulKernel('matmul', 'matmul', shape));
const VEC4_KERNELS = WORKGROUP_SHAPES.map((shape) => matmulKernel('matmul_vec4', 'matmul_vec4', shape));

/** Workgroup shapes of the small-block kernels: more invocations per workgroup than 8×8 too. */
const BLOCK_SHAPES: readonly WorkgroupShape[] = [DEFAULT_WORKGROUP, { x: 16, y: 16 }, { x: 16, y: 4 }];

/**
 * shaders/matmul_block.wgsl's 4×8, 8×4 and 4×4 blocks (rows × columns; the autotuner's first stage
 * times 4×8 in 8×8 workgroups, its second every block and shape): for shapes whose 8×8 grid leaves a
 * GPU idle. Needs what matmul_vec4.wgsl needs. Not timed on SwiftShader (slowOn); timed on lavapipe,
 * where 4×8 ran up to 1.4× faster than matmul_vec4 8×8 on the MLP's shapes (docs/performance.md).
 */
export const BLOCK_KERNELS = [
  { m: 4, n: 8 },
  { m: 8, n: 4 },
  { m: 4, n: 4 },
].flatMap((block) =>
  BLOCK_SHAPES.map((shape) => ({
    ...matmulKernel('matmul_block', 'matmul_block', shape, { block }),
    slowOn: ['swiftshader', 'other'] as const,
  })),
);

/** The tiled kernels are not timed on any CPU adapter (see `GpuKernel.slowOn`). */
const TILES_SLOW_ON = ['swiftshader', 'llvmpipe', 'other'] as const;

/**
 * shaders/matmul_tiled.wgsl: tiles of (8·y) × (8·x) — 64×64, 128×64, 64×128, 128×128 — staged TileK
 * = 16 (or 32) k at a time; at most 16 KiB of workgroup memory, WebGPU's guaranteed minimum. Any shape.
 */
export const TILED_KERNELS = [
  [{ x: 8, y: 8 }, 16],
  [{ x: 8, y: 8 }, 32],
  [{ x: 16, y: 8 }, 16],
  [{ x: 8, y: 16 }, 16],
  [{ x: 16, y: 16 }, 16],
].map(([shape, tileK]) => ({
  ...matmulKernel('matmul_tiled', 'matmul_tiled', shape as WorkgroupShape, {
    overrides: { TileK: tileK as number },
  }),
  slowOn: TILES_SLOW_ON,
}));

/**
 * shaders/matmul_tiled_double.wgsl: matmul_tiled.wgsl's 64×64 tile with the next K-tile staged into a
 * second buffer during the arithmetic (one barrier per K-tile). Doubled tiles take 16 KiB at TileK 16
 * (8 KiB at 8): only the 8×8 workgroup fits WebGPU's guaranteed 16 KiB. Any shape.
 */
export const DOUBLE_TILED_KERNELS = [16, 8].map((tileK) => ({
  ...matmulKernel('matmul_tiled_double', 'matmul_tiled_double', DEFAULT_WORKGROUP, {
    overrides: { TileK: tileK },
  }),
  slowOn: TILES_SLOW_ON,
}));

const GPU_TILED = [...TILED_KERNELS, ...DOUBLE_TILED_KERNELS];
const ALL_KERNELS = [...VEC4_KERNELS, ...SCALAR_KERNELS, ...BLOCK_KERNELS, ...GPU_TILED];
const SCALAR_FITS = [...SCALAR_KERNELS, ...GPU_TILED];

/**
 * The kernels that may run `p`, the default first: the vec4 files where they fit (matmul_vec4, then
 * the small blocks), matmul.wgsl and the tiled kernel always, each in its workgroup shapes. They
 * compute the same bits (tested, and checked per device by the autotuner), so the choice is only
 * about speed. With Adam's step, their Adam twins, in the same order (what the tuner times for them is
 * the plain product's candidates, so both lists must line up).
 */
export function matmulCandidates(p: MatmulParams): readonly GpuKernel<MatmulParams>[] {
  const kernels = matmulVec4Fits(p) ? ALL_KERNELS : SCALAR_FITS;
  return p.adamUpdate ? kernels.map(adamTwin) : kernels;
}

/** Below this many multiply-adds a matmul is not timed: the timing would cost more than it saves. */
export const TUNE_MIN_MACS = 2 ** 22;
