/**
 * `npm run bench [matmul|train|infer|all] [--quick]`: serves the project with Vite on 127.0.0.1, opens
 * bench/index.html in headless Chromium (the same flags as the tests), lets the page measure dropgpu
 * and TensorFlow.js side by side on the same adapter, prints the table and writes
 * bench/results/<suites>-<timestamp>.json. Never run by CI or `npm test`.
 */
import { chromium } from 'playwright';
import { createServer } from 'vite';
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM_MESSAGE } from '../scripts/chromium.js';
import type { PageResult } from './page.js';
import {
  formatExplore,
  formatTable,
  formatTuning,
  packageVersion,
  parseCli,
  ROOT,
  writeRecord,
} from './report.js';
import { parseSuites } from './suites.js';

const cli = parseCli(process.argv.slice(2));
const suites = parseSuites(cli.suites);
const executablePath = findChromium();
if (!executablePath) throw new Error(NO_CHROMIUM_MESSAGE);

const server = await createServer({
  root: ROOT,
  logLevel: 'error',
  // No HMR and no watching: others edit src/ while a run lasts minutes, and a reload restarts it.
  server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  // Pre-bundle TF.js before the page loads: discovered late, Vite reloads the page mid-run.
  optimizeDeps: {
    entries: ['bench/index.html'],
    include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu'],
  },
});
await server.listen();
const address = server.httpServer?.address();
const port = typeof address === 'object' && address ? address.port : 0;
const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
const started = Date.now();
try {
  const page = await browser.newPage();
  page.on('console', (message) => console.log(`  ${message.text()}`));
  page.on('pageerror', (error) => console.error(`  page error: ${error.message}`));
  let loads = 0;
  const crashed = new Promise<never>((_, reject) => {
    page.on('crash', () => reject(new Error('the page crashed (GPU process lost?)')));
    page.on('load', () => {
      if (++loads > 1) reject(new Error('the page reloaded mid-run; its measurements are lost'));
    });
  });
  const query = `suites=${suites.join(',')}${cli.quick ? '&quick=1' : ''}${cli.autotune ? '' : '&autotune=0'}`;
  await page.goto(`http://127.0.0.1:${port}/bench/index.html?${query}`);
  const handle = await Promise.race([
    page.waitForFunction(() => window.benchResult, null, { timeout: 0, polling: 1000 }),
    crashed,
  ]);
  const result = (await handle.jsonValue()) as PageResult | { error: string };
  if ('error' in result) throw new Error(result.error);
  const record = {
    ...result,
    browser: `Chromium ${browser.version()}`,
    chromiumArgs: CHROMIUM_ARGS,
    autotune: cli.autotune,
    versions: {
      dropgpu: packageVersion('package.json'),
      tfjs: result.tfjsVersions.tfjs ?? 'unknown',
      'tfjs-backend-webgpu': packageVersion('node_modules/@tensorflow/tfjs-backend-webgpu/package.json'),
    },
    seconds: Math.round((Date.now() - started) / 1000),
    date: new Date().toISOString(),
  };
  const adapter = [result.adapter.vendor, result.adapter.architecture, result.adapter.description]
    .filter(Boolean)
    .join(' ');
  console.log(
    `\n${suites.join(', ')}${cli.quick ? ' (quick)' : ''} — adapter ${adapter} — Chromium ${browser.version()}` +
      ` — dropgpu ${record.versions.dropgpu}, TF.js ${record.versions.tfjs} — ${record.seconds} s\n`,
  );
  console.log(formatTable(result.timings));
  console.log(`\n${formatTuning(result.tuning)}`);
  if (result.explore.length > 0) console.log(`\n${formatExplore(result.explore)}`);
  const label = suites.join('+') === 'matmul+train+infer' ? 'all' : suites.join('+');
  console.log(`\nwrote ${writeRecord(cli.quick ? `${label}-quick` : label, record)}`);
} finally {
  await browser.close();
  await server.close();
}
