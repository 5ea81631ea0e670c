/**
 * The in-browser half of `npm run bench`: opens dropgpu and TensorFlow.js on the page's WebGPU adapter,
 * runs the suites named in the URL (`?suites=matmul,train&quick=1`) case by case, alternating the two
 * libraries within every case, and leaves the results in `window.benchResult` for bench/run.ts.
 */
import { type TuningRecord, tuningRecords } from '../src/webgpu/autotune.js';
import { type ExploreRow, exploreMatmul } from './explore.js';
import { type Log, measureCase, type Timing } from './measure.js';
import { openDropgpu } from './ours.js';
import { buildCases, matmulShapes, parseSuites } from './suites.js';
import { openTfjs } from './tfjs.js';

export interface PageResult {
  readonly suites: string[];
  readonly quick: boolean;
  readonly adapter: Record<string, string | boolean>;
  readonly libraries: Record<string, string>;
  readonly tfjsVersions: Record<string, string>;
  readonly userAgent: string;
  readonly timings: Timing[];
  readonly tuning: readonly TuningRecord[];
  readonly explore: readonly ExploreRow[];
}

declare global {
  interface Window {
    benchResult?: PageResult | { error: string };
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
  // isFallbackAdapter moved from GPUAdapter to GPUAdapterInfo; read whichever this browser has.
  const fallback =
    (adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? adapter.isFallbackAdapter;
  return { vendor, architecture, device, description, isFallbackAdapter: fallback };
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const suites = parseSuites(params.get('suites') ?? undefined);
  const quick = params.get('quick') === '1';
  const adapter = await adapterInfo();
  const ours = await openDropgpu({ autotune: params.get('autotune') !== '0' }, log);
  const tfjs = await openTfjs(log);
  log(`adapter: ${JSON.stringify(adapter)}`);
  log(`dropgpu on ${ours.description}; ${tfjs.description}, TF.js ${tfjs.versions.tfjs}`);
  const timings: Timing[] = [];
  const explore: ExploreRow[] = [];
  try {
    for (const c of buildCases(suites, quick, [ours, tfjs])) timings.push(...(await measureCase(c, log)));
    if (suites.includes('explore'))
      explore.push(...(await exploreMatmul(ours.device, matmulShapes(quick), log)));
  } finally {
    ours.dispose();
    tfjs.dispose();
  }
  window.benchResult = {
    suites,
    quick,
    adapter,
    libraries: { dropgpu: ours.description, tfjs: tfjs.description },
    tfjsVersions: tfjs.versions,
    userAgent: navigator.userAgent,
    timings,
    tuning: tuningRecords(),
    explore,
  };
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  log(message);
  window.benchResult = { error: message };
});
