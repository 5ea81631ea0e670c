/**
 * `npx vite-node bench/wasm/matmul.ts`: the Wasm matmul (matmulWasm, wasm/matmul_kernels.ts) on one
 * thread in Node against jax-js's np.matmul on its Wasm device (also one thread in Node: it only
 * spawns workers where `Worker` is a global), on the MLP 784-1024-1024-10's matmuls at batch 128 and
 * 512, in GFLOP/s, with the ratio and each as a fraction of this machine's measured Wasm SIMD ceiling
 * (bench/wasm/measure-ceiling.ts). Every run checks a few of our outputs against a float64 dot product.
 *
 * Two configurations, one per process (jax-js decides once whether it may use relaxed SIMD):
 *   default:     plain 128-bit SIMD for everyone (Node 20 does not validate relaxed SIMD): our `simd`
 *                build vs jax-js's mul + add kernels, against the mul + add ceiling;
 *   RELAXED=1:   switches --experimental-wasm-relaxed-simd on first: our `relaxed` build (FMA) vs
 *                jax-js's relaxed_madd kernels, against the FMA ceiling (what Chromium runs).
 * QUICK=1 times fewer repetitions. Timing: ours and jax-js in alternating rounds, best of many runs
 * each (bench/wasm/timing.ts). Never a test.
 */

import { relaxed as relaxedBuild, simd as simdBuild } from 'virtual:wasm-kernels';
import { init as jaxInit, jit, numpy as np } from '@jax-js/jax';
import { type MatmulParams, matmul } from '../../src/ops/matmul.js';
import { enableRelaxedSimd } from './asc.js';
import { measureCeiling } from './measure-ceiling.js';
import { type Prepared, prepareOurs } from './ours.js';
import { epilogueShapes, mlpShapes, type Shape } from './shapes.js';
import { bestMs, bestMsAsync, repsFor } from './timing.js';

const RELAXED = process.env.RELAXED === '1';
const QUICK = process.env.QUICK === '1';
const BUDGET_MS = QUICK ? 150 : 800;
const ROUNDS = QUICK ? 3 : 8;

if (RELAXED && !(await enableRelaxedSimd())) {
  console.error('This engine does not validate relaxed SIMD, even with --experimental-wasm-relaxed-simd.');
  process.exit(1);
}

const flops = (p: MatmulParams) => 2 * p.M * p.N * p.K;

/** Whether 64 outputs of a plain matmul match float64 dot products (within matmul's tolerance). */
function checkPlain(p: MatmulParams, ours: Prepared): boolean {
  const A = ours.input(0);
  const B = ours.input(1);
  const C = ours.result();
  const { atol, rtol } = matmul.tolerance(p);
  for (let t = 0; t < 64; t++) {
    const m = (t * 7919) % p.M;
    const n = (t * 104729) % p.N;
    let sum = 0;
    for (let k = 0; k < p.K; k++) {
      const a = p.transA ? A[k * p.M + m] : A[m * p.K + k];
      const b = p.transB ? B[n * p.K + k] : B[k * p.N + n];
      sum += (a as number) * (b as number);
    }
    if (!(Math.abs((C[m * p.N + n] as number) - sum) <= atol + rtol * Math.abs(sum))) return false;
  }
  return true;
}

/** A timed contestant: one call (awaited), and GFLOP/s from the best of what `time` measured. */
interface Contestant {
  time(reps: number): Promise<number>;
  done(): void;
}

/** Ours on `p` (and, for a plain matmul, whether its outputs check). */
async function ours(p: MatmulParams): Promise<Contestant & { ok: boolean }> {
  const prepared = await prepareOurs(RELAXED ? relaxedBuild : simdBuild, p);
  prepared.run();
  const ok =
    p.update || p.bias || p.dropout || p.activationGrad !== 'identity' ? true : checkPlain(p, prepared);
  return { ok, time: async (reps) => bestMs(() => prepared.run(), reps, 1), done: () => {} };
}

await jaxInit('wasm');

/** jax-js on the same product (jit of matmul on the transposed views, as laid out). */
async function jax(p: MatmulParams): Promise<Contestant> {
  const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const a = np.array(random(p.M * p.K)).reshape(p.transA ? [p.K, p.M] : [p.M, p.K]);
  const b = np.array(random(p.K * p.N)).reshape(p.transB ? [p.N, p.K] : [p.K, p.N]);
  const f = jit((x: np.Array, y: np.Array) =>
    np.matmul(p.transA ? x.transpose() : x, p.transB ? y.transpose() : y),
  );
  const run = async () => {
    const c = f(a.ref, b.ref);
    await c.blockUntilReady();
    c.dispose();
  };
  await run();
  return {
    time: (reps) => bestMsAsync(run, reps, 1),
    done: () => {
      a.dispose();
      b.dispose();
      f.dispose();
    },
  };
}

/**
 * GFLOP/s of each contestant, timed in alternating rounds (so both see the same moments of a noisy
 * machine), best of all rounds.
 */
async function race(p: MatmulParams, contestants: Contestant[]): Promise<number[]> {
  const best = contestants.map(() => Number.POSITIVE_INFINITY);
  const one = await Promise.all(contestants.map((c) => c.time(1)));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, c] of contestants.entries()) {
      const reps = repsFor(one[i] as number, BUDGET_MS / ROUNDS, 2);
      best[i] = Math.min(best[i] as number, await c.time(reps));
    }
  }
  for (const c of contestants) c.done();
  return best.map((ms) => flops(p) / ms / 1e6);
}

console.log(
  `Wasm matmul, one thread, ${RELAXED ? 'relaxed SIMD (FMA) for both' : 'plain SIMD (mul + add) for both'}`,
);
const ceiling = await measureCeiling(RELAXED, QUICK ? 10 : 30);
const top = RELAXED ? (ceiling.relaxed as number) : ceiling.simd;
console.log(
  `ceiling: ${top.toFixed(1)} GFLOP/s (${RELAXED ? 'relaxed_madd' : 'f32x4 mul + add'}, best of ${ceiling.rows.filter((r) => r.name.endsWith('_relaxed') === RELAXED).length} kernels)\n`,
);

const pad = (s: string, n: number) => s.padEnd(n);
const num = (x: number, d = 1) => x.toFixed(d).padStart(7);
console.log(`${pad('shape', 46)}   ours  jax-js   ratio  ours/ceil  jax/ceil`);
const rows: { shape: Shape; ours: number; jax: number | null }[] = [];
for (const B of [128, 512]) {
  for (const shape of mlpShapes(B)) {
    const mine = await ours(shape.p);
    const [gflops, theirs] = (await race(shape.p, [mine, await jax(shape.p)])) as [number, number];
    rows.push({ shape, ours: gflops, jax: theirs });
    const bad = mine.ok ? '' : '  WRONG RESULT';
    console.log(
      `${pad(shape.name, 46)}${num(gflops)} ${num(theirs)} ${num(gflops / theirs, 2)}x ${num((100 * gflops) / top, 0)}%   ${num((100 * theirs) / top, 0)}%${bad}`,
    );
  }
  for (const shape of epilogueShapes(B)) {
    const [gflops] = (await race(shape.p, [await ours(shape.p)])) as [number];
    console.log(`${pad(shape.name, 46)}${num(gflops)}       -       -  ${num((100 * gflops) / top, 0)}%`);
  }
}
const ratios = rows.filter((r) => r.jax !== null).map((r) => r.ours / (r.jax as number));
console.log(
  `\nratio ours/jax-js: min ${Math.min(...ratios).toFixed(2)}x, geometric mean ${Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length).toFixed(2)}x`,
);
