/**
 * The third side of `npm run bench:peers`: this page's Wasm SIMD ceiling, measured in the same rounds
 * as dropgpu and jax-js. For each matmul row it runs the row's floating-point work (2·M·N·K) as
 * independent multiply-add chains (bench/peers/ceiling-module.ts: no loads, no stores) split evenly
 * over `navigator.hardwareConcurrency` workers, started and awaited with Atomics as dropgpu's pool is
 * (notify, Atomics.waitAsync on the page), except that they poll for 50 ms between runs before they
 * sleep (ceiling-worker.ts), so that no run waits for a core to wake. A row's rate is what a perfect
 * kernel of that size could reach in this page at that moment: each side's median as a fraction of
 * it says how much room is left, and 1.5× jax-js above it means the target cannot be met on this
 * machine. Never a test.
 */
import { CONTROL } from './ceiling-control.js';
import { ceilingModuleBytes, FLOPS_PER_ITERATION, relaxedSimdValidates } from './ceiling-module.js';
import type { Prepare } from './common.js';

interface Pool {
  readonly threads: number;
  readonly words: Int32Array<SharedArrayBuffer>;
  readonly workers: Worker[];
  readonly on: string;
}

// Chromium has Atomics.waitAsync; this project's TypeScript lib (ES2022) does not declare it.
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
    ): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

export function ceilingSide(): { prepare: Prepare; dispose(): void } {
  let pool: Promise<Pool> | undefined;
  const open = async (): Promise<Pool> => {
    const threads = navigator.hardwareConcurrency;
    const relaxed = relaxedSimdValidates();
    const module = await WebAssembly.compile(ceilingModuleBytes(relaxed));
    const words = new Int32Array(new SharedArrayBuffer(CONTROL.words * 4));
    const workers = Array.from(
      { length: threads },
      () => new Worker(new URL('./ceiling-worker.ts', import.meta.url), { type: 'module' }),
    );
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.onmessage = () => resolve();
            worker.onerror = (event) => reject(new Error(`ceiling worker: ${event.message}`));
            worker.postMessage({ module, control: words.buffer, threads });
          }),
      ),
    );
    const kernel = relaxed ? 'f32x4.relaxed_madd' : 'f32x4.mul + f32x4.add';
    return { threads, words, workers, on: `Wasm SIMD ceiling (${kernel}, 12 chains), ${threads} threads` };
  };

  const prepare: Prepare = async (row) => {
    if (row.kind !== 'matmul') return 'the ceiling is measured for the matmul rows';
    pool ??= open();
    const { threads, words, on } = await pool;
    const iterations = Math.max(1, Math.round((2 * row.M * row.N * row.K) / threads / FLOPS_PER_ITERATION));
    return {
      on,
      async run() {
        Atomics.store(words, CONTROL.done, 0);
        Atomics.store(words, CONTROL.iterations, iterations);
        Atomics.add(words, CONTROL.generation, 1);
        Atomics.notify(words, CONTROL.generation);
        for (;;) {
          const done = Atomics.load(words, CONTROL.done);
          if (done === threads) return;
          const wait = waitAsync(words, CONTROL.done, done);
          if (wait.async) await wait.value;
        }
      },
      dispose() {},
    };
  };

  return {
    prepare,
    dispose() {
      void pool?.then(({ workers }) => {
        for (const worker of workers) worker.terminate();
      });
    },
  };
}
