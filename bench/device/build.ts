/**
 * `npm run bench:device`: builds dist/bench-device/, a folder that runs the device benchmark
 * (bench/device/main.ts) on any Linux x64 machine with a Vulkan driver, from wherever it is copied,
 * with one command and nothing from the network:
 *
 *   run.sh                       the command: `./run.sh [--quick] [--out file.json]`
 *   bench.mjs                    the benchmark and probe, bundled (dropgpu, its WGSL, the suites)
 *   node_modules/webgpu/         Dawn for Node: index.js, package.json, dist/linux-x64/dawn.node
 *   node.xz                      the Node binary running this build, xz-compressed (unpacked by run.sh)
 *   torch_bench.py               the PyTorch twin of the training rows (run when torch imports)
 *
 * `npm run bench:device -- --run [--quick]` then runs it from a copy in a temporary folder (what a
 * lent GPU machine does), here. Fails if the folder exceeds 60 MiB.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { wasmKernels } from '../../scripts/wasm-kernels.js';
import { ROOT } from '../report.js';

const MAX_BYTES = 60 * 2 ** 20;
const out = join(ROOT, 'dist', 'bench-device');
const args = process.argv.slice(2);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  root: ROOT,
  configFile: false,
  logLevel: 'warn',
  plugins: [wasmKernels()],
  ssr: { noExternal: true, target: 'node' },
  build: {
    ssr: join(ROOT, 'bench/device/main.ts'),
    outDir: out,
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    rollupOptions: {
      external: ['webgpu', ...builtinModules, ...builtinModules.map((name) => `node:${name}`)],
      output: { entryFileNames: 'bench.mjs', inlineDynamicImports: true, format: 'es' },
    },
  },
});

const webgpu = join(ROOT, 'node_modules', 'webgpu');
const dawn = join(out, 'node_modules', 'webgpu');
mkdirSync(join(dawn, 'dist', 'linux-x64'), { recursive: true });
for (const file of ['index.js', 'package.json', 'LICENSE.md'])
  copyFileSync(join(webgpu, file), join(dawn, file));
copyFileSync(join(webgpu, 'dist', 'linux-x64', 'dawn.node'), join(dawn, 'dist', 'linux-x64', 'dawn.node'));
copyFileSync(join(ROOT, 'bench/device/run.sh'), join(out, 'run.sh'));
copyFileSync(join(ROOT, 'bench/device/torch_bench.py'), join(out, 'torch_bench.py'));
spawnSync('chmod', ['+x', join(out, 'run.sh')]);
// Compressed once per Node version (xz takes minutes on 2 busy cores), then copied.
const nodeXz = join(ROOT, 'dist', `node-${process.version}-${process.arch}.xz`);
if (!existsSync(nodeXz)) {
  const xz = spawnSync(
    'sh',
    ['-c', `xz -6 -T0 -c "${process.execPath}" > "${nodeXz}.tmp" && mv "${nodeXz}.tmp" "${nodeXz}"`],
    {
      stdio: 'inherit',
    },
  );
  if (xz.status !== 0) throw new Error('xz failed: install xz-utils');
}
copyFileSync(nodeXz, join(out, 'node.xz'));
writeFileSync(
  join(out, 'README.txt'),
  `dropgpu device benchmark, built ${new Date().toISOString()} with Node ${process.version}.\n` +
    'Run: ./run.sh [--quick] [--out file.json]  (Linux x64, a Vulkan driver; writes device-bench.json)\n',
);

const sizeOf = (path: string): number =>
  statSync(path).isDirectory()
    ? readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0)
    : statSync(path).size;
const bytes = sizeOf(out);
console.log(`built ${out}: ${(bytes / 2 ** 20).toFixed(1)} MiB`);
if (bytes > MAX_BYTES) throw new Error(`the folder is ${(bytes / 2 ** 20).toFixed(1)} MiB, over 60 MiB`);

if (args.includes('--run')) {
  const copy = mkdtempSync(join(tmpdir(), 'bench-device-'));
  cpSync(out, copy, { recursive: true });
  const started = Date.now();
  const run = spawnSync(
    join(copy, 'run.sh'),
    args.filter((arg) => arg !== '--run'),
    {
      stdio: 'inherit',
      cwd: tmpdir(),
      env: { ...process.env, PATH: '/usr/bin:/bin' },
    },
  );
  console.log(`ran the copy in ${copy}: exit ${run.status}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (run.status !== 0) process.exit(run.status ?? 1);
  copyFileSync(join(copy, 'device-bench.json'), join(ROOT, 'bench/results', `device-${Date.now()}.json.tmp`));
}
