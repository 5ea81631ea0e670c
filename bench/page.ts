/**
 * The in-browser half of `npm run bench`: runs the suite named in the URL (`?suite=matmul`) on the
 * page's WebGPU adapter and leaves the results in `window.benchResult` for bench/run.ts to collect.
 */
import { compileGraph } from '../src/graph/executor.js';
import { Graph } from '../src/graph/ir.js';
import { openWebGpu, type WebGpuDevice } from '../src/webgpu/device.js';

export interface Timing {
  readonly name: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly reps: number;
}

export interface BenchResult {
  readonly suite: string;
  readonly adapter: string;
  readonly userAgent: string;
  readonly timings: Timing[];
}

declare global {
  interface Window {
    benchResult?: BenchResult | { error: string };
  }
}

function log(line: string): void {
  console.log(line);
  const pre = document.getElementById('log');
  if (pre) pre.textContent += `${line}\n`;
}

/** Median/min/max of `rate(seconds)` over `reps` timed calls of `run`, after `warmup` untimed ones. */
async function measure(
  name: string,
  unit: string,
  run: () => Promise<void>,
  rate: (seconds: number) => number,
  reps = 5,
  warmup = 2,
): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await run();
  const rates: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await run();
    rates.push(rate((performance.now() - start) / 1000));
  }
  rates.sort((a, b) => a - b);
  const timing = {
    name,
    unit,
    median: rates[Math.floor(reps / 2)] as number,
    min: rates[0] as number,
    max: rates[reps - 1] as number,
    reps,
  };
  log(
    `${name}: ${timing.median.toFixed(2)} ${unit} (min ${timing.min.toFixed(2)}, max ${timing.max.toFixed(2)})`,
  );
  return timing;
}

/** GFLOP/s of one matmul node at the MLP's shapes (ours alone; the tfjs comparison is its own suite). */
async function matmulSuite(device: WebGpuDevice): Promise<Timing[]> {
  const shapes: [string, number, number, number, boolean, boolean][] = [];
  for (const size of [256, 512, 1024]) shapes.push([`square ${size}`, size, size, size, false, false]);
  for (const B of [128, 512]) {
    shapes.push(
      [`Y = X·Wᵀ  [${B}×784]·[784×1024]`, B, 1024, 784, false, true],
      [`Y = X·Wᵀ  [${B}×1024]·[1024×1024]`, B, 1024, 1024, false, true],
      [`dX = dY·W [${B}×1024]·[1024×784]`, B, 784, 1024, false, false],
      [`dW = dYᵀ·X [1024×${B}]·[${B}×784]`, 1024, 784, B, true, false],
    );
  }
  const timings: Timing[] = [];
  for (const [name, M, N, K, transA, transB] of shapes) {
    const graph = new Graph();
    const a = graph.tensor('a', transA ? [K, M] : [M, K], 'input');
    const b = graph.tensor('b', transB ? [N, K] : [K, N], 'input');
    graph.apply('matmul', 'matmul', [a, b], { transA, transB }, [M, N], 'output');
    const compiled = await compileGraph(device, 'bench', graph);
    device.write(
      compiled.bufferOf(a),
      Float32Array.from({ length: M * K }, (_, i) => Math.sin(i)),
    );
    device.write(
      compiled.bufferOf(b),
      Float32Array.from({ length: K * N }, (_, i) => Math.cos(i)),
    );
    const run = async () => {
      compiled.program.run({ step: 0, lr: 0, momentum: 0 });
      await device.gpu.queue.onSubmittedWorkDone();
    };
    timings.push(await measure(`matmul ${name}`, 'GFLOP/s', run, (s) => (2 * M * N * K) / s / 1e9));
    compiled.dispose();
  }
  return timings;
}

const SUITES: Record<string, (device: WebGpuDevice) => Promise<Timing[]>> = { matmul: matmulSuite };

async function main(): Promise<void> {
  const suite = new URLSearchParams(location.search).get('suite') ?? 'matmul';
  const runSuite = SUITES[suite];
  if (!runSuite) throw new Error(`unknown suite ${suite}; have ${Object.keys(SUITES).join(', ')}`);
  const device = await openWebGpu();
  log(`${suite} on ${device.description}`);
  const timings = await runSuite(device);
  window.benchResult = { suite, adapter: device.description, userAgent: navigator.userAgent, timings };
}

main().catch((error: unknown) => {
  log(String(error));
  window.benchResult = { error: String(error) };
});
