/**
 * `npx vite-node bench/wasm/ceiling-threads.ts`: whether this machine's cores add up for Wasm SIMD
 * arithmetic: the same FMA-chain kernel (12 independent f32x4.relaxed_madd chains, or mul + add where
 * relaxed SIMD does not validate) on 1 worker alone and on 2 workers at once, in alternating rounds;
 * prints GFLOP/s of each worker and in all: whether "2-thread ceiling = 2 × the 1-thread one" holds
 * (two vCPUs that are hyperthreads of one core would share its FMA units). Only meaningful on a quiet
 * machine: with other processes runnable, two workers split what the cores have left. Never a test.
 */
import { Worker } from 'node:worker_threads';
import { compileAs, enableRelaxedSimd } from './asc.js';

const CHAINS = 12;
const REPEAT = 16;
const relaxed = await enableRelaxedSimd();
const body = Array.from({ length: REPEAT * CHAINS }, (_, i) => {
  const a = `a${i % CHAINS}`;
  return relaxed
    ? `    ${a} = f32x4.relaxed_madd(${a}, m, c);`
    : `    ${a} = f32x4.add(f32x4.mul(${a}, m), c);`;
});
const source = [
  'export function chain(out: usize, iterations: i32, mf: f32, cf: f32): void {',
  '  const m = f32x4.splat(mf); const c = f32x4.splat(cf);',
  ...Array.from({ length: CHAINS }, (_, i) => `  let a${i} = f32x4.splat(cf * <f32>${i + 1});`),
  '  for (let it = 0; it < iterations; it++) {',
  ...body,
  '  }',
  `  v128.store(out, ${Array.from({ length: CHAINS }, (_, i) => `a${i}`).reduce((s, a) => `f32x4.add(${s}, ${a})`)});`,
  '}',
].join('\n');
const module = await WebAssembly.compile(await compileAs({ 'index.ts': source }));
const ITERATIONS = 2_000_000; // × 16 × 12 multiply-adds of 8 flops: 3.1 GFLOP per worker
const flops = ITERATIONS * REPEAT * CHAINS * 8;

const code = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ module, iterations }) => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const run = new WebAssembly.Instance(module, { env: { memory } }).exports.chain;
  // Many short calls first: V8 tiers a Wasm function up between calls (no on-stack replacement).
  for (let i = 0; i < 200; i++) run(0, 2000, 0.999, 0.001);
  const t = performance.now();
  run(0, iterations, 0.999, 0.001);
  parentPort.postMessage(performance.now() - t);
});`;

async function together(count: number): Promise<number[]> {
  const workers = Array.from({ length: count }, () => new Worker(code, { eval: true }));
  const ms = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<number>((resolve) => {
          worker.once('message', resolve);
          worker.postMessage({ module, iterations: ITERATIONS });
        }),
    ),
  );
  await Promise.all(workers.map((worker) => worker.terminate()));
  return ms.map((t) => flops / t / 1e6);
}

console.log(`${relaxed ? 'relaxed_madd' : 'mul + add'}, ${CHAINS} chains`);
for (let round = 0; round < 4; round++) {
  const order = round % 2 === 0 ? [1, 2] : [2, 1];
  for (const count of order) {
    const rates = await together(count);
    const sum = rates.reduce((s, r) => s + r, 0);
    console.log(
      `  ${count} worker${count === 1 ? '' : 's'}: ${rates.map((r) => r.toFixed(1)).join(' + ')} = ${sum.toFixed(1)} GFLOP/s`,
    );
  }
}
