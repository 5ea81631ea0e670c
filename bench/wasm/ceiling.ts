/**
 * `npx vite-node bench/wasm/ceiling.ts`: prints this machine's Wasm SIMD ceiling, single thread (see
 * bench/wasm/measure-ceiling.ts for the kernels). Never a test.
 */
import { measureCeiling } from './measure-ceiling.js';

const ceiling = await measureCeiling();
for (const row of ceiling.rows)
  console.log(`${row.name.padEnd(18)} ${row.gflops.toFixed(1).padStart(7)} GFLOP/s`);
console.log(`ceiling (f32x4 mul+add): ${ceiling.simd.toFixed(1)} GFLOP/s`);
console.log(
  `ceiling (relaxed_madd):  ${ceiling.relaxed === null ? 'not validated here' : `${ceiling.relaxed.toFixed(1)} GFLOP/s`}`,
);
