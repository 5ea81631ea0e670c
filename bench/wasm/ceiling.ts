/**
 * `npx vite-node bench/wasm/ceiling.ts`: prints this machine's Wasm SIMD ceiling, one thread, plain
 * (mul + add) and relaxed (FMA; switched on in Node 20 by flag). Kernels: bench/wasm/measure-ceiling.ts.
 * Never a test.
 */
import { measureCeiling } from './measure-ceiling.js';

const ceiling = await measureCeiling(true);
for (const row of ceiling.rows)
  console.log(`${row.name.padEnd(18)} ${row.gflops.toFixed(1).padStart(7)} GFLOP/s`);
console.log(`ceiling (f32x4 mul+add): ${ceiling.simd.toFixed(1)} GFLOP/s`);
console.log(
  `ceiling (relaxed_madd):  ${ceiling.relaxed === null ? 'not validated here' : `${ceiling.relaxed.toFixed(1)} GFLOP/s`}`,
);
