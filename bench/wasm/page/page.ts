/**
 * The page of bench/wasm/page/run.ts: dropgpu's MLP matmuls (the rows of bench/peers) on Wasm devices
 * of several configurations (`?configs=2,1` thread counts), the configurations alternating row by row
 * and round by round in this one page, so that their ratios hold under a loaded machine. Never a test.
 */
import { matmulRows, median } from '../../peers/common.js';
import { dropgpuSide } from '../../peers/dropgpu-train.js';

export interface ProbeResult {
  readonly hardwareConcurrency: number;
  readonly workerHardwareConcurrency: number;
  readonly configs: string[];
  /** Per row id, per config: rates (GFLOP/s) of every timed run. */
  readonly rows: Record<string, Record<string, number[]>>;
}

declare global {
  interface Window {
    probeResult?: ProbeResult | { error: string };
  }
}

const log = (line: string) => {
  console.log(line);
  const pre = document.getElementById('log');
  if (pre) pre.textContent += `${line}\n`;
};

async function workerConcurrency(): Promise<number> {
  const code = 'self.postMessage(navigator.hardwareConcurrency)';
  const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
  const value = await new Promise<number>((resolve) => {
    worker.onmessage = (event: MessageEvent<number>) => resolve(event.data);
  });
  worker.terminate();
  return value;
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const configs = (params.get('configs') ?? '2,1').split(',');
  const rounds = Number(params.get('rounds') ?? 3);
  const only = params.get('only');
  const Bs = (params.get('B') ?? '128,512').split(',').map(Number);
  const rows = Bs.flatMap((B) => matmulRows(B, false)).filter((row) => !only || row.id.includes(only));
  const sides = configs.map((config) => dropgpuSide({ threads: Number(config) }));
  const result: Record<string, Record<string, number[]>> = {};
  for (let round = 0; round < rounds; round++) {
    for (const row of rows) {
      const order = (round + rows.indexOf(row)) % 2 === 0 ? configs : [...configs].reverse();
      for (const config of order) {
        const side = sides[configs.indexOf(config)];
        const prepared = await side?.prepare(row, log);
        if (!prepared || typeof prepared === 'string') throw new Error(String(prepared));
        for (let i = 0; i < row.warmup; i++) await prepared.run();
        const samples: number[] = [];
        const reps = Math.max(3, Math.round(row.reps / 2));
        for (let i = 0; i < reps; i++) {
          const start = performance.now();
          await prepared.run();
          samples.push((2 * row.M * row.N * row.K) / 1e9 / ((performance.now() - start) / 1000));
        }
        prepared.dispose();
        const byConfig = result[row.id] ?? {};
        result[row.id] = byConfig;
        byConfig[config] = [...(byConfig[config] ?? []), ...samples];
      }
    }
    log(`round ${round + 1}/${rounds} done`);
  }
  for (const row of rows) {
    const byConfig = result[row.id] ?? {};
    log(`${row.id}: ${configs.map((c) => `${c}: ${median(byConfig[c] ?? []).toFixed(1)}`).join('  ')}`);
    // The spread: on 2 shared cores one row's runs range about 2× at 2 threads.
    const at = (xs: number[], f: number) =>
      [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))] ?? 0;
    const spread = (xs: number[]) => [0.1, 0.5, 0.9, 1].map((f) => at(xs, f).toFixed(0)).join('/');
    log(`  p10/p50/p90/max ${configs.map((c) => `${c}: ${spread(byConfig[c] ?? [])}`).join('  ')}`);
  }
  window.probeResult = {
    hardwareConcurrency: navigator.hardwareConcurrency,
    workerHardwareConcurrency: await workerConcurrency(),
    configs,
    rows: result,
  };
  for (const side of sides) side.dispose();
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  log(message);
  window.probeResult = { error: message };
});
