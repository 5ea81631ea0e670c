/**
 * `npm run bench:peers [-- --quick] [--rounds=N]`: dropgpu against jax-js in headless Chromium (the
 * same flags as the tests). Serves the project with Vite on 127.0.0.1 with COOP same-origin and COEP
 * require-corp, so the page is cross-origin isolated and both libraries get SharedArrayBuffer and
 * their Wasm worker threads. Each side runs in a fresh page of its own per round (jax-js's or
 * dropgpu's workers must not share the CPU with the other side's timing, and a closed page takes its
 * workers and GPU device with it), who goes first rotating from round to round. A third side, no
 * library, measures the page's Wasm SIMD ceiling for each matmul row in the same rounds (ceiling.ts).
 * Prints best and median per row over all rounds, each side's matmul medians as a fraction of the
 * ceiling's, and writes bench/results/peers[-quick]-<timestamp>.json.
 * Never run by CI or `npm test`.
 */
import { type Browser, chromium } from 'playwright';
import { createServer } from 'vite';
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM_MESSAGE } from '../../scripts/chromium.js';
import { packageVersion, ROOT, writeRecord } from '../report.js';
import type { Side } from './common.js';
import type { PeersPageResult } from './page.js';
import { add, column, columnRecord, formatCeilingTable, formatRanOn, formatTable } from './report.js';

const argv = process.argv.slice(2);
const unknown = argv.filter((arg) => arg !== '--quick' && !/^--rounds=\d+$/.test(arg));
if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(' ')}; have --quick, --rounds=N`);
const quick = argv.includes('--quick');
const rounds = Number(argv.find((arg) => arg.startsWith('--rounds='))?.slice(9) ?? (quick ? 2 : 3));

const executablePath = findChromium();
if (!executablePath) throw new Error(NO_CHROMIUM_MESSAGE);

const server = await createServer({
  root: ROOT,
  logLevel: 'error',
  server: {
    host: '127.0.0.1',
    port: 0,
    // No HMR and no watching: others edit src/ while a run lasts minutes, and a reload restarts it.
    hmr: false,
    watch: null,
    // Cross-origin isolation: without it neither library may share memory with its workers.
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  // Pre-bundle jax-js before the first page loads: discovered late, Vite reloads the page mid-run.
  optimizeDeps: { entries: ['bench/peers/index.html'], include: ['@jax-js/jax'] },
});
await server.listen();
const address = server.httpServer?.address();
const port = typeof address === 'object' && address ? address.port : 0;

/** One side on a fresh page: loads it, waits for `window.peersResult`, closes it. */
async function runPage(browser: Browser, side: Side, round: number): Promise<PeersPageResult> {
  const page = await browser.newPage();
  try {
    page.on('console', (message) => console.log(`  ${message.text()}`));
    page.on('pageerror', (error) => console.error(`  page error: ${error.message}`));
    let loads = 0;
    const crashed = new Promise<never>((_, reject) => {
      page.on('crash', () => reject(new Error(`${side} round ${round}: the page crashed`)));
      page.on('load', () => {
        if (++loads > 1) reject(new Error(`${side} round ${round}: the page reloaded mid-run`));
      });
    });
    await page.goto(`http://127.0.0.1:${port}/bench/peers/index.html?side=${side}${quick ? '&quick=1' : ''}`);
    const handle = await Promise.race([
      page.waitForFunction(() => window.peersResult, null, { timeout: 0, polling: 500 }),
      crashed,
    ]);
    const result = (await handle.jsonValue()) as PeersPageResult | { error: string };
    if ('error' in result) throw new Error(`${side} round ${round}: ${result.error}`);
    return result;
  } finally {
    await page.close();
  }
}

const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
const started = Date.now();
try {
  const columns = { dropgpu: column('dropgpu'), 'jax-js': column('jax-js'), ceiling: column('ceiling') };
  const sides: Side[] = ['dropgpu', 'jax-js', 'ceiling'];
  const pages: Omit<PeersPageResult, 'rows' | 'results'>[] = [];
  let last: PeersPageResult | undefined;
  for (let round = 0; round < rounds; round++) {
    // Rotate who goes first, so no side always runs right after the same other one.
    const order = sides.map((_, i) => sides[(i + round) % sides.length] as Side);
    for (const side of order) {
      console.log(`round ${round + 1}/${rounds}: ${side}`);
      const result = await runPage(browser, side, round);
      add(columns[side], result.results);
      const { rows: _rows, results: _results, ...about } = result;
      pages.push(about);
      last = result;
    }
  }
  const rows = last?.rows ?? [];
  const first = pages[0];
  const adapter = first?.adapter.available
    ? [first.adapter.vendor, first.adapter.architecture, first.adapter.description].filter(Boolean).join(' ')
    : 'no WebGPU adapter';
  const record = {
    mode: 'browser',
    quick,
    rounds,
    browser: `Chromium ${browser.version()}`,
    chromiumArgs: CHROMIUM_ARGS,
    crossOriginIsolated: pages.every((p) => p.crossOriginIsolated),
    hardwareConcurrency: first?.hardwareConcurrency,
    adapter: first?.adapter,
    userAgent: first?.userAgent,
    versions: {
      dropgpu: packageVersion('package.json'),
      'jax-js': packageVersion('node_modules/@jax-js/jax/package.json'),
    },
    rows,
    columns: Object.fromEntries(Object.values(columns).map((c) => [c.name, columnRecord(c)])),
    seconds: Math.round((Date.now() - started) / 1000),
    date: new Date().toISOString(),
  };
  console.log(
    `\nbench:peers${quick ? ' (quick)' : ''} — Chromium ${browser.version()}, cross-origin isolated, ` +
      `hardwareConcurrency ${record.hardwareConcurrency} — adapter ${adapter} — dropgpu ${record.versions.dropgpu}, ` +
      `jax-js ${record.versions['jax-js']} — ${rounds} rounds, a fresh page per side per round — ${record.seconds} s\n`,
  );
  console.log(formatRanOn(Object.values(columns)));
  console.log(`\n${formatTable(rows, [columns.dropgpu, columns['jax-js']], 'jax-js')}`);
  console.log(
    `\n${formatCeilingTable(rows, [columns.dropgpu, columns['jax-js']], columns.ceiling, 'jax-js')}`,
  );
  console.log(`\nwrote ${writeRecord(quick ? 'peers-quick' : 'peers', record)}`);
} finally {
  await browser.close();
  await server.close();
}
