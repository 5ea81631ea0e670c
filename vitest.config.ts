import { playwright } from '@vitest/browser-playwright';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM_MESSAGE } from './scripts/chromium.js';
import { wasmKernels } from './scripts/wasm-kernels.js';

/**
 * Two projects: `node` (CPU reference, RNG, graph, WGSL parsing: no browser needed) and `browser`
 * (headless Chromium with WebGPU, for the GPU conformance suite). Chromium: see scripts/chromium.ts.
 */

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
  throw new Error(`${NO_CHROMIUM_MESSAGE} To run only the CPU tests: \`npx vitest run --project node\`.`);
}

/**
 * DROPGPU_DAWN=1: the GPU kernel files in Node through Dawn on the Vulkan driver that VK_ICD_FILENAMES
 * names (test/dawn/setup.ts). Not part of `npm test`: it needs a Vulkan driver. `npm run test:lavapipe`
 * (in CI) runs every matmul candidate on lavapipe; `DROPGPU_DAWN=1 npx vitest run --project dawn` runs
 * kernels.test.ts too (about 10 minutes here).
 */
const dawnProject: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    name: 'dawn',
    environment: 'node',
    include: ['test/browser/matmul-candidates.test.ts', 'test/browser/kernels.test.ts'],
    setupFiles: ['test/dawn/setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
  },
};

export default defineConfig({
  plugins: [wasmKernels()],
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    // Read by the GPU tests: with CI set, a missing WebGPU adapter fails the run instead of skipping.
    // allCandidates: every matmul candidate on every case (test/browser/matmul-candidates.test.ts).
    provide: { ci: Boolean(process.env.CI), allCandidates: Boolean(process.env.DROPGPU_ALL_CANDIDATES) },
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
        // Cross-origin isolated, as the Wasm backend's threads need (SharedArrayBuffer).
        server: {
          headers: {
            'Cross-Origin-Opener-Policy': 'same-origin',
            'Cross-Origin-Embedder-Policy': 'require-corp',
          },
        },
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // Every GPU matmul candidate's bits on every case: `npm run test:candidates` (CI), not `npm
          // test` (a pipeline takes a second to compile on SwiftShader; kernels.test.ts checks the
          // first candidate of each kernel file in its fused-update tests).
          exclude: process.env.DROPGPU_ALL_CANDIDATES ? [] : ['test/browser/matmul-candidates.test.ts'],
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
                args: CHROMIUM_ARGS,
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      ...(process.env.DROPGPU_DAWN ? [dawnProject] : []),
    ],
  },
});

declare module 'vitest' {
  export interface ProvidedContext {
    ci: boolean;
    allCandidates: boolean;
  }
}
