import { defineConfig } from 'vite';

// Library build: one ES module with every .wgsl file inlined (imported with `?raw`), so users need
// no plugin. Type declarations come from `tsc -p tsconfig.build.json` (see `npm run build`).
export default defineConfig({
  build: {
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: 'dropgpu' },
    target: 'es2022',
    sourcemap: true,
  },
});
