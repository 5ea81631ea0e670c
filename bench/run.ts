/**
 * `npm run bench [suite]`: serves the project with Vite on 127.0.0.1, opens bench/index.html in
 * headless Chromium (the same flags as the tests), waits for the suite, prints a table and writes
 * bench/results/<suite>-<timestamp>.json with the adapter and browser version. Never run by CI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { createServer } from 'vite';
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM_MESSAGE } from '../scripts/chromium.js';
import type { BenchResult } from './page.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const suite = process.argv[2] ?? 'matmul';
const executablePath = findChromium();
if (!executablePath) throw new Error(NO_CHROMIUM_MESSAGE);

const server = await createServer({ root, logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
await server.listen();
const address = server.httpServer?.address();
const port = typeof address === 'object' && address ? address.port : 0;
const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage();
  page.on('console', (message) => console.log(`  ${message.text()}`));
  await page.goto(`http://127.0.0.1:${port}/bench/index.html?suite=${encodeURIComponent(suite)}`);
  const handle = await page.waitForFunction(() => window.benchResult, null, { timeout: 0, polling: 500 });
  const result = (await handle.jsonValue()) as BenchResult | { error: string };
  if ('error' in result) throw new Error(result.error);
  const record = { ...result, browser: browser.version(), date: new Date().toISOString() };
  console.log(`\n${suite} — ${result.adapter} — Chromium ${browser.version()}\n`);
  console.log('| benchmark | median | min | max | unit |\n|---|---|---|---|---|');
  for (const t of result.timings) {
    console.log(
      `| ${t.name} | ${t.median.toFixed(2)} | ${t.min.toFixed(2)} | ${t.max.toFixed(2)} | ${t.unit} |`,
    );
  }
  const file = join(root, 'bench', 'results', `${suite}-${record.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
} finally {
  await browser.close();
  await server.close();
}
