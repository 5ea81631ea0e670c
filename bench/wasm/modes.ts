/**
 * `npx vite-node bench/wasm/modes.ts`: the shipped Wasm matmul's paths against each other on the MLP's
 * shapes (one thread, plain SIMD build; RELAXED=1: the relaxed build): how the B panels reach the
 * tiles (packed by the pack phase, read in place where B is stored [K, N], packed per part just before
 * use: MATMUL_B_MODE in src/ops/wasm/matmul.ts) and computing C or Cᵀ. Interleaved rounds, best of
 * each, GFLOP/s; the default choice (matmulWasmChoice) is marked with *. Never a test.
 */
import { relaxed as relaxedBuild, simd as simdBuild } from 'virtual:wasm-kernels';
import { MATMUL_B_MODE, matmulWasmChoice, matmulWasmKernel } from '../../src/ops/wasm/matmul.js';
import { enableRelaxedSimd } from './asc.js';
import { prepareOurs } from './ours.js';
import { epilogueShapes, mlpShapes } from './shapes.js';
import { bestMs } from './timing.js';

const RELAXED = process.env.RELAXED === '1';
if (RELAXED && !(await enableRelaxedSimd())) throw new Error('relaxed SIMD does not validate here');
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const modes = Object.entries(MATMUL_B_MODE);

console.log(`B modes and swap, one thread, ${RELAXED ? 'relaxed' : 'plain'} SIMD build, GFLOP/s`);
console.log(
  `${'shape'.padEnd(48)}${modes.map(([m]) => m.padStart(8)).join('')}${modes.map(([m]) => `${m}ᵀ`.padStart(9)).join('')}`,
);
for (const B of [128, 512]) {
  for (const shape of [...mlpShapes(B), ...epilogueShapes(B)]) {
    const p = shape.p;
    const chosen = matmulWasmChoice(p);
    const runs = [];
    for (const swap of [false, true]) {
      for (const [, bMode] of modes) {
        const kernel = matmulWasmKernel(() => ({ swap, bMode }));
        const run = await prepareOurs(RELAXED ? relaxedBuild : simdBuild, p, kernel);
        const skip = (swap && p.colSum) || (bMode === MATMUL_B_MODE.direct && (swap ? !p.transA : p.transB));
        runs.push({ swap, bMode, run, skip, best: Number.POSITIVE_INFINITY });
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of runs)
        if (!r.skip)
          r.best = Math.min(
            r.best,
            bestMs(() => r.run.run(), 2, round === 0 ? 1 : 0),
          );
    }
    const cells = runs.map((r) => {
      if (r.skip) return '-';
      const mark = r.swap === chosen.swap && r.bMode === chosen.bMode ? '*' : '';
      return `${((2 * p.M * p.N * p.K) / r.best / 1e6).toFixed(1)}${mark}`;
    });
    console.log(
      `${shape.name.padEnd(48)}${cells
        .slice(0, 3)
        .map((c) => c.padStart(8))
        .join('')}${cells
        .slice(3)
        .map((c) => c.padStart(9))
        .join('')}`,
    );
  }
}
