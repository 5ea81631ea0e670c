/** The MLP 784-1024-1024-10's matmuls at batch B, as the bench/wasm scripts time them. Never a test. */
import { type MatmulParams, PLAIN_EPILOGUE } from '../../src/ops/matmul.js';

export interface Shape {
  name: string;
  p: MatmulParams;
}

function plain(M: number, N: number, K: number, transA: boolean, transB: boolean): MatmulParams {
  return { M, N, K, transA, transB, ...PLAIN_EPILOGUE };
}

/** Forward X·Wᵀ (transB), input gradients dY·W, weight gradients dYᵀ·X (transA). */
export function mlpShapes(B: number): Shape[] {
  return [
    { name: `fwd  [${B},784]·[1024,784]ᵀ`, p: plain(B, 1024, 784, false, true) },
    { name: `fwd  [${B},1024]·[1024,1024]ᵀ`, p: plain(B, 1024, 1024, false, true) },
    { name: `fwd  [${B},1024]·[10,1024]ᵀ`, p: plain(B, 10, 1024, false, true) },
    { name: `dX   [${B},1024]·[1024,1024]`, p: plain(B, 1024, 1024, false, false) },
    { name: `dX   [${B},10]·[10,1024]`, p: plain(B, 1024, 10, false, false) },
    { name: `dW   [1024,${B}]ᵀ·[${B},784]`, p: plain(1024, 784, B, true, false) },
    { name: `dW   [1024,${B}]ᵀ·[${B},1024]`, p: plain(1024, 1024, B, true, false) },
    { name: `dW   [10,${B}]ᵀ·[${B},1024]`, p: plain(10, 1024, B, true, false) },
  ];
}

/** A few of them with the epilogues training uses (ours only: jax-js has no fused equivalent). */
export function epilogueShapes(B: number): Shape[] {
  const dropout = { site: 1, keepProb: 0.8, seed: 42, stream: 0 };
  const update = { momentum: true, nesterov: false, weightDecay: 1e-4 };
  return [
    {
      name: `fwd  [${B},784]·[1024,784]ᵀ +bias relu dropout`,
      p: { ...plain(B, 1024, 784, false, true), bias: true, activation: 'relu', dropout },
    },
    {
      name: `dX   [${B},1024]·[1024,1024] mask relu'`,
      p: { ...plain(B, 1024, 1024, false, false), activationGrad: 'relu', dropout, dropoutBackward: true },
    },
    {
      name: `dW   [1024,${B}]ᵀ·[${B},1024] SGD+momentum colSum`,
      p: { ...plain(1024, 1024, B, true, false), update, colSum: true },
    },
  ];
}
