/**
 * matmul: C[M,N] = Σ_k opA[m,k]·opB[k,n], f32 row-major. A is stored [M,K] ([K,M] when transA), B is
 * stored [K,N] ([N,K] when transB). An MLP layer with PyTorch's weight layout W [O,I] uses all three
 * forms: Y = X·Wᵀ (transB), dX = dY·W, dW = dYᵀ·X (transA).
 *
 * The fusion pass (graph/fuse.ts) gives it an epilogue: bias + activation + dropout in the forward
 * pass (one dispatch per layer), mask + activation derivative in the backward pass. The order of the
 * epilogue's steps is spelled out in shaders/matmul_epilogue.wgsl and followed exactly below.
 *
 * Two kernels, one arithmetic: shaders/matmul.wgsl for every shape, and its variant
 * shaders/matmul_vec4.wgsl (vec4 loads along each operand's contiguous dimension) where the dimensions
 * it reads as vec4 are multiples of 4. Both join the same epilogue file, which also fixes the order of
 * the sums, so they give the same bits; both are checked against the same reference below. Which one
 * runs, in which workgroup shape, is what the autotuner (src/webgpu/autotune.ts) measured fastest on
 * the adapter (default: vec4 where it fits, 8×8); the choice never changes a result.
 */
import { type Activation, type DropoutAttrs, plainStep, type SgdUpdate, type StepContext } from '../ir/ir.js';
import { dropoutWords } from '../kernels/dropout-words.js';
import {
  ACTIVATION_CODE,
  type BufferRef,
  f32Bits,
  type GpuKernel,
  joinWgsl,
  type WgslFile,
} from '../kernels/gpu.js';
import { keepThreshold, keptAt, seedKey } from '../rng/philox.js';
import { derivativeFromOutput } from './act-grad.js';
import { activationReference } from './bias-act.js';
import { at, type Grads, type NumArray, type OpDef, SAMPLE_DROPOUT, shapeOf } from './op.js';
import { sgdReference } from './sgd.js';
import { matmulWasm } from './wasm/matmul.js';

/** A matmul without epilogue: the defaults of the optional attributes. */
export const PLAIN_EPILOGUE = {
  bias: false,
  activation: 'identity',
  activationGrad: 'identity',
  dropoutBackward: false,
  colSum: false,
} as const satisfies Partial<MatmulParams>;

export interface MatmulParams {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  bias: boolean;
  activation: Activation;
  activationGrad: Activation;
  dropout?: DropoutAttrs;
  dropoutBackward: boolean;
  /** The SGD step on the parameter this matmul is the gradient of (see MatmulAttrs.update). */
  update?: SgdUpdate;
  colSum: boolean;
}

/** The epilogue attributes that decide which buffers a matmul node has (MatmulAttrs and MatmulParams). */
type EpilogueShape = {
  readonly bias?: boolean | undefined;
  readonly activationGrad?: Activation | undefined;
  readonly dropout?: DropoutAttrs | undefined;
  readonly dropoutBackward?: boolean | undefined;
  readonly update?: SgdUpdate | undefined;
  readonly colSum?: boolean | undefined;
};

/**
 * Where each of a matmul node's buffers sits among its inputs and outputs: the one definition of that
 * layout, used by the reference, the kernels' bindings and the fusion passes. Inputs: a, b, then the
 * bias and the activation's output `aux` (epilogues), or the parameter, metrics and velocity (update).
 * Outputs: `out` (C, or the updated parameter), `second` (the dropped activation, or the velocity),
 * then the column sums.
 */
export interface MatmulSlots {
  readonly inputs: {
    readonly a: 0;
    readonly b: 1;
    readonly bias?: number;
    readonly aux?: number;
    readonly param?: number;
    readonly metrics?: number;
    readonly velocity?: number;
  };
  readonly outputs: { readonly out: 0; readonly second?: number; readonly colsum?: number };
}

export function matmulSlots(p: EpilogueShape): MatmulSlots {
  const inputs: Record<string, number> = { a: 0, b: 1 };
  let next = 2;
  if (p.update) {
    inputs.param = next++;
    inputs.metrics = next++;
    if (p.update.momentum) inputs.velocity = next++;
  } else {
    if (p.bias) inputs.bias = next++;
    if (p.activationGrad && p.activationGrad !== 'identity') inputs.aux = next++;
  }
  const outputs: Record<string, number> = { out: 0 };
  let out = 1;
  if ((p.dropout && !p.dropoutBackward) || p.update?.momentum) outputs.second = out++;
  if (p.colSum) outputs.colsum = out++;
  return { inputs, outputs } as unknown as MatmulSlots;
}

/** A matmul node's input and output tensor ids, ordered by `matmulSlots` from named ids. */
export function matmulOperands(
  p: EpilogueShape,
  named: { [K in keyof MatmulSlots['inputs'] | keyof MatmulSlots['outputs']]?: number | undefined },
): { inputs: number[]; outputs: number[] } {
  const slots = matmulSlots(p);
  const place = (table: Record<string, number | undefined>): number[] => {
    const ids: number[] = [];
    for (const [name, index] of Object.entries(table)) {
      const id = named[name as keyof typeof named];
      if (index === undefined) continue;
      if (id === undefined) throw new RangeError(`matmul: no tensor for its ${name}`);
      ids[index] = id;
    }
    return ids;
  };
  return { inputs: place(slots.inputs), outputs: place(slots.outputs) };
}

// WGSL twin: shaders/matmul.wgsl
// WGSL twin: shaders/matmul_vec4.wgsl
/**
 * Plain loops, accumulating in double precision, then the epilogue one element at a time. Every
 * element sums its K products in order k = 0, 1, …; the loop nest only decides which index runs
 * innermost, so that the innermost loop reads consecutive memory (a dot product of two rows when B is
 * stored transposed, else a row of B scaled into a row of sums).
 */
export function matmulReference(
  p: MatmulParams,
  inputs: readonly NumArray[],
  outputs: readonly NumArray[],
  ctx: StepContext = plainStep(),
): void {
  const { M, N, K } = p;
  const slots = matmulSlots(p);
  const input = (index: number | undefined) => (index === undefined ? undefined : inputs[index]);
  const A = inputs[slots.inputs.a] as NumArray;
  const B = inputs[slots.inputs.b] as NumArray;
  const bias = input(slots.inputs.bias);
  const y = input(slots.inputs.aux);
  const C = outputs[slots.outputs.out] as NumArray;
  const dropped = p.update || slots.outputs.second === undefined ? undefined : outputs[slots.outputs.second];
  const key = p.dropout ? seedKey(p.dropout.seed) : [0, 0];
  const threshold = p.dropout ? keepThreshold(p.dropout.keepProb) : null;
  const scale = p.dropout ? 1 / p.dropout.keepProb : 1;
  const kept = (i: number) =>
    keptAt(key, ctx.step, p.dropout?.site ?? 0, p.dropout?.stream ?? 0, threshold, i);
  const opA = (m: number, k: number) => (p.transA ? (A[k * M + m] as number) : (A[m * K + k] as number));
  // With an update, each row of sums is row m of the parameter's gradient, handed to the SGD
  // reference on row m of the parameter (and velocity): the gradient is never stored, as on the GPU.
  const [param, metrics, velocity] = [slots.inputs.param, slots.inputs.metrics, slots.inputs.velocity].map(
    input,
  );
  const update = p.update && { length: N, ...p.update };
  const sums = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    sums.fill(0);
    if (p.transB) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += opA(m, k) * (B[n * K + k] as number);
        sums[n] = sum;
      }
    } else {
      for (let k = 0; k < K; k++) {
        const aValue = opA(m, k);
        for (let n = 0; n < N; n++) sums[n] = (sums[n] as number) + aValue * (B[k * N + n] as number);
      }
    }
    if (update) {
      const row = (array: NumArray) => array.subarray(m * N, (m + 1) * N);
      const state = velocity ? [row(velocity)] : [];
      sgdReference(update, [row(param as NumArray), sums, metrics as NumArray, ...state], [], ctx);
      continue;
    }
    for (let n = 0; n < N; n++) {
      let sum = sums[n] as number;
      const i = m * N + n;
      if (bias) sum += bias[n] as number;
      if (p.dropout && p.dropoutBackward) sum = kept(i) ? sum * scale : 0;
      if (y) sum *= derivativeFromOutput(p.activationGrad, y[i] as number);
      C[i] = activationReference(p.activation, sum);
      if (dropped) dropped[i] = kept(i) ? (C[i] as number) * scale : 0;
    }
  }
  if (p.colSum) {
    const colsum = outputs[slots.outputs.colsum as number] as NumArray;
    for (let m = 0; m < M; m++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += opA(m, k);
      colsum[m] = sum;
    }
  }
}

/**
 * Storage bindings of both kernels (shaders/matmul_epilogue.wgsl): a, b, bias, aux, out, out2, metrics,
 * colsum. Inputs: a, b, then bias, aux, or (update) the parameter, metrics and velocity. Outputs: C or
 * the parameter, the dropped activation or the velocity, then the column sums.
 */
function bindings(p: MatmulParams): BufferRef[] {
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
    bind: bindings,
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

const SCALAR_KERNELS = WORKGROUP_SHAPES.map((shape) => matmulKernel('matmul', 'matmul', shape));
const VEC4_KERNELS = WORKGROUP_SHAPES.map((shape) => matmulKernel('matmul_vec4', 'matmul_vec4', shape));
const ALL_KERNELS = [...VEC4_KERNELS, ...SCALAR_KERNELS];

/**
 * The kernels that may run `p`, the default first: both files (the vec4 one where it fits), each in
 * every workgroup shape. They compute the same bits (tested), so the choice is only about speed.
 */
function matmulCandidates(p: MatmulParams): readonly GpuKernel<MatmulParams>[] {
  return matmulVec4Fits(p) ? ALL_KERNELS : SCALAR_KERNELS;
}

/** Below this many multiply-adds a matmul is not timed: the timing would cost more than it saves. */
const TUNE_MIN_MACS = 2 ** 22;

export const matmul: OpDef<'matmul', MatmulParams> = {
  name: 'matmul',
  samples: [
    // K % 4 == 0, forward layout: the vec4 variant.
    {
      M: 3,
      N: 4,
      K: 8,
      transA: false,
      transB: true,
      bias: true,
      activation: 'relu',
      activationGrad: 'identity',
      dropout: SAMPLE_DROPOUT,
      dropoutBackward: false,
      colSum: false,
    },
    {
      M: 3,
      N: 4,
      K: 5,
      transA: false,
      transB: true,
      bias: true,
      activation: 'relu',
      activationGrad: 'identity',
      dropout: SAMPLE_DROPOUT,
      dropoutBackward: false,
      colSum: false,
    },
    {
      M: 3,
      N: 4,
      K: 5,
      transA: false,
      transB: false,
      bias: false,
      activation: 'identity',
      activationGrad: 'tanh',
      dropout: SAMPLE_DROPOUT,
      dropoutBackward: true,
      colSum: false,
    },
    // The weight gradient with the SGD update and the bias gradient fused: scalar, then vec4.
    {
      M: 3,
      N: 4,
      K: 5,
      transA: true,
      transB: false,
      bias: false,
      activation: 'identity',
      activationGrad: 'identity',
      dropoutBackward: false,
      update: { momentum: true, nesterov: false, weightDecay: 0.1 },
      colSum: true,
    },
    {
      M: 8,
      N: 4,
      K: 5,
      transA: true,
      transB: false,
      bias: false,
      activation: 'identity',
      activationGrad: 'identity',
      dropoutBackward: false,
      update: { momentum: true, nesterov: false, weightDecay: 0.1 },
      colSum: true,
    },
  ],
  params(node, graph) {
    const a = shapeOf(graph, node.inputs[0]);
    const b = shapeOf(graph, node.inputs[1]);
    const { transA, transB } = node.attrs;
    const M = at(a, transA ? 1 : 0);
    const K = at(a, transA ? 0 : 1);
    const N = at(b, transB ? 0 : 1);
    const kB = at(b, transB ? 1 : 0);
    if (kB !== K) throw new RangeError(`${node.name}: inner dimensions differ (${K} vs ${kB})`);
    const { dropout, update } = node.attrs;
    const epilogue = node.attrs.bias || node.attrs.activation || node.attrs.activationGrad || dropout;
    if (update && epilogue) throw new RangeError(`${node.name}: an update epilogue stands alone`);
    return {
      M,
      N,
      K,
      transA,
      transB,
      bias: node.attrs.bias ?? PLAIN_EPILOGUE.bias,
      activation: node.attrs.activation ?? PLAIN_EPILOGUE.activation,
      activationGrad: node.attrs.activationGrad ?? PLAIN_EPILOGUE.activationGrad,
      ...(dropout ? { dropout } : {}),
      dropoutBackward: node.attrs.dropoutBackward ?? PLAIN_EPILOGUE.dropoutBackward,
      ...(update ? { update } : {}),
      colSum: node.attrs.colSum ?? PLAIN_EPILOGUE.colSum,
    };
  },
  reference: matmulReference,
  wasm: matmulWasm,
  kernel: {
    ...(SCALAR_KERNELS[0] as GpuKernel<MatmulParams>),
    select: (p) => matmulCandidates(p)[0] as GpuKernel<MatmulParams>,
    tuning: {
      worthTiming: (p) => p.M * p.N * p.K >= TUNE_MIN_MACS,
      // Speed depends on the shape and layout; the epilogue adds the same work to every candidate.
      key: (p) => `${p.M}x${p.N}x${p.K}${p.transA ? ' transA' : ''}${p.transB ? ' transB' : ''}`,
      candidates: matmulCandidates,
      plain: (p) => ({ M: p.M, N: p.N, K: p.K, transA: p.transA, transB: p.transB, ...PLAIN_EPILOGUE }),
      scratch: (p) => [p.M * p.K, p.K * p.N, 0, 0, p.M * p.N, 0, 0, 0],
    },
  },
  // f32 accumulation of K products against a double-precision sum (docs/contracts.md, "Tolerances": rtol ~1e-5).
  tolerance: (p) => ({ atol: 1e-6 * Math.sqrt(p.K), rtol: 1e-5 }),
  vjp(graph, node, [dC], needed): Grads {
    if (dC === undefined) return [undefined, undefined];
    const [a, b] = node.inputs as [number, number];
    const { transA, transB } = node.attrs;
    const gradA = `grad(${graph.get(a).name})`;
    const gradB = `grad(${graph.get(b).name})`;
    const shapeA = graph.get(a).shape;
    const shapeB = graph.get(b).shape;
    // dA = dC·op(B)ᵀ, laid out as A is; dB = op(A)ᵀ·dC, laid out as B is.
    const dA = !needed[0]
      ? undefined
      : transA
        ? graph.apply('matmul', gradA, [b, dC], { transA: transB, transB: true }, shapeA, 'gradient')
        : graph.apply('matmul', gradA, [dC, b], { transA: false, transB: !transB }, shapeA, 'gradient');
    const dB = !needed[1]
      ? undefined
      : transB
        ? graph.apply('matmul', gradB, [dC, a], { transA: true, transB: transA }, shapeB, 'gradient')
        : graph.apply('matmul', gradB, [a, dC], { transA: !transA, transB: false }, shapeB, 'gradient');
    return [dA, dB];
  },
};
