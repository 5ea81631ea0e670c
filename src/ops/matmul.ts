/**
 * matmul: C[M,N] = Σ_k opA[m,k]·opB[k,n], f32 row-major. A is stored [M,K] ([K,M] when transA), B is
 * stored [K,N] ([N,K] when transB). An MLP layer with PyTorch's weight layout W [O,I] uses all three
 * forms: Y = X·Wᵀ (transB), dX = dY·W, dW = dYᵀ·X (transA).
 */
import { at, type Grads, type NumArray, type OpDef, shapeOf } from './op.js';

export interface MatmulParams {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

/** Plain loops, accumulating in double precision; one loop nest per layout so each reads plainly. */
export function matmulReference(
  p: MatmulParams,
  [a, b]: readonly NumArray[],
  [c]: readonly NumArray[],
): void {
  const { M, N, K } = p;
  const A = a as NumArray;
  const B = b as NumArray;
  const C = c as NumArray;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const aValue = p.transA ? (A[k * M + m] as number) : (A[m * K + k] as number);
        const bValue = p.transB ? (B[n * K + k] as number) : (B[k * N + n] as number);
        sum += aValue * bValue;
      }
      C[m * N + n] = sum;
    }
  }
}

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
    return { M, N, K, transA, transB };
  },
  reference: matmulReference,
  vjp(graph, node, [dC], needed): Grads {
    if (dC === undefined) return [undefined, undefined];
    const [a, b] = node.inputs as [number, number];
    const { transA, transB } = node.attrs;
    // dA = dC·op(B)ᵀ, laid out as A is; dB = op(A)ᵀ·dC, laid out as B is.
    const dA = needed[0]
      ? transA
        ? graph.apply(
            'matmul',
            `grad(${graph.get(a).name})`,
            [b, dC],
            { transA: transB, transB: true },
            graph.get(a).shape,
            'gradient',
          )
        : graph.apply(
            'matmul',
            `grad(${graph.get(a).name})`,
            [dC, b],
            { transA: false, transB: !transB },
            graph.get(a).shape,
            'gradient',
          )
      : undefined;
    const dB = needed[1]
      ? transB
        ? graph.apply(
            'matmul',
            `grad(${graph.get(b).name})`,
            [dC, a],
            { transA: true, transB: transA },
            graph.get(b).shape,
            'gradient',
          )
        : graph.apply(
            'matmul',
            `grad(${graph.get(b).name})`,
            [a, dC],
            { transA: !transA, transB: false },
            graph.get(b).shape,
            'gradient',
          )
      : undefined;
    return [dA, dB];
  },
};
