import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';
import { wasmKernels } from './scripts/wasm-kernels.js';

// Library build: ES modules with every .wgsl file inlined (imported with `?raw`), so users need no
// plugin. Three entries: the library (browser and Node), `dropgpu/node` (MNIST from disk, WebGPU via
// Dawn) and the CLI. Node's built-ins and the optional `webgpu` package stay imports; the CLI's
// progress bar is bundled, so the package has no runtime dependencies. Type declarations come from
// `tsc -p tsconfig.build.json` (see `npm run build`).
export default defineConfig({
  plugins: [wasmKernels()],
  build: {
    lib: {
      entry: { dropgpu: 'src/index.ts', node: 'src/node/index.ts', cli: 'src/cli/main.ts' },
      formats: ['es'],
    },
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      external: ['webgpu', ...builtinModules, ...builtinModules.map((name) => `node:${name}`)],
      output: {
        // Classes and functions keep their names through bundling and Oxc's minifier: an error's
        // constructor.name is 'ArgumentError' (not 't'), and console.log shows [ArgumentError].
        // (Vite 8 builds with Rolldown; esbuild.keepNames would not reach it.)
        keepNames: true,
        // The bundled progress bar is CommonJS and requires Node built-ins: give the CLI a require.
        banner: (chunk) =>
          chunk.name === 'cli'
            ? "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);"
            : '',
      },
    },
  },
});
