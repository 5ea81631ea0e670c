/**
 * matmul: C[M,N] = Σ_k opA[m,k]·opB[k,n], f32 row-major. A is stored [M,K] ([K,M] when transA), B is
 * stored [K,N] ([N,K] when transB). An MLP layer with PyTorch's weight layout W [O,I] uses all three
 * forms: Y = X·Wᵀ (transB), dX = dY·W, dW = dYᵀ·X (transA).
 *
 * The fusion pass (graph/fuse.ts) gives it an epilogue: bias + activation + dropout in the forward
 * pass (one dispatch per layer), mask + activation derivative in the backward pass. The order of the
 * epilogue's steps is spelled out in shaders/matmul_epilogue.wgsl and followed exactly below.
 *
 * Two kernels, one semantics: shaders/matmul.wgsl for every layout, and its fast variant
 * shaders/matmul_vec4.wgsl (vec4 loads along K) for the forward Y = X·Wᵀ when K % 4 == 0. Both join
 * the same epilogue file and are checked against the same reference below.
 */
import activationWgsl from '../../shaders/activation.wgsl?raw';
import matmulWgsl from '../../shaders/matmul.wgsl?raw';
import matmulEpilogueWgsl from '../../shaders/matmul_epilogue.wgsl?raw';
import matmulVec4Wgsl from '../../shaders/matmul_vec4.wgsl?raw';
import philoxWgsl from '../../shaders/philox.wgsl?raw';
import type { Activation, DropoutAttrs } from '../graph/ir.js';
import { keepThreshold, keptAt, seedKey } from '../rng/philox.js';
import { dropoutWords } from '../webgpu/dropout-uniform.js';
import { ACTIVATION_CODE, type BufferRef, type GpuKernel, joinWgsl } from '../webgpu/kernel.js';
import { derivativeFromOutput } from './act-grad.js';
import { activationReference } from './bias-act.js';
import { at, type Grads, type NumArray, type OpDef, shapeOf } from './op.js';

/** A matmul without epilogue: the defaults of the optional attributes. */
export const PLAIN_EPILOGUE = {
  bias: false,
  activation: 'identity',
  activationGrad: 'identity',
  dropoutBackward: false,
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
  ctx: { step: number } = { step: 0 },
): void {
  const { M, N, K } = p;
  const A = inputs[0] as NumArray;
  const B = inputs[1] as NumArray;
  const bias = p.bias ? inputs[2] : undefined;
  const y = p.activationGrad !== 'identity' ? inputs[p.bias ? 3 : 2] : undefined;
  const C = outputs[0] as NumArray;
  const dropped = p.dropout && !p.dropoutBackward ? outputs[1] : undefined;
  const key = p.dropout ? seedKey(p.dropout.seed) : [0, 0];
  const threshold = p.dropout ? keepThreshold(p.dropout.keepProb) : null;
  const scale = p.dropout ? 1 / p.dropout.keepProb : 1;
  const kept = (i: number) =>
    keptAt(key, ctx.step, p.dropout?.site ?? 0, p.dropout?.stream ?? 0, threshold, i);
  const sums = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    sums.fill(0);
    if (p.transB) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const aValue = p.transA ? (A[k * M + m] as number) : (A[m * K + k] as number);
          sum += aValue * (B[n * K + k] as number);
        }
        sums[n] = sum;
      }
    } else {
      for (let k = 0; k < K; k++) {
        const aValue = p.transA ? (A[k * M + m] as number) : (A[m * K + k] as number);
        for (let n = 0; n < N; n++) sums[n] = (sums[n] as number) + aValue * (B[k * N + n] as number);
      }
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
}

function bindings(p: MatmulParams): BufferRef[] {
  let input = 2;
  const bias: BufferRef = p.bias ? ['in', input++] : null;
  const aux: BufferRef = p.activationGrad !== 'identity' ? ['in', input++] : null;
  const dropped: BufferRef = p.dropout && !p.dropoutBackward ? ['out', 1] : null;
  return [['in', 0], ['in', 1], bias, aux, ['out', 0], dropped];
}

/** Output rows and columns per invocation (`Block` in the WGSL), and the workgroup shape. */
const BLOCK = { m: 8, n: 8 } as const;
const WORKGROUP = { x: 8, y: 8 } as const;

/** The overrides both kernels have: the epilogue's and the workgroup shape. */
function sharedOverrides(p: MatmulParams): Record<string, number> {
  return {
    HasBias: Number(p.bias),
    Activation: ACTIVATION_CODE[p.activation],
    ActivationGrad: ACTIVATION_CODE[p.activationGrad],
    Dropout: p.dropout ? (p.dropoutBackward ? 2 : 1) : 0,
    WorkgroupX: WORKGROUP.x,
    WorkgroupY: WORKGROUP.y,
  };
}

/** What the two kernels share: bindings, uniform, and one 8×8 block of C per invocation. */
const SHARED = {
  bind: bindings,
  uniform: (p: MatmulParams) => Uint32Array.of(p.M, p.N, p.K, ...dropoutWords(p.dropout)),
  usesStep: true,
  workgroups: (p: MatmulParams) =>
    [Math.ceil(p.N / (BLOCK.n * WORKGROUP.x)), Math.ceil(p.M / (BLOCK.m * WORKGROUP.y)), 1] as const,
};

/** The forward GEMM Y = X·Wᵀ with K % 4 == 0: A and B read as vec4 along K (shaders/matmul_vec4.wgsl). */
const matmulVec4: GpuKernel<MatmulParams> = {
  name: 'matmul_vec4',
  wgsl: joinWgsl(philoxWgsl, activationWgsl, matmulEpilogueWgsl, matmulVec4Wgsl),
  ...SHARED,
  overrides: sharedOverrides,
};

export const matmul: OpDef<'matmul', MatmulParams> = {
  name: 'matmul',
  params(node, graph) {
    const a = shapeOf(graph, node.inputs[0]);
    const b = shapeOf(graph, node.inputs[1]);
    const { transA, transB } = node.attrs;
    const M = at(a, transA ? 1 : 0);
    const K = at(a, transA ? 0 : 1);
    const N = at(b, transB ? 0 : 1);
    const kB = at(b, transB ? 1 : 0);
    if (kB !== K) throw new RangeError(`${node.name}: inner dimensions differ (${K} vs ${kB})`);
    const { dropout } = node.attrs;
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
    };
  },
  reference: matmulReference,
  kernel: {
    name: 'matmul',
    wgsl: joinWgsl(philoxWgsl, activationWgsl, matmulEpilogueWgsl, matmulWgsl),
    ...SHARED,
    overrides: (p) => ({ TransA: Number(p.transA), TransB: Number(p.transB), ...sharedOverrides(p) }),
    select: (p) => (p.transB && !p.transA && p.K % 4 === 0 ? matmulVec4 : matmul.kernel),
  },
  // f32 accumulation of K products against a double-precision sum (SPEC §4: rtol ~1e-5).
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
