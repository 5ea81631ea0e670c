/**
 * `npx vite-node bench/wasm/split.ts`: the MLP's matmuls at batch 128 on the Wasm pool (src/wasm/pool.ts)
 * in Node, as the device runs them (parts fixed by the shape and claimed, small nodes inline:
 * src/wasm/parts.ts) against one thread, in alternating rounds; GFLOP/s median and best over all runs.
 * Small nodes also run shared among the workers ("shared"), the evidence for the inline threshold.
 * BASELINE=path/to/pool.ts adds another pool implementation run the old way (no parts list: one part
 * per thread), e.g. the previous commit's src/wasm/ copied out with `git show`. Never a test.
 */
import { simd } from 'virtual:wasm-kernels';
import { bindWasmKernel } from '../../src/kernels/wasm.js';
import { matmulWasm } from '../../src/ops/wasm/matmul.js';
import { nodeParts, nodeWork } from '../../src/wasm/parts.js';
import { createWasmPool, type WasmPool } from '../../src/wasm/pool.js';
import { prepareOurs } from './ours.js';
import { mlpShapes } from './shapes.js';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const BUDGET_MS = Number(process.env.BUDGET_MS ?? 150);
const THREADS = Number(process.env.THREADS ?? 2);
const baseline = process.env.BASELINE
  ? ((await import(/* @vite-ignore */ process.env.BASELINE)) as { createWasmPool: typeof createWasmPool })
  : undefined;

const module = await WebAssembly.compile(Uint8Array.from(atob(simd), (c) => c.charCodeAt(0)));
const names = matmulWasm.phases;

for (const { name, p } of mlpShapes(128)) {
  const ours = await prepareOurs(simd, p, matmulWasm, 16);
  const { memory, block, step } = ours;
  const calls = Int32Array.from([0, block, 1, block]);
  const work = nodeWork(bindWasmKernel(matmulWasm, p), 0);
  const parts = new Int32Array(2).fill(nodeParts(work));
  const make = (create: typeof createWasmPool, threads: number) =>
    create({ module, memory, exportNames: names, threads });
  const configs: { label: string; pool: WasmPool; parts?: Int32Array }[] = [
    { label: '1 thread', pool: await make(createWasmPool, 1) },
    { label: `${THREADS} claimed`, pool: await make(createWasmPool, THREADS), parts },
  ];
  // The inline threshold's evidence: a small node shared among the workers after all.
  if ((parts[0] as number) < 0) {
    const shared = parts.map(Math.abs);
    configs.push({ label: `${THREADS} shared`, pool: await make(createWasmPool, THREADS), parts: shared });
  }
  if (baseline)
    configs.push({ label: `${THREADS} static`, pool: await make(baseline.createWasmPool, THREADS) });
  const times = configs.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, { pool, parts: list }] of configs.entries()) {
      for (let w = 0; w < 3; w++) await pool.run(calls, step, list);
      const end = performance.now() + BUDGET_MS;
      while (performance.now() < end) {
        const t = performance.now();
        await pool.run(calls, step, list);
        times[i]?.push(performance.now() - t);
      }
    }
  }
  const gflops = (ms: number) => ((2 * p.M * p.N * p.K) / ms / 1e6).toFixed(1);
  const cells = configs.map(({ label }, i) => {
    const sorted = (times[i] as number[]).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    return `${label} ${gflops(median)} (best ${gflops(sorted[0] as number)})`;
  });
  console.log(`${name.padEnd(34)} parts ${String(parts[0]).padStart(3)}  ${cells.join('  ')}`);
  for (const { pool } of configs) pool.dispose();
}
