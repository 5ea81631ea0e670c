import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';
import { wasmKernels } from './scripts/wasm-kernels.js';

// Library build: ES modules with every .wgsl file inlined (imported with `?raw`), so users need no
// plugin. Three entries: the library (browser and Node), `dropgpu/node` (MNIST from disk, WebGPU via
// Dawn) and the CLI. Node's built-ins and the optional `webgpu` package stay imports; the package has
// no runtime dependencies. One output file per source module (dist/index.js, dist/node/index.js,
// dist/cli/main.js, …): with `"sideEffects": false`, a user's bundler then drops every module whose
// exports go unused (importing `philox4x32` alone pulls no WGSL). No source maps: the package ships no
// sources for them to point to. Type declarations come from `tsc -p tsconfig.build.json`.
export default defineConfig({
  plugins: [wasmKernels()],
  build: {
    lib: {
      entry: { dropgpu: 'src/index.ts', node: 'src/node/index.ts', cli: 'src/cli/main.ts' },
      formats: ['es'],
    },
    target: 'es2022',
    sourcemap: false,
    rollupOptions: {
      external: ['webgpu', ...builtinModules, ...builtinModules.map((name) => `node:${name}`)],
      output: {
        preserveModules: true,
        preserveModulesRoot: 'src',
        entryFileNames: '[name].js',
        // Classes and functions keep their names through bundling and Oxc's minifier: an error's
        // constructor.name is 'ArgumentError' (not 't'), and console.log shows [ArgumentError].
        // (Vite 8 builds with Rolldown; esbuild.keepNames would not reach it.)
        keepNames: true,
      },
    },
  },
});
