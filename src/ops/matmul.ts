/**
 * matmul: C[M,N] = Σ_k opA[m,k]·opB[k,n], f32 row-major. A is stored [M,K] ([K,M] when transA), B is
 * stored [K,N] ([N,K] when transB). An MLP layer with PyTorch's weight layout W [O,I] uses all three
 * forms: Y = X·Wᵀ (transB), dX = dY·W, dW = dYᵀ·X (transA).
 *
 * The fusion pass (graph/fuse.ts) gives it an epilogue: bias + activation + dropout in the forward
 * pass (one dispatch per layer), mask + activation derivative in the backward pass, and on the weight
 * gradient the optimizer's step in place of storing it (SGD's; Adam's in its own epilogue file,
 * shaders/matmul_adam_epilogue.wgsl, where the device has the storage bindings). The order of the
 * epilogue's steps is spelled out in shaders/matmul_epilogue.wgsl and followed exactly below.
 *
 * Two kernels, one arithmetic: shaders/matmul.wgsl for every shape, and its variant
 * shaders/matmul_vec4.wgsl (vec4 loads along each operand's contiguous dimension) where the dimensions
 * it reads as vec4 are multiples of 4. Both join the same epilogue file, which also fixes the order of
 * the sums, so they give the same bits; both are checked against the same reference below. Which one
 * runs, in which workgroup shape, is what the autotuner (src/webgpu/autotune.ts) measured fastest on
 * the adapter (default: vec4 where it fits, 8×8); the choice never changes a result.
 */
import { plainStep, type SgdUpdate, type StepContext } from '../ir/ir.js';
import type { GpuKernel } from '../kernels/gpu.js';
import { keepThreshold, keptAt, seedKey } from '../rng/philox.js';
import { derivativeFromOutput } from './act-grad.js';
import { adamReference } from './adam.js';
import { activationReference } from './bias-act.js';
import { matmulCandidates, SCALAR_KERNELS, TUNE_MIN_MACS } from './matmul-gpu.js';
import { type MatmulParams, matmulSlots, PLAIN_EPILOGUE } from './matmul-layout.js';
import { at, type Grads, type NumArray, type OpDef, SAMPLE_DROPOUT, shapeOf } from './op.js';
import { sgdReference } from './sgd.js';
import { matmulWasm } from './wasm/matmul.js';

export { matmulKernel, matmulVec4Fits, WORKGROUP_SHAPES, type WorkgroupShape } from './matmul-gpu.js';
export {
  type MatmulParams,
  type MatmulSlots,
  matmulOperands,
  matmulSlots,
  PLAIN_EPILOGUE,
} from './matmul-layout.js';

// WGSL twin: shaders/matmul.wgsl
// WGSL twin: shaders/matmul_acc.wgsl
// WGSL twin: shaders/matmul_epilogue.wgsl
// WGSL twin: shaders/matmul_adam_epilogue.wgsl
// WGSL twin: shaders/matmul_vec4.wgsl
// WGSL twin: shaders/matmul_block.wgsl
// WGSL twin: shaders/matmul_tiled.wgsl
// WGSL twin: shaders/matmul_tiled_double.wgsl
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
  const dropped =
    p.update || p.adamUpdate || slots.outputs.second === undefined
      ? undefined
      : outputs[slots.outputs.second];
  const key = p.dropout ? seedKey(p.dropout.seed) : [0, 0];
  const threshold = p.dropout ? keepThreshold(p.dropout.keepProb) : null;
  const scale = p.dropout ? 1 / p.dropout.keepProb : 1;
  const kept = (i: number) =>
    keptAt(key, ctx.step, p.dropout?.site ?? 0, p.dropout?.stream ?? 0, threshold, i);
  const opA = (m: number, k: number) => (p.transA ? (A[k * M + m] as number) : (A[m * K + k] as number));
  // With an update, each row of sums is row m of the parameter's gradient, handed to the SGD (or
  // Adam) reference on row m of the parameter (and its state): the gradient is never stored, as on
  // the GPU.
  const { param, metrics, velocity, moment1, moment2 } = slots.inputs;
  const [P, metricValues, V, M1, M2] = [param, metrics, velocity, moment1, moment2].map(input);
  const update = p.update && { length: N, ...p.update };
  const adamUpdate = p.adamUpdate && { length: N, ...p.adamUpdate };
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
    const row = (array: NumArray | undefined) => (array as NumArray).subarray(m * N, (m + 1) * N);
    if (update) {
      const state = V ? [row(V)] : [];
      sgdReference(update, [row(P), sums, metricValues as NumArray, ...state], [], ctx);
      continue;
    }
    if (adamUpdate) {
      adamReference(adamUpdate, [row(P), sums, metricValues as NumArray, row(M1), row(M2)], [], ctx);
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
  if (!p.colSum) return;
  const colSums = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += opA(m, k);
    colSums[m] = sum;
  }
  const biasParam = input(slots.inputs.biasParam);
  if (!(p.update || p.adamUpdate) || !p.biasUpdate || !biasParam) {
    (outputs[slots.outputs.colsum as number] as NumArray).set(colSums);
    return;
  }
  // With a bias update the column sums are the bias's gradient, handed to the SGD (or Adam) reference
  // with the bias's own weight decay (never stored, as on the GPU).
  const weightDecay = p.biasUpdate.weightDecay;
  if (p.adamUpdate) {
    const moments = [input(slots.inputs.biasMoment1), input(slots.inputs.biasMoment2)] as NumArray[];
    adamReference(
      { length: M, ...p.adamUpdate, weightDecay },
      [biasParam, colSums, metricValues as NumArray, ...moments],
      [],
      ctx,
    );
    return;
  }
  const biasVelocity = input(slots.inputs.biasVelocity);
  sgdReference(
    { length: M, ...(p.update as SgdUpdate), weightDecay },
    [biasParam, colSums, metricValues as NumArray, ...(biasVelocity ? [biasVelocity] : [])],
    [],
    ctx,
  );
}

/** A weight gradient dYᵀ·X (M × 4, K = 5) with the column sums and the update `extra`: a sample. */
function weightGradientSample(M: number, extra: Partial<MatmulParams>): MatmulParams {
  return { M, N: 4, K: 5, transA: true, transB: false, ...PLAIN_EPILOGUE, colSum: true, ...extra };
}

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
    weightGradientSample(3, { update: { momentum: true, nesterov: false, weightDecay: 0.1 } }),
    weightGradientSample(8, { update: { momentum: true, nesterov: false, weightDecay: 0.1 } }),
    // …and with the bias's SGD step fused too (its velocity and the bias in the aux and colsum slots).
    weightGradientSample(8, {
      update: { momentum: true, nesterov: true, weightDecay: 0.1 },
      biasUpdate: { weightDecay: 0 },
    }),
    // The weight gradient with Adam's step (matmul_adam_epilogue.wgsl): the column sums stored, then
    // the bias's Adam step fused too (scalar, then vec4).
    weightGradientSample(3, { adamUpdate: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 } }),
    weightGradientSample(8, {
      adamUpdate: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 },
      biasUpdate: { weightDecay: 0 },
    }),
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
    const { dropout, update, adamUpdate } = node.attrs;
    const epilogue = node.attrs.bias || node.attrs.activation || node.attrs.activationGrad || dropout;
    if ((update || adamUpdate) && epilogue)
      throw new RangeError(`${node.name}: an update epilogue stands alone`);
    if (update && adamUpdate) throw new RangeError(`${node.name}: one update, SGD's or Adam's`);
    if (node.attrs.biasUpdate && !((update || adamUpdate) && node.attrs.colSum))
      throw new RangeError(`${node.name}: a bias update needs the update and the column sums`);
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
      ...(adamUpdate ? { adamUpdate } : {}),
      colSum: node.attrs.colSum ?? PLAIN_EPILOGUE.colSum,
      ...(node.attrs.biasUpdate ? { biasUpdate: node.attrs.biasUpdate } : {}),
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
