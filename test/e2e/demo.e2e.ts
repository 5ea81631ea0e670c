/**
 * End-to-end test of the demo page (`npm run test:e2e`, after `npm run build:demo`): serves dist-demo/
 * on 127.0.0.1 with `vite preview`, drives headless Chromium (WebGPU on whatever adapter it has, e.g.
 * SwiftShader) through one small training run, a short dropout-vs-no-dropout run with a pause, a drawn
 * digit, and a save/load round trip. Fails on any console error or warning, page error, failed request,
 * or request that leaves the page's origin. Writes docs/demo.png (1280×800) and a narrow-screen
 * screenshot into the system's temp folder.
 *
 * E2E_COMPARE_EPOCHS, E2E_COMPARE_TRAIN and E2E_COMPARE_HIDDEN (e.g. "256, 256") raise the comparison's
 * size, for a README screenshot.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright';
import { preview } from 'vite';
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM_MESSAGE } from '../../scripts/chromium.js';

const COMPARE_EPOCHS = Number(process.env.E2E_COMPARE_EPOCHS ?? 3);
const COMPARE_TRAIN = Number(process.env.E2E_COMPARE_TRAIN ?? 500);
const COMPARE_HIDDEN = process.env.E2E_COMPARE_HIDDEN ?? '64';
const TRAINING_TIMEOUT = 120_000 + COMPARE_EPOCHS * 10_000;

class E2eFailure extends Error {
  override name = 'E2eFailure';
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new E2eFailure(message);
}

const executablePath = findChromium();
if (!executablePath) throw new E2eFailure(NO_CHROMIUM_MESSAGE);

const started = Date.now();
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (message: string) => console.log(`[${seconds()}] ${message}`);

const server = await preview({
  configFile: 'vite.demo.config.ts',
  logLevel: 'error',
  preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
});
const address = server.httpServer.address();
const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
const problems: string[] = [];

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  watch(page);
  // Keeps every GPUDevice the page opens, so the test can make one fail (see step 2).
  await page.addInitScript(() => {
    const requestDevice = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, ...args) {
      const device = await requestDevice.apply(this, args);
      const page = window as unknown as { devices?: GPUDevice[] };
      page.devices = [...(page.devices ?? []), device];
      return device;
    };
  });
  await page.goto(`${origin}/`);
  await page.waitForSelector('#start:not([disabled])', { timeout: 60_000 });
  const adapter = await page.textContent('#adapter');
  log(`page ready; ${adapter}`);
  check(!/No WebGPU/.test(adapter ?? '') || !process.env.CI, `no WebGPU in CI: ${adapter}`);
  check(
    await page.evaluate(() => crossOriginIsolated),
    'the demo is not cross-origin isolated (Wasm threads)',
  );
  const chosen = await page.inputValue('[name="backend"]');
  check(
    !/swiftshader/i.test(adapter ?? '') || chosen === 'wasm',
    `on a software adapter the page chose ${chosen}`,
  );

  // 1. One small run: the training loss must go down and both charts must draw.
  await setFields(page, { hidden: '64', trainSize: '500', testSize: '500', epochs: '2', batchSize: '50' });
  await page.evaluate(() => {
    // Every training-loss figure the page shows, in order.
    const losses: number[] = [];
    (window as unknown as { losses: number[] }).losses = losses;
    const cell = () => document.querySelector<HTMLElement>('[data-member="0"][data-stat="train-loss"]');
    new MutationObserver(() => {
      const value = Number(cell()?.dataset.value);
      if (Number.isFinite(value) && value !== losses[losses.length - 1]) losses.push(value);
    }).observe(document.getElementById('stats') as HTMLElement, {
      subtree: true,
      attributes: true,
      childList: true,
    });
  });
  await page.click('#start');
  await waitForProgress(page, /^Done/);
  const losses = await page.evaluate(() => (window as unknown as { losses: number[] }).losses);
  log(`one net: training losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  check(losses.length >= 3, `expected at least 3 loss reports, got ${losses.length}`);
  check(
    (losses[losses.length - 1] as number) < (losses[0] as number) * 0.8,
    `the loss did not go down: ${losses[0]} → ${losses[losses.length - 1]}`,
  );
  const testAccuracy = Number(
    await page.getAttribute('[data-member="0"][data-stat="test-accuracy"]', 'data-value'),
  );
  check(testAccuracy > 0.5, `test accuracy after 2 epochs: ${testAccuracy}`);
  for (const chart of ['#chart-loss', '#chart-accuracy']) {
    check((await inkOf(page, chart, [0x93, 0xc5, 0xfd])) > 50, `${chart}: no training curve drawn`);
    check((await inkOf(page, chart, [0x25, 0x63, 0xeb])) > 20, `${chart}: no test curve drawn`);
  }
  await page.waitForSelector('#mistakes figure');
  log(`one net done: test accuracy ${(testAccuracy * 100).toFixed(1)}%, charts drawn, mistakes shown`);

  // 2. On WebGPU, a device lost mid-run is reported, and training resumes from the last epoch's
  // parameters (destroying the page's device from outside is a loss the library did not cause).
  await page.selectOption('[name="backend"]', 'webgpu');
  await setFields(page, { epochs: '3' });
  await page.click('#start');
  await waitForProgress(page, /epoch (1\.[3-9]|2\.)/);
  await page.evaluate(() => {
    const devices = (window as unknown as { devices: GPUDevice[] }).devices;
    devices[devices.length - 1]?.destroy();
  });
  await page.waitForSelector('#notice-resume:visible');
  const notice = await page.textContent('#notice-text');
  check(/DeviceLostError/.test(notice ?? ''), `device failure notice: ${notice}`);
  await page.click('#notice-resume');
  await page.waitForSelector('#notice', { state: 'hidden' });
  await waitForProgress(page, /^Done/);
  log(`device failure reported ("${notice?.slice(0, 60)}…") and training resumed to the end`);

  // 3. Dropout vs no dropout, paused and resumed once.
  await page.check('input[name="mode"][value="compare"]');
  await setFields(page, {
    trainSize: String(COMPARE_TRAIN),
    epochs: String(COMPARE_EPOCHS),
    hidden: COMPARE_HIDDEN,
    batchSize: '50',
  });
  await page.click('#start');
  await page.waitForFunction(() => Number(document.getElementById('chart-loss')?.dataset.points) >= 3);
  await page.click('#pause');
  await page.waitForSelector('#pause:text("Resume")');
  await waitForProgress(page, /paused$/);
  await page.click('#pause');
  await waitForProgress(page, /^Done/);
  const points = Number(await page.getAttribute('#chart-loss', 'data-points'));
  check(
    points === 2 * (COMPARE_EPOCHS + 1),
    `comparison: ${points} chart points, not ${2 * (COMPARE_EPOCHS + 1)}`,
  );
  for (const chart of ['#chart-loss', '#chart-accuracy']) {
    check((await inkOf(page, chart, [0x25, 0x63, 0xeb])) > 20, `${chart}: no dropout curves drawn`);
    check((await inkOf(page, chart, [0xea, 0x58, 0x0c])) > 20, `${chart}: no no-dropout curves drawn`);
  }
  const figures = await page.$$eval('#stats td', (cells) =>
    cells.map((c) => (c as HTMLElement).dataset.value),
  );
  check(
    figures.length === 8 && figures.every((v) => Number.isFinite(Number(v))),
    `comparison stats: ${figures}`,
  );
  log(`comparison done (paused and resumed once): ${figures.map((v) => Number(v).toFixed(3)).join(' ')}`);

  // 4. Draw a 7 and get a prediction with MC-dropout uncertainty.
  const pad = await page.locator('#pad').boundingBox();
  check(pad, 'no drawing pad');
  const at = (x: number, y: number) => [pad.x + pad.width * x, pad.y + pad.height * y] as const;
  await page.mouse.move(...at(0.25, 0.22));
  await page.mouse.down();
  await page.mouse.move(...at(0.75, 0.22), { steps: 8 });
  await page.mouse.move(...at(0.45, 0.85), { steps: 10 });
  await page.mouse.up();
  await page.waitForSelector('#probs[data-predicted]');
  const predicted = await page.getAttribute('#probs', 'data-predicted');
  const caption = await page.textContent('#probs-caption');
  check(/MC dropout/.test(caption ?? ''), `prediction caption: ${caption}`);
  log(`drew a 7: the net says ${predicted}`);

  // 5. Save the model and load it back.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  const saved = join(mkdtempSync(join(tmpdir(), 'dropgpu-e2e-')), download.suggestedFilename());
  await download.saveAs(saved);
  await page.setInputFiles('#load', saved);
  await page.waitForFunction(() =>
    /^Loaded/.test(document.getElementById('files-status')?.textContent ?? ''),
  );
  await page.waitForSelector('#probs[data-predicted]');
  log(`saved and loaded ${download.suggestedFilename()}`);

  // 6. Screenshots: 1280×800 for the README, and a narrow screen that must not scroll sideways.
  await page.evaluate(() => window.scrollTo(0, 0));
  // docs/demo.png (the README's) only when asked: UPDATE_SCREENSHOT=1 npm run test:e2e.
  const wide = process.env.UPDATE_SCREENSHOT ? 'docs/demo.png' : join(tmpdir(), 'dropgpu-demo.png');
  await page.screenshot({ path: wide });
  await page.setViewportSize({ width: 420, height: 900 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the narrow page scrolls sideways by ${overflow} px`);
  const narrow = join(tmpdir(), 'dropgpu-demo-narrow.png');
  await page.screenshot({ path: narrow, fullPage: true });
  log(`screenshots: ${wide}, ${narrow}`);

  // 7. Without WebGPU the page says so and trains on the Wasm backend.
  const plain = await context.newPage();
  watch(plain);
  await plain.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
  });
  await plain.goto(`${origin}/`);
  await plain.waitForSelector('#start:not([disabled])', { timeout: 60_000 });
  const fallback = await plain.textContent('#notice-text');
  check(/WebGPU is not available/.test(fallback ?? ''), `no notice without WebGPU: ${fallback}`);
  check(
    (await plain.inputValue('[name="backend"]')) === 'wasm',
    'the Wasm backend is not selected without WebGPU',
  );
  await setFields(plain, { hidden: '32', trainSize: '300', testSize: '200', epochs: '1', batchSize: '50' });
  await plain.click('#start');
  await waitForProgress(plain, /^Done/);
  log(`without WebGPU: notice shown; ${await plain.textContent('#adapter')}`);

  check(problems.length === 0, `the page reported problems:\n  ${problems.join('\n  ')}`);
  log('demo e2e: passed');
} finally {
  await browser.close();
  await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
}

/** Records the page's console errors and warnings, page errors, failed requests and off-origin requests. */
function watch(page: Page): void {
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'data:' && url.protocol !== 'blob:' && url.origin !== origin) {
      problems.push(`request left the page's origin: ${request.url()}`);
    }
  });
}

/** Types into the form's named fields. */
async function setFields(page: Page, fields: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(fields)) await page.fill(`[name="${name}"]`, value);
}

/** Waits until the progress line matches, failing early if the page shows an error notice. */
async function waitForProgress(page: Page, pattern: RegExp): Promise<void> {
  await page.waitForFunction(
    (source) => {
      const text = document.getElementById('progress-text')?.textContent ?? '';
      const notice = document.getElementById('notice') as HTMLElement;
      if (!notice.hidden && notice.classList.contains('error'))
        throw new Error(`${text} ${notice.textContent}`);
      return new RegExp(source).test(text);
    },
    pattern.source,
    { timeout: TRAINING_TIMEOUT, polling: 200 },
  );
}

/** Pixels of a chart's canvas within a small distance of `rgb`: proof that a series was drawn. */
function inkOf(page: Page, chart: string, rgb: readonly [number, number, number]): Promise<number> {
  return page.$eval(
    `${chart} canvas`,
    (source, [r, g, b]) => {
      // Read through a copy: reading uPlot's own canvas repeatedly makes Chromium warn on the console.
      const { width, height } = source as HTMLCanvasElement;
      const copy = document.createElement('canvas');
      copy.width = width;
      copy.height = height;
      const context = copy.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
      context.drawImage(source as HTMLCanvasElement, 0, 0);
      const { data } = context.getImageData(0, 0, width, height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        const d =
          Math.abs((data[i] as number) - r) +
          Math.abs((data[i + 1] as number) - g) +
          Math.abs((data[i + 2] as number) - b);
        if (d < 40 && (data[i + 3] as number) > 200) count++;
      }
      return count;
    },
    rgb,
  );
}
