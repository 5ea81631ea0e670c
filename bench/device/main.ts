/**
 * The device benchmark (`npm run bench:device` builds it into a folder; see bench/device/build.ts):
 * dropgpu alone in Node on Dawn, on whatever GPU and Vulkan driver the machine has, writing one JSON:
 *
 *   adapter, features, limits  what the adapter offers (and what dropgpu's device got)
 *   roundTrip                  an empty submit and its completion, ms
 *   ceiling                    the fp32 FMA throughput reachable through Dawn (bench/device/fma.wgsl)
 *   matmul                     every bench shape and 1024³/2048³/4096³: every candidate kernel's time,
 *                              GFLOP/s and whether its bits equal the default's; the autotuner's choice
 *   train                      784-1024-1024-10 at B = 128/512/2048: loss read every step, every 20
 *                              steps, and every 20 with the data resident (`trainRows`)
 *   pytorch                    the same training in PyTorch eager fp32 (bench/device/torch_bench.py)
 *                              when `python3 -c "import torch"` works on the machine
 *
 * Usage: `node bench.mjs [--quick] [--out file.json]` (run.sh in the folder does it with the bundled
 * Node). Shapes whose default kernel would take too long on this adapter are skipped and say so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BoundTuning, bindGpuKernel } from '../../src/kernels/gpu.js';
import { OPS } from '../../src/ops/index.js';
import { type MatmulParams, PLAIN_EPILOGUE } from '../../src/ops/matmul.js';
import {
  chooseKernel,
  isSoftwareAdapterName,
  measureCandidates,
  tuningRecords,
} from '../../src/webgpu/autotune.js';
import { type BenchCase, makeBatches, measureCase, type Timing } from '../measure.js';
import { openDropgpu } from '../ours.js';
import { type MatmulShape, matmulShapes, SIZES } from '../suites.js';
import fmaWgsl from './fma.wgsl?raw';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIndex = args.indexOf('--out');
const outFile = outIndex >= 0 ? (args[outIndex + 1] ?? 'device-bench.json') : 'device-bench.json';
const log = (line: string) => console.log(line);
const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(0);
/** Past this many seconds the rest is skipped (and says so): the run stays within 10 minutes. */
const BUDGET_S = quick ? 150 : 400;
const overBudget = (share = 1) => (Date.now() - started) / 1000 > BUDGET_S * share;

let webgpu: typeof import('webgpu');
try {
  webgpu = await import('webgpu');
} catch (error) {
  console.error(`Dawn (the webgpu package) does not load here: ${String(error)}`);
  process.exit(1);
}
Object.assign(globalThis, webgpu.globals);
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const gpu = webgpu.create(process.env.DAWN_ADAPTER ? [`adapter=${process.env.DAWN_ADAPTER}`] : []);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.error('No WebGPU adapter from Dawn: it needs a Vulkan driver (libvulkan1 and a GPU ICD).');
  process.exit(1);
}

const LIMIT_NAMES = [
  'maxTextureDimension2D',
  'maxBindGroups',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxBufferSize',
  'minStorageBufferOffsetAlignment',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;
const limitsOf = (limits: GPUSupportedLimits) =>
  Object.fromEntries(LIMIT_NAMES.map((name) => [name, (limits as unknown as Record<string, number>)[name]]));

const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
const record: Record<string, unknown> = {
  adapter: {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? false,
    vulkanIcd: process.env.VK_ICD_FILENAMES ?? '',
  },
  features: [...adapter.features].sort(),
  limits: limitsOf(adapter.limits),
  quick,
  node: process.version,
  date: new Date().toISOString(),
};
log(`adapter: ${JSON.stringify(record.adapter)}`);
const write = () => {
  record.seconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(outFile, `${JSON.stringify(record, null, 1)}\n`);
};

const ours = await openDropgpu({ gpu }, log);
const { device } = ours;
const queue = device.gpu.queue;
record.deviceLimits = limitsOf(device.gpu.limits);
record.deviceFeatures = [...device.gpu.features].sort();
const timestamps = device.gpu.features.has('timestamp-query');

// ---- Empty-submit round trip.
{
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const start = performance.now();
    queue.submit([device.gpu.createCommandEncoder({ label: 'bench:device empty' }).finish()]);
    await queue.onSubmittedWorkDone();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  record.roundTrip = { medianMs: times[15], minMs: times[0] };
  log(`round trip: ${times[15]?.toFixed(3)} ms (median of 30 empty submits)`);
}

/** GPU milliseconds of one pass (timestamp-query), or the wall clock around submit → done. */
async function timePass(encode: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const gpuDevice = device.gpu;
  const querySet = timestamps
    ? gpuDevice.createQuerySet({ label: 'bench:device timestamps', type: 'timestamp', count: 2 })
    : null;
  const resolve = timestamps
    ? gpuDevice.createBuffer({
        label: 'bench:device resolve',
        size: 16,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      })
    : null;
  const read = timestamps
    ? gpuDevice.createBuffer({
        label: 'bench:device stamps',
        size: 16,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      })
    : null;
  const encoder = gpuDevice.createCommandEncoder({ label: 'bench:device' });
  const pass = encoder.beginComputePass({
    label: 'bench:device',
    ...(querySet
      ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } }
      : {}),
  });
  encode(pass);
  pass.end();
  if (querySet && resolve && read) {
    encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, 16);
  }
  await queue.onSubmittedWorkDone();
  const start = performance.now();
  queue.submit([encoder.finish()]);
  await queue.onSubmittedWorkDone();
  let ms = performance.now() - start;
  if (read) {
    await read.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    const ns = Number((end ?? 0n) - (begin ?? 0n));
    if (ns > 0 && ns / 1e6 <= ms * 1.5 + 1) ms = ns / 1e6;
  }
  querySet?.destroy();
  resolve?.destroy();
  read?.destroy();
  return ms;
}

// ---- The FMA ceiling.
{
  const module = device.gpu.createShaderModule({ label: 'bench:device fma', code: fmaWgsl });
  const iterations = quick ? 1024 : 4096;
  const pipeline = await device.gpu.createComputePipelineAsync({
    label: 'bench:device fma',
    layout: 'auto',
    compute: { module, entryPoint: 'main', constants: { WorkgroupSize: 256, Iterations: iterations } },
  });
  let groups = 64;
  const rows: { groups: number; ms: number; gflops: number }[] = [];
  let best = 0;
  for (;;) {
    const out = device.gpu.createBuffer({
      label: 'bench:device fma out',
      size: groups * 256 * 16,
      usage: GPUBufferUsage.STORAGE,
    });
    const bindGroup = device.gpu.createBindGroup({
      label: 'bench:device fma',
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: out } }],
    });
    const encode = (pass: GPUComputePassEncoder) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(groups);
    };
    await timePass(encode);
    let ms = Number.POSITIVE_INFINITY;
    for (let r = 0; r < 3; r++) ms = Math.min(ms, await timePass(encode));
    out.destroy();
    const gflops = (groups * 256 * iterations * 64) / ms / 1e6;
    rows.push({ groups, ms, gflops });
    best = Math.max(best, gflops);
    // Grow the grid until a dispatch takes long enough to be timed well, or stops getting faster.
    if (ms > 50 || groups >= 65535 || Number(elapsed()) > 60) break;
    groups = Math.min(65535, groups * 4);
  }
  record.ceiling = { gflops: best, timer: timestamps ? 'timestamp-query' : 'wall', iterations, runs: rows };
  log(`ceiling: ${best.toFixed(1)} GFLOP/s (fp32 FMA)`);
}
write();

// ---- Every matmul candidate per shape.
const squares = (quick ? [1024] : [1024, 2048, 4096]).map(
  (size): MatmulShape => ({
    label: `square ${size}`,
    M: size,
    N: size,
    K: size,
    transA: false,
    transB: false,
  }),
);
// Quick: one shape per layout of the first layer at B = 128, and square 256 (and 1024 if it is fast).
const benchShapes = quick
  ? [matmulShapes(true)[0], ...matmulShapes(true).slice(2, 5)].filter(
      (s): s is MatmulShape => s !== undefined,
    )
  : matmulShapes(false);
const shapes = [...benchShapes, ...squares];
/** A shape is skipped when its default kernel would take longer than this per dispatch (at the rate seen). */
const MAX_DISPATCH_MS = quick ? 1500 : 8000;
let defaultGflops = 0;
const matmul: unknown[] = [];
record.matmul = matmul;
const host = device.tuningHost();
const software = isSoftwareAdapterName(host.adapter);
record.softwareAdapter = software;
for (const shape of shapes) {
  const { M, N, K, transA, transB } = shape;
  const gflop = (2 * M * N * K) / 1e9;
  const predicted = defaultGflops > 0 ? (gflop / defaultGflops) * 1000 : 0;
  // The matmul rows stop starting shapes at 55% of the budget: the training rows get the rest.
  if (overBudget(0.55)) {
    matmul.push({ ...shape, skipped: `time budget (${BUDGET_S} s) spent` });
    continue;
  }
  if (predicted > MAX_DISPATCH_MS) {
    matmul.push({ ...shape, skipped: `predicted ${predicted.toFixed(0)} ms per dispatch on this adapter` });
    log(`matmul ${shape.label}: skipped (predicted ${predicted.toFixed(0)} ms per dispatch)`);
    continue;
  }
  const p: MatmulParams = { M, N, K, transA, transB, ...PLAIN_EPILOGUE };
  const bound = bindGpuKernel('matmul', OPS.matmul.kernel, p);
  const tuning = bound.tuning as BoundTuning;
  // Quick, or a CPU adapter (where each pipeline costs seconds to compile): the first workgroup shape
  // of each file only.
  const files = new Set<string>();
  const picked = tuning.timed.filter((kernel) => {
    if (!quick && !software)
      return kernel.workgroups.every((g) => g <= device.gpu.limits.maxComputeWorkgroupsPerDimension);
    if (files.has(kernel.name)) return false;
    files.add(kernel.name);
    return true;
  });
  const measured = await measureCandidates(host, 'matmul', picked, tuning.scratch, {
    rounds: quick ? 1 : 3,
  });
  const candidates = Object.fromEntries(
    picked.map((kernel, i) => {
      const ms = measured.ms[i] as number;
      return [
        kernel.variant,
        { ms, gflops: gflop / (ms / 1000), sameBits: !measured.differs[i], timed: measured.ranked[i] },
      ];
    }),
  );
  const defaultMs = measured.ms[0] as number;
  defaultGflops = gflop / (defaultMs / 1000);
  const ranked = picked
    .map((kernel, i) => ({ variant: kernel.variant, ms: measured.ms[i] as number, ok: !measured.differs[i] }))
    .filter((entry) => entry.ok)
    .sort((a, b) => a.ms - b.ms);
  // The autotuner's own choice (its stages, budget and skips), but for quick runs: there the training
  // rows' compile records it for the MLP's shapes (record.tuning).
  const chosen = quick ? null : (await chooseKernel(host, 'matmul', tuning, bound.kernel)).variant;
  const best = ranked[0];
  matmul.push({
    ...shape,
    gflop,
    timer: measured.timer,
    candidates,
    best: best?.variant,
    bestGflops: best ? gflop / (best.ms / 1000) : 0,
    chosen,
    dropped: picked.filter((_, i) => measured.differs[i]).map((kernel) => kernel.variant),
  });
  log(
    `matmul ${shape.label}: best ${best?.variant} ${(best ? gflop / (best.ms / 1000) : 0).toFixed(1)} GFLOP/s, ` +
      `default ${defaultGflops.toFixed(1)}${chosen ? `, autotuner ${chosen}` : ''} (${elapsed()} s)`,
  );
  write();
}
record.tuning = tuningRecords();

// ---- Training.
const train: Timing[] = [];
record.train = train;
const skippedTrain: string[] = [];
record.trainSkipped = skippedTrain;
for (const batchSize of quick ? [128] : [128, 512, 2048]) {
  const batches = makeBatches(4, batchSize, SIZES[0], SIZES[3]);
  // Quick (a CPU adapter takes seconds per step): windows of 4 steps instead of 20.
  const every = quick ? 4 : 20;
  const cases: BenchCase[] = [
    { readEvery: 1, steps: quick ? 2 : 10, resident: false, label: 'loss read every step' },
    { readEvery: every, steps: every, resident: false, label: `loss read every ${every} steps` },
    {
      readEvery: every,
      steps: every,
      resident: true,
      label: `loss read every ${every} steps, data on the GPU`,
    },
  ].map((w) => ({
    suite: 'train',
    name: `train B=${batchSize}, ${w.label}`,
    unit: 'samples/s',
    work: w.steps * batchSize,
    warmup: quick ? 0 : 1,
    reps: quick ? 1 : 3,
    contenders: [
      ours.train({ batchSize, readEvery: w.readEvery, steps: w.steps, batches, resident: w.resident }),
    ],
  }));
  for (const c of cases) {
    if (overBudget()) {
      skippedTrain.push(c.name);
      continue;
    }
    train.push(...(await measureCase(c, log)));
    write();
  }
}

// ---- PyTorch, when the machine has it.
const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, 'torch_bench.py');
const torch = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' });
if (existsSync(script) && torch.status === 0) {
  log('pytorch: running torch_bench.py');
  const run = spawnSync('python3', [script, ...(quick ? ['--quick'] : [])], {
    encoding: 'utf8',
    timeout: 240_000,
    maxBuffer: 16 << 20,
  });
  try {
    record.pytorch = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? 'null');
  } catch {
    record.pytorch = { error: (run.stderr || run.stdout || String(run.error)).slice(-2000) };
  }
} else {
  record.pytorch = { skipped: existsSync(script) ? 'python3 -c "import torch" failed' : 'no torch_bench.py' };
}
ours.dispose();
write();
log(`wrote ${outFile} (${elapsed()} s)`);
process.exit(0);
