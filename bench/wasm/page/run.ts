/**
 * `npx vite-node bench/wasm/page/run.ts [-- 'configs=2,1&rounds=3&B=128&only=dX']`: bench/wasm/page's
 * probe in headless Chromium ($CHROMIUM_EXTRA: more flags, e.g. --js-flags=--no-wasm-dynamic-tiering), cross-origin isolated as bench/peers/run.ts serves it; prints medians per
 * row and configuration, with the load average. Never a test.
 */
import { loadavg } from 'node:os';
import { chromium } from 'playwright';
import { createServer } from 'vite';
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM_MESSAGE } from '../../../scripts/chromium.js';
import { ROOT } from '../../report.js';
import type { ProbeResult } from './page.js';

const query = process.argv[2] ?? '';
const executablePath = findChromium();
if (!executablePath) throw new Error(NO_CHROMIUM_MESSAGE);
const server = await createServer({
  root: ROOT,
  logLevel: 'error',
  server: {
    host: '127.0.0.1',
    port: 0,
    hmr: false,
    watch: null,
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
});
await server.listen();
const address = server.httpServer?.address();
const port = typeof address === 'object' && address ? address.port : 0;
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [...CHROMIUM_ARGS, ...(process.env.CHROMIUM_EXTRA?.split(' ').filter(Boolean) ?? [])],
});
try {
  const page = await browser.newPage();
  page.on('console', (message) => console.log(`  ${message.text()}`));
  const before = loadavg()[0]?.toFixed(2);
  await page.goto(`http://127.0.0.1:${port}/bench/wasm/page/index.html?${query}`);
  const handle = await page.waitForFunction(() => window.probeResult, null, { timeout: 0, polling: 500 });
  const result = (await handle.jsonValue()) as ProbeResult | { error: string };
  if ('error' in result) throw new Error(result.error);
  console.log(
    `hardwareConcurrency page ${result.hardwareConcurrency}, worker ${result.workerHardwareConcurrency}; ` +
      `load average ${before} → ${loadavg()[0]?.toFixed(2)}`,
  );
} finally {
  await browser.close();
  await server.close();
}
