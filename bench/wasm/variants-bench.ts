/**
 * `npx vite-node bench/wasm/variants-bench.ts`: the micro-kernel variants of bench/wasm/variants.ts
 * (plain matmuls with scalar packing, one thread) against each other, plain SIMD and relaxed SIMD
 * (switched on by flag in Node 20), on SHAPE=M,N,K,transA,transB (default 256,1024,1024,0,1), in
 * interleaved rounds (ROUNDS, default 8), best of each, GFLOP/s; every variant's output is spot-checked.
 * CFGS='[{"mr":4,"nr":8,"unroll":1,"relaxed":true}, …]' replaces the default list. Never a test.
 *
 * Measured when the shipped kernel was chosen (2 vCPUs, Xeon 6th gen, Node 20, noisy): all variants
 * that do not spill within ±5% of each other (mul + add: 4×8 ≈ 2×16 ≈ 29, 3×12 23; relaxed: 4×8 35-36,
 * 5×8 with shuffle splats 37, 3×12 36, 2×16 36); 6×8 and 4×12 spill (relaxed 26-27); shuffle splats
 * cost in the mul + add build. The shipped kernel is 4×8, load splats, guarded ×2 unroll, both builds.
 */
import { compileAs, enableRelaxedSimd, instantiate } from './asc.js';
import { bestMs } from './timing.js';
import { type VariantConfig, variantName, variantScratch, variantSource } from './variants.js';

const DEFAULT: VariantConfig[] = [
  ...[false, true].flatMap((relaxed) => [
    { mr: 4, nr: 8, unroll: 1, relaxed },
    { mr: 4, nr: 8, unroll: 2, guard: true, relaxed },
    { mr: 4, nr: 8, unroll: 4, relaxed },
    { mr: 4, nr: 8, unroll: 1, relaxed, splat: 'shuffle' as const },
    { mr: 3, nr: 12, unroll: 2, guard: true, relaxed },
    { mr: 2, nr: 16, unroll: 2, guard: true, relaxed },
    { mr: 6, nr: 8, unroll: 1, relaxed, splat: 'shuffle' as const },
  ]),
  { mr: 5, nr: 8, unroll: 2, guard: true, relaxed: true, splat: 'shuffle' },
  { mr: 4, nr: 12, unroll: 1, relaxed: true, splat: 'shuffle' },
];

const relaxedOk = await enableRelaxedSimd();
const cfgs: VariantConfig[] = process.env.CFGS ? JSON.parse(process.env.CFGS) : DEFAULT;
const [M, N, K, ta, tb] = (process.env.SHAPE ?? '256,1024,1024,0,1').split(',').map(Number) as [
  number,
  number,
  number,
  number,
  number,
];
const usable = cfgs.filter((c) => !c.relaxed || relaxedOk);
const binary = await compileAs({ 'index.ts': usable.map(variantSource).join('\n\n') });
const scratchBytes = Math.max(...usable.map((c) => variantScratch(c, M, N, K)));
const aAt = 1024;
const bAt = aAt + M * K * 4;
const cAt = bAt + K * N * 4;
const sAt = cAt + M * N * 4 + 64;
const { memory, exports } = await instantiate(binary, sAt + scratchBytes + 1024);
const f32 = new Float32Array(memory.buffer);
const A = f32.subarray(aAt / 4, aAt / 4 + M * K);
const B = f32.subarray(bAt / 4, bAt / 4 + K * N);
const C = f32.subarray(cAt / 4, cAt / 4 + M * N);
for (let i = 0; i < A.length; i++) A[i] = Math.random() - 0.5;
for (let i = 0; i < B.length; i++) B[i] = Math.random() - 0.5;

function wrong(): number {
  let bad = 0;
  for (let t = 0; t < 50; t++) {
    const m = (t * 7919) % M;
    const n = (t * 104729) % N;
    let sum = 0;
    for (let k = 0; k < K; k++) {
      sum +=
        (ta ? (A[k * M + m] as number) : (A[m * K + k] as number)) *
        (tb ? (B[n * K + k] as number) : (B[k * N + n] as number));
    }
    if (Math.abs(sum - (C[m * N + n] as number)) > 1e-3) bad++;
  }
  return bad;
}

const runs = usable.map((c) => {
  const run = exports[variantName(c)] as (...args: number[]) => void;
  const go = () => run(cAt, aAt, bAt, M, N, K, ta, tb, sAt);
  C.fill(0);
  go();
  return { c, go, bad: wrong(), best: Number.POSITIVE_INFINITY };
});
const rounds = Number(process.env.ROUNDS ?? 8);
for (let round = 0; round < rounds; round++)
  for (const r of runs) r.best = Math.min(r.best, bestMs(r.go, 3, 0));
console.log(
  `variants on M ${M} N ${N} K ${K}${ta ? ' transA' : ''}${tb ? ' transB' : ''}, one thread, GFLOP/s`,
);
for (const r of runs) {
  const gflops = (2 * M * N * K) / r.best / 1e6;
  console.log(
    `${variantName(r.c).padEnd(26)}${gflops.toFixed(1).padStart(6)}${r.bad ? `  WRONG (${r.bad} of 50)` : ''}`,
  );
}
