/**
 * `npx vite-node bench/wasm/pool-overhead.ts`: the Wasm thread pool's (src/wasm/pool.ts) fixed costs on
 * this machine, for 1, 2 and 3 threads: one awaited run of an empty kernel, one run queued behind
 * others, and one barrier between kernels (a run of 1,000 empty kernels). Never a test.
 */
import { maximumPages } from 'virtual:wasm-kernels';
import binaryen from 'binaryen';
import { createWasmPool } from '../../src/wasm/pool.js';

const WAT = `(module
  (import "env" "memory" (memory 1 65536 shared))
  (func (export "noop") (param i32 i32 i32 i32)))`;

function assemble(): Uint8Array<ArrayBuffer> {
  const module = binaryen.parseText(WAT);
  try {
    module.setFeatures(binaryen.Features.All);
    return new Uint8Array(module.emitBinary());
  } finally {
    module.dispose();
  }
}

const module = new WebAssembly.Module(assemble());
const memory = new WebAssembly.Memory({ initial: 1, maximum: maximumPages, shared: true });
const NOOP = 0;

for (const threads of [1, 2, 3]) {
  const pool = await createWasmPool({ module, memory, exportNames: ['noop'], threads });
  try {
    const one = Int32Array.from([NOOP, 0]);
    const many = new Int32Array(2 * 1000).fill(NOOP);
    for (let i = 0; i < 200; i++) await pool.run(one, 0);
    let t = performance.now();
    for (let i = 0; i < 2000; i++) await pool.run(one, 0);
    const awaitedUs = ((performance.now() - t) / 2000) * 1000;
    t = performance.now();
    await Promise.all(Array.from({ length: 2000 }, () => pool.run(one, 0)));
    const queuedUs = ((performance.now() - t) / 2000) * 1000;
    for (let i = 0; i < 5; i++) await pool.run(many, 0);
    t = performance.now();
    for (let i = 0; i < 20; i++) await pool.run(many, 0);
    const barrierUs = (((performance.now() - t) / 20) * 1000 - awaitedUs) / 1000;
    console.log(
      `threads ${threads}: run awaited ${awaitedUs.toFixed(1)} µs, run queued ${queuedUs.toFixed(1)} µs, ` +
        `barrier ${barrierUs.toFixed(2)} µs`,
    );
  } finally {
    pool.dispose();
  }
}
