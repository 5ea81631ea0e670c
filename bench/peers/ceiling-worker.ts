/**
 * A worker of bench/peers/ceiling.ts: instantiates the ceiling kernel (bench/peers/ceiling-module.ts),
 * warms it up, then polls (then waits) on the control words for runs: each run is `chain(iterations)` once, then a
 * count of the workers done (the last one wakes the page). Never a test.
 */
import { CONTROL } from './ceiling-control.js';

interface Start {
  readonly module: WebAssembly.Module;
  readonly control: SharedArrayBuffer;
  readonly threads: number;
}

/** How long a worker polls for the next run before it sleeps: longer than any gap between runs. */
const IDLE_SPIN_MS = 50;

self.onmessage = ({ data }: MessageEvent<Start>) => {
  const { module, control, threads } = data;
  const chain = new WebAssembly.Instance(module, {}).exports.chain as (
    n: number,
    m: number,
    c: number,
  ) => void;
  // V8 tiers a Wasm function up between calls (no on-stack replacement): many short calls first.
  for (let i = 0; i < 2000; i++) chain(2000, 0.999, 0.001);
  const words = new Int32Array(control);
  self.postMessage('ready');
  let generation = 0;
  for (;;) {
    // Poll before sleeping: a worker woken from Atomics.wait may wait milliseconds for a core (a vCPU
    // that halted when idle), which would make the ceiling a measure of wake-ups.
    const until = performance.now() + IDLE_SPIN_MS;
    while (Atomics.load(words, CONTROL.generation) === generation && performance.now() < until);
    Atomics.wait(words, CONTROL.generation, generation);
    generation = Atomics.load(words, CONTROL.generation);
    chain(Atomics.load(words, CONTROL.iterations), 0.999, 0.001);
    if (Atomics.add(words, CONTROL.done, 1) + 1 === threads) Atomics.notify(words, CONTROL.done);
  }
};
