/**
 * The in-browser half of `npm run bench:peers`: one page load runs one side (`?side=dropgpu`,
 * `?side=jax-js`, or `?side=ceiling`: the Wasm SIMD ceiling of each matmul row, ceiling.ts) over every
 * row and leaves the rates in `window.peersResult` for bench/peers/run.ts.
 * Only that side's code is imported, so the other library never starts workers or a GPU device in
 * this page. Needs a cross-origin-isolated page (both libraries' Wasm threads need SharedArrayBuffer).
 */
import { buildRows, type Log, type Row, type RowResult, runRows, type Side } from './common.js';

export interface PeersPageResult {
  readonly side: Side;
  readonly quick: boolean;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly adapter: Record<string, string | boolean>;
  readonly userAgent: string;
  readonly rows: Row[];
  readonly results: RowResult[];
}

declare global {
  interface Window {
    peersResult?: PeersPageResult | { error: string };
  }
}

const log: Log = (line) => {
  console.log(line);
  const pre = document.getElementById('log');
  if (pre) pre.textContent += `${line}\n`;
};

async function adapterInfo(): Promise<Record<string, string | boolean>> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return { available: false };
  const { vendor, architecture, device, description } = adapter.info;
  return { available: true, vendor, architecture, device, description };
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const side = params.get('side');
  if (side !== 'dropgpu' && side !== 'jax-js' && side !== 'ceiling')
    throw new Error(`?side= must be dropgpu, jax-js or ceiling, not ${side}`);
  const quick = params.get('quick') === '1';
  // Without isolation both libraries fall back to one thread: that would not be the comparison asked.
  if (!crossOriginIsolated) throw new Error('the page is not cross-origin isolated (COOP/COEP headers)');
  const adapter = await adapterInfo();
  const rows = buildRows({ quick, webgpu: adapter.available === true });
  // Each side opens what it needs (a backend, a worker pool) on its first row and frees it at the end.
  const opened =
    side === 'dropgpu'
      ? (await import('./dropgpu-train.js')).dropgpuSide()
      : side === 'jax-js'
        ? { prepare: (await import('./jax-train.js')).prepareJax, dispose() {} }
        : (await import('./ceiling.js')).ceilingSide();
  let results: RowResult[];
  try {
    results = await runRows(rows, opened.prepare, log);
  } finally {
    opened.dispose();
  }
  window.peersResult = {
    side,
    quick,
    crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    adapter,
    userAgent: navigator.userAgent,
    rows,
    results,
  };
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  log(message);
  window.peersResult = { error: message };
});
