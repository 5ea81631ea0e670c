/**
 * `vite-node bench/fit-reports.ts [wasm|webgpu] [steps] [hidden]`: what progress reports cost `fit`. Times
 * one fit of a [784, hidden, hidden, 10] net (default 256; B = 128, synthetic data kept on the device) with a report every
 * step, and one with a single report per epoch; the difference is the readbacks' cost. WebGPU comes
 * from Dawn (the optional `webgpu` package), e.g. on lavapipe:
 *
 *   VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json npx vite-node bench/fit-reports.ts webgpu
 *
 * Never run by CI.
 */
import { createBackend, dataset, fit, mlp, sgd } from '../src/index.js';

const kind = process.argv[2] === 'webgpu' ? 'webgpu' : 'wasm';
const steps = Number(process.argv[3] ?? 64);
const hidden = Number(process.argv[4] ?? 256);
const batchSize = 128;

let backend: Awaited<ReturnType<typeof createBackend>>;
if (kind === 'webgpu') {
  const webgpu = await import('webgpu');
  // Our WebGPU code reads GPUBufferUsage and GPUMapMode as globals, as in a browser.
  Object.assign(globalThis, webgpu.globals);
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  backend = await createBackend('webgpu', { gpu: webgpu.create([]) as unknown as GPU });
} else {
  backend = await createBackend('wasm');
}
console.log(`${backend.kind}: ${backend.description}`);

const n = steps * batchSize;
const x = Float32Array.from({ length: n * 784 }, (_, i) => ((i * 2654435761) >>> 24) / 255);
const data = dataset(
  x,
  Array.from({ length: n }, (_, i) => i % 10),
  784,
  10,
);
const spec = mlp({ sizes: [784, hidden, hidden, 10], keepProb: { input: 0.8, hidden: 0.5 }, seed: 1 });

async function time(reportEvery: number): Promise<number> {
  const net = await backend.compile(spec, { batchSize, optimizer: sgd({ lr: 0.05, momentum: 0.9 }) });
  await fit(net, data, { epochs: 1, reportEvery: steps }); // upload, pipelines, warm-up
  const start = performance.now();
  await fit(net, data, { epochs: 2, reportEvery, shuffle: false });
  const ms = (performance.now() - start) / (2 * steps);
  net.dispose();
  return ms;
}

for (let round = 0; round < 3; round++) {
  const every = await time(1);
  const once = await time(steps);
  console.log(
    `round ${round}: report every step ${every.toFixed(2)} ms/step, once per epoch ${once.toFixed(2)} ms/step`,
  );
}
backend.dispose();
