/**
 * matmul's WebGPU kernels: shaders/matmul.wgsl for every shape and its vec4 variant
 * shaders/matmul_vec4.wgsl, each in several workgroup shapes (the autotuner's candidates), behind the
 * shared epilogue file. They compute the same bits; both are checked against matmulReference().
 */
import { dropoutWords } from '../kernels/dropout-words.js';
import {
  ACTIVATION_CODE,
  type BufferRef,
  f32Bits,
  type GpuKernel,
  joinWgsl,
  type WgslFile,
} from '../kernels/gpu.js';
import { type MatmulParams, matmulSlots } from './matmul-layout.js';

/**
 * Storage bindings of both WGSL kernels (shaders/matmul_epilogue.wgsl), and the pointer slots of the
 * Wasm kernel's block, from matmulSlots: a, b, bias, aux, out (C or the parameter), out2 (the dropped
 * activation or the velocity), metrics, colsum.
 */
export function matmulBindings(p: MatmulParams): BufferRef[] {
  const { inputs, outputs } = matmulSlots(p);
  const ref = (kind: 'in' | 'out', index: number | undefined): BufferRef =>
    index === undefined ? null : [kind, index];
  return [
    ref('in', inputs.a),
    ref('in', inputs.b),
    ref('in', inputs.bias),
    ref('in', inputs.aux),
    ref('out', outputs.out),
    ref('out', outputs.second),
    ref('in', inputs.metrics),
    ref('out', outputs.colsum),
  ];
}

/** Output rows and columns per invocation (`Block` in both WGSL files). */
const BLOCK = { m: 8, n: 8 } as const;

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
): GpuKernel<MatmulParams> {
  const wgsl = joinWgsl('philox', 'activation', 'sgd_step', 'matmul_epilogue', main);
  return {
    name,
    variant: `${name} ${workgroup.x}x${workgroup.y}`,
    wgsl,
    bind: matmulBindings,
    uniform: (p) =>
      Uint32Array.of(p.M, p.N, p.K, ...dropoutWords(p.dropout), f32Bits(p.update?.weightDecay ?? 0)),
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
      WorkgroupX: workgroup.x,
      WorkgroupY: workgroup.y,
    }),
    workgroups: (p) =>
      [Math.ceil(p.N / (BLOCK.n * workgroup.x)), Math.ceil(p.M / (BLOCK.m * workgroup.y)), 1] as const,
  };
}

export const SCALAR_KERNELS = WORKGROUP_SHAPES.map((shape) => matmulKernel('matmul', 'matmul', shape));
const VEC4_KERNELS = WORKGROUP_SHAPES.map((shape) => matmulKernel('matmul_vec4', 'matmul_vec4', shape));
const ALL_KERNELS = [...VEC4_KERNELS, ...SCALAR_KERNELS];

/**
 * The kernels that may run `p`, the default first: both files (the vec4 one where it fits), each in
 * every workgroup shape. They compute the same bits (tested), so the choice is only about speed.
 */
export function matmulCandidates(p: MatmulParams): readonly GpuKernel<MatmulParams>[] {
  return matmulVec4Fits(p) ? ALL_KERNELS : SCALAR_KERNELS;
}

/** Below this many multiply-adds a matmul is not timed: the timing would cost more than it saves. */
export const TUNE_MIN_MACS = 2 ** 22;
