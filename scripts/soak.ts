/**
 * `npm run soak [steps] [backend]`: trains a small dropout net for many steps (default 10,000) and
 * prints the backend's live buffers and bytes along the way: they must stay flat, and return to the
 * baseline after dispose. Backends: webgpu (Dawn, the optional `webgpu` package, with a Vulkan driver),
 * wasm (default) or cpu.
 */
import { createBackend, dataset, fit, mlp, sgd } from '../src/index.js';
import { nodeGpu } from '../src/node/index.js';

const steps = Number(process.argv[2] ?? 10_000);
const kind = process.argv[3] ?? 'wasm';
const backend =
  kind === 'webgpu'
    ? await createBackend('webgpu', { gpu: await nodeGpu() })
    : await createBackend(kind === 'cpu' ? 'cpu' : 'wasm');
console.log(`${backend.description}: ${steps} steps`);
const spec = mlp({ sizes: [64, 128, 128, 10], keepProb: { input: 0.8, hidden: 0.5 }, seed: 3 });
const options = { batchSize: 32, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), maxNorm: 3 };
const n = 32 * 50;
const x = Float32Array.from({ length: n * 64 }, (_, i) => Math.sin(i * 0.37));
const y = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 10);
const data = dataset(x, y, 64, 10);

const warm = await backend.compile(spec, options);
await fit(warm, data, { epochs: 1 });
warm.dispose();
const baseline = backend.memory();
const net = await backend.compile(spec, options);
const compiled = backend.memory();
console.log(`baseline ${JSON.stringify(baseline)}; after compile ${JSON.stringify(compiled)}`);
const epochs = Math.ceil(steps / 50);
let flat = true;
// What the first report sees: the net plus its dataset on the device (fit uploads it once).
let training: { buffers: number; bytes: number } | undefined;
const history = await fit(net, data, {
  epochs,
  reportEvery: 50,
  onProgress: (p) => {
    const memory = backend.memory();
    training ??= memory;
    if (memory.buffers !== training.buffers || memory.bytes !== training.bytes) flat = false;
    if (p.phase === 'epoch' && p.epoch % Math.max(1, Math.floor(epochs / 10)) === 0) {
      console.log(`step ${p.step}: loss ${p.loss.toFixed(4)}, memory ${JSON.stringify(memory)}`);
    }
  },
});
const finite = history.epochs.every((e) => Number.isFinite(e.trainLoss));
const trained = backend.memory();
net.dispose();
const after = backend.memory();
console.log(`after ${net.step} steps ${JSON.stringify(trained)}; after dispose ${JSON.stringify(after)}`);
const ok = flat && finite && after.buffers === baseline.buffers && after.bytes === baseline.bytes;
console.log(ok ? 'flat: yes; losses finite; back to baseline' : 'MEMORY OR LOSS PROBLEM');
backend.dispose();
process.exit(ok ? 0 : 1);
