import { existsSync } from 'node:fs';
import { playwright } from '@vitest/browser-playwright';
import { chromium } from 'playwright';
import { defineConfig } from 'vitest/config';

/**
 * Two projects: `node` (CPU reference, RNG, graph, WGSL parsing: no browser needed) and `browser`
 * (headless Chromium with WebGPU, for the GPU conformance suite).
 *
 * Chromium is found in this order: $DROPGPU_CHROMIUM, /usr/bin/chromium (Debian's package), then
 * Playwright's own download (`npx playwright install chromium`).
 */
function findChromium(): string | undefined {
  const candidates = [process.env.DROPGPU_CHROMIUM, '/usr/bin/chromium', safePlaywrightPath()];
  return candidates.find(
    (path): path is string => typeof path === 'string' && path !== '' && existsSync(path),
  );
}

function safePlaywrightPath(): string | undefined {
  try {
    return chromium.executablePath();
  } catch {
    return undefined;
  }
}

// Vitest 5's reporter calls Map.groupBy (Node ≥ 21) when it prints failures; this project supports
// Node 20, where without this the failure report itself crashes.
if (!('groupBy' in Map)) {
  Object.defineProperty(Map, 'groupBy', {
    value<K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> {
      const groups = new Map<K, T[]>();
      let index = 0;
      for (const item of items) {
        const k = key(item, index++);
        const group = groups.get(k);
        if (group) group.push(item);
        else groups.set(k, [item]);
      }
      return groups;
    },
  });
}

const chromiumPath = findChromium();
const wantsBrowser = !process.argv.some((arg, i) => arg === '--project' && process.argv[i + 1] === 'node');
if (!chromiumPath && wantsBrowser) {
  throw new Error(
    'No Chromium found for the browser tests. Install one: `sudo apt-get install chromium` (Debian/Ubuntu), ' +
      'or `npx playwright install chromium`, or set DROPGPU_CHROMIUM=/path/to/chrome. ' +
      'To run only the CPU tests: `npx vitest run --project node`.',
  );
}

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    // Read by the GPU tests: with CI set, a missing WebGPU adapter fails the run instead of skipping.
    provide: { ci: Boolean(process.env.CI) },
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // One device at a time: software adapters are slow and device loss is per process.
          fileParallelism: false,
          testTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: {
                ...(chromiumPath ? { executablePath: chromiumPath } : {}),
                args: [
                  '--no-sandbox',
                  '--enable-unsafe-webgpu',
                  '--disable-background-networking',
                  '--disable-component-update',
                  '--disable-sync',
                  '--no-first-run',
                ],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});

declare module 'vitest' {
  export interface ProvidedContext {
    ci: boolean;
  }
}
