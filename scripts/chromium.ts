/**
 * Finding and launching the Chromium the browser tests and benchmarks use: $DROPGPU_CHROMIUM, then
 * Debian's /usr/bin/chromium, then Playwright's own download. WebGPU needs --enable-unsafe-webgpu on
 * Linux; the other flags keep a headless Chromium from reaching for the network.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const NO_CHROMIUM_MESSAGE =
  'No Chromium found. Install one: `sudo apt-get install chromium` (Debian/Ubuntu), ' +
  'or `npx playwright install chromium`, or set DROPGPU_CHROMIUM=/path/to/chrome.';

export function findChromium(): string | undefined {
  let playwrightOwn: string | undefined;
  try {
    playwrightOwn = chromium.executablePath();
  } catch {
    playwrightOwn = undefined;
  }
  const candidates = [process.env.DROPGPU_CHROMIUM, '/usr/bin/chromium', playwrightOwn];
  return candidates.find(
    (path): path is string => typeof path === 'string' && path !== '' && existsSync(path),
  );
}
