/**
 * Whole training steps on WebGPU against the CPU reference: the same spec, seed and batches give the
 * same parameters after 5 steps with dropout on, for each activation, optimizer and max-norm; a
 * small net learns the toy problem; a training step makes no GPU objects and exactly one submit;
 * training from a resident dataset (trainRows, fit) gives the bits of uploading each batch; Adam's
 * step fused into the weight gradient's matmul gives the bits of its separate dispatches, and takes a
 * step of the benchmark's net from 17 dispatches to 11.
 */
import { describe, expect, it } from 'vitest';
import { wrapDevice } from '../../src/backend.js';
import type { Dataset } from '../../src/data/mnist.js';
import { spirals, toyMetrics, trainToyEpoch } from '../../src/data/toy.js';
import { adam, createBackend, type HiddenActivation, mlp, type Optimizer, sgd } from '../../src/index.js';
import { ADAM_UPDATE_STORAGE_BUFFERS } from '../../src/ops/matmul-gpu.js';
import { fit } from '../../src/train/fit.js';
import { rampedMomentum, scheduledLr } from '../../src/train/schedule.js';
import { epochOrder } from '../../src/train/shuffle.js';
import { clearTuning, tuningRecords } from '../../src/webgpu/autotune.js';
import { isSoftwareAdapter, openWebGpu } from '../../src/webgpu/open.js';
import { compareClose, randomArray, randomLabels } from '../helpers.js';
import { type GpuContext, requestTestDevice, requestWideDevice } from './gpu.js';

const gpu = await requestTestDevice();
// With the adapter's storage-buffer limit: where it allows 9 a stage, matmul fuses Adam's step.
const wide = await requestWideDevice(ADAM_UPDATE_STORAGE_BUFFERS);

// After 5 steps: each parameter within atol + rtol·|cpu| (f32 GPU vs f32 CPU with f64 accumulation).
const STEP_TOLERANCE = { atol: 2e-6, rtol: 1e-5 };
// Adam divides by √v: where a gradient element is tiny, its few-ulp GPU/CPU difference becomes a
// relative difference of ~1e-3 in that element's step of size ≤ lr. Over 5 steps at lr 0.01 that is
// up to 5e-5 in absolute terms, so Adam's parameters are held to that bound instead.
const ADAM_STEP_TOLERANCE = { atol: 5e-5, rtol: 1e-5 };

const optimizers: [string, Optimizer, number | undefined][] = [
  ['sgd', sgd({ lr: 0.5 }), undefined],
  ['sgd + momentum + max-norm', sgd({ lr: 0.5, momentum: 0.9 }), 0.9],
  ['nesterov + weight decay', sgd({ lr: 0.3, momentum: 0.9, nesterov: true, weightDecay: 0.01 }), undefined],
  ['adam + max-norm', adam({ lr: 0.01, weightDecay: 0.001 }), 1.2],
];

describe.skipIf(typeof gpu === 'string')('training on WebGPU', () => {
  const { device } = gpu as GpuContext;

  // Activations and optimizers meet in different kernels (the forward and dX epilogues, the update),
  // so pairs cover them: every optimizer on ReLU, two of them on each other activation.
  const pairs: Record<HiddenActivation, typeof optimizers> = {
    relu: optimizers,
    tanh: [optimizers[1], optimizers[3]] as typeof optimizers,
    sigmoid: [optimizers[0], optimizers[2]] as typeof optimizers,
  };
  describe.each<HiddenActivation>(['relu', 'tanh', 'sigmoid'])('%s', (activation) => {
    it.each(pairs[activation])(
      '%s: parameters after 5 steps match the CPU',
      async (_name, optimizer, maxNorm) => {
        const batchSize = 33;
        const spec = mlp({
          sizes: [20, 65, 31, 7],
          activation,
          keepProb: { input: 0.8, hidden: [0.5, 0.7] },
          seed: 2024,
        });
        const options = { batchSize, optimizer, ...(maxNorm ? { maxNorm } : {}) };
        const onGpu = await wrapDevice(await openWebGpu({ device })).compile(spec, options);
        const onCpu = await (await createBackend('cpu')).compile(spec, options);
        const losses: [number, number][] = [];
        for (let step = 0; step < 5; step++) {
          const x = randomArray(batchSize * 20, step, -2, 2);
          const y = randomLabels(batchSize, step + 100, 7);
          const [g, c] = [await onGpu.trainStep(x, y), await onCpu.trainStep(x, y)];
          losses.push([await g.loss, await c.loss]);
        }
        for (const [gpuLoss, cpuLoss] of losses)
          expect(Math.abs(gpuLoss - cpuLoss)).toBeLessThanOrEqual(1e-5 + 1e-5 * cpuLoss);
        const [gpuParams, cpuParams] = [await onGpu.getParams(), await onCpu.getParams()];
        for (const [name, { shape, data }] of Object.entries(cpuParams)) {
          const tolerance = optimizer.kind === 'adam' ? ADAM_STEP_TOLERANCE : STEP_TOLERANCE;
          const message = compareClose(
            `${name} after 5 steps`,
            shape,
            gpuParams[name]?.data ?? [],
            data,
            tolerance,
          );
          if (message) throw new Error(message);
        }
        const probs = [
          await onGpu.predict(randomArray(50 * 20, 9)),
          await onCpu.predict(randomArray(50 * 20, 9)),
        ];
        const message = compareClose(
          'predict',
          [50, 7],
          probs[0] as Float32Array,
          probs[1] as Float32Array,
          STEP_TOLERANCE,
        );
        if (message) throw new Error(message);
        onGpu.dispose();
        onCpu.dispose();
      },
    );
  });

  it('learns the 3-class spirals as the CPU does', async () => {
    const data = spirals(100, 1);
    const spec = mlp({ sizes: [2, 64, 64, 3], activation: 'relu', keepProb: { hidden: 0.9 }, seed: 1 });
    const net = await wrapDevice(await openWebGpu({ device })).compile(spec, {
      batchSize: 30,
      optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
      maxNorm: 3.5,
    });
    for (let epoch = 0; epoch < 25; epoch++) await trainToyEpoch(net, data, epoch);
    const { loss, accuracy } = toyMetrics(await net.predict(data.x), data);
    expect(loss).toBeLessThan(0.25);
    expect(accuracy).toBeGreaterThan(0.92);
    net.dispose();
  });

  // The bias update fused into the weight gradient's matmul (graph/fuse.ts `fuseBiasUpdates`) must
  // change no bit: the same net with the separate bias sgd dispatches it replaced, step for step.
  it.each(optimizers.filter(([, optimizer]) => optimizer.kind === 'sgd'))(
    '%s: the fused bias update gives the bits of the separate sgd dispatches, and validates',
    async (_name, optimizer, maxNorm) => {
      const batchSize = 33;
      const spec = mlp({ sizes: [20, 65, 31, 7], keepProb: { input: 0.8, hidden: 0.5 }, seed: 7 });
      const options = { batchSize, optimizer, ...(maxNorm ? { maxNorm } : {}) };
      const separate = await openWebGpu({ device });
      // The capability switched off on this one device: compileGraph then leaves each bias sgd alone.
      Object.defineProperty(separate, 'fusesBiasUpdates', { value: false });
      const nets = [
        await wrapDevice(await openWebGpu({ device })).compile(spec, options),
        await wrapDevice(separate).compile(spec, options),
        await wrapDevice(await openWebGpu({ device })).compile(spec, { ...options, validate: true }),
      ];
      for (let step = 0; step < 5; step++) {
        const x = randomArray(batchSize * 20, step, -2, 2);
        const y = randomLabels(batchSize, step + 100, 7);
        for (const net of nets) await (await net.trainStep(x, y)).loss;
      }
      const [fused, unfused] = [await nets[0]?.getParams(), await nets[1]?.getParams()];
      for (const [name, { data }] of Object.entries(unfused ?? {})) {
        const got = [...new Uint32Array(fused?.[name]?.data.buffer ?? new ArrayBuffer(0))];
        expect(got, name).toEqual([...new Uint32Array(data.buffer)]);
      }
      for (const net of nets) net.dispose();
    },
  );

  it.each<HiddenActivation>(['relu', 'tanh', 'sigmoid'])(
    'validate mode passes 3 steps of a %s net, node by node against the CPU',
    async (activation) => {
      const spec = mlp({
        sizes: [20, 33, 17, 5],
        activation,
        keepProb: { input: 0.8, hidden: 0.5 },
        seed: 8,
      });
      const net = await wrapDevice(await openWebGpu({ device })).compile(spec, {
        batchSize: 9,
        optimizer: adam({ lr: 0.01 }),
        maxNorm: 1,
        validate: true,
      });
      for (let step = 0; step < 3; step++)
        await net.trainStep(randomArray(9 * 20, step), randomLabels(9, step, 5));
      expect(net.step).toBe(3);
      net.dispose();
    },
  );

  it('fit on a resident dataset gives the bits of the per-step trainStep path it replaced', async () => {
    const spec = mlp({ sizes: [12, 24, 5], keepProb: { input: 0.8, hidden: 0.5 }, seed: 4 });
    const options = { batchSize: 6, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), maxNorm: 2 };
    const n = 40; // 6 steps per epoch, 4 rows left out, different ones each epoch
    const pixels = Uint8Array.from({ length: n * 12 }, (_, i) => (i * 53 + (i >> 2)) & 0xff);
    const table = Float32Array.from({ length: 256 }, (_, b) => b / 255);
    const data: Dataset = {
      x: Float32Array.from(pixels, (b) => table[b] as number),
      y: Uint8Array.from({ length: n }, (_, i) => (i * 3) % 5),
      n,
      features: 12,
      classes: 5,
      bytes: { pixels, table },
    };
    const fitOptions = {
      epochs: 2,
      seed: 3,
      reportEvery: 4, // each epoch: a run of 4 steps (to the report), then one of 2 (to its end)
      lrSchedule: { kind: 'cosine' } as const,
      momentumRamp: { from: 0.5, to: 0.9, epochs: 2 },
    };
    const fitted = await wrapDevice(await openWebGpu({ device })).compile(spec, options);
    await fit(fitted, data, fitOptions);
    // A report every step: each one read back while the next step trains.
    const reported = await wrapDevice(await openWebGpu({ device })).compile(spec, options);
    await fit(reported, data, { ...fitOptions, reportEvery: 1 });

    const manual = await wrapDevice(await openWebGpu({ device })).compile(spec, options);
    const stepsPerEpoch = Math.floor(n / 6);
    let done = 0;
    for (let epoch = 0; epoch < 2; epoch++) {
      const order = epochOrder(n, fitOptions.seed, epoch);
      for (let s = 0; s < stepsPerEpoch; s++) {
        const at = { epoch, epochs: epoch + s / stepsPerEpoch, progress: done / (2 * stepsPerEpoch) };
        const batch = order.subarray(s * 6, (s + 1) * 6);
        const x = new Float32Array(6 * 12);
        batch.forEach((row, r) => {
          x.set(data.x.subarray(row * 12, (row + 1) * 12), r * 12);
        });
        await manual.trainStep(
          x,
          Array.from(batch, (row) => data.y[row] as number),
          {
            lr: scheduledLr(0.05, fitOptions.lrSchedule, at),
            momentum: rampedMomentum(fitOptions.momentumRamp, at),
          },
        );
        done++;
      }
    }
    expect(fitted.step).toBe(manual.step);
    expect(reported.step).toBe(manual.step);
    const want = await manual.getParams();
    for (const net of [fitted, reported]) {
      const got = await net.getParams();
      for (const name of Object.keys(want)) {
        const bits = (p: typeof got) => new Uint32Array((p[name] as (typeof p)[string]).data.buffer);
        expect(bits(got), name).toEqual(bits(want));
      }
      net.dispose();
    }
    manual.dispose();
  });

  it('createBackend() picks Wasm on a software adapter, WebGPU on a hardware one, and says so', async () => {
    const adapter = await navigator.gpu.requestAdapter();
    const software = adapter !== null && isSoftwareAdapter(adapter);
    const backend = await createBackend();
    expect(backend.kind).toBe(software ? 'wasm' : 'webgpu');
    expect(backend.description).toMatch(software ? /^Wasm SIMD.*, \d+ threads?/ : /^WebGPU: /);
    backend.dispose();
    // A device the caller passes is always used.
    const lent = await createBackend(undefined, { device });
    expect(lent.kind).toBe('webgpu');
    lent.dispose();
  });

  describe('a training step', () => {
    it('20 steps issue exactly 20 submits and create no buffers, bind groups or pipelines', async () => {
      const spec = mlp({ sizes: [16, 32, 32, 4], keepProb: { input: 0.8, hidden: 0.5 }, seed: 5 });
      const net = await wrapDevice(await openWebGpu({ device })).compile(spec, {
        batchSize: 8,
        optimizer: adam({ lr: 0.01 }),
        maxNorm: 2,
      });
      const x = randomArray(8 * 16, 1);
      const y = randomLabels(8, 2, 4);
      await net.trainStep(x, y); // the first step may create nothing either; counted from here on
      await device.queue.onSubmittedWorkDone();
      const steps: Awaited<ReturnType<typeof net.trainStep>>[] = [];
      const counts = await countGpuCalls(async () => {
        for (let i = 0; i < 20; i++) steps.push(await net.trainStep(x, y));
      });
      expect(counts).toEqual({ ...NO_GPU_CALLS, submits: 20, dispatches: counts.dispatches });
      // The losses are still readable afterwards (each read is its own copy and submit).
      const losses = await Promise.all(steps.map((s) => s.loss));
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(new Set(losses).size).toBeGreaterThan(1);
      net.dispose();
    });

    it('trainRows: 39 steps on a resident dataset in 1 submit, creating nothing, every loss readable, bit-identical to trainStep', async () => {
      const spec = mlp({ sizes: [16, 32, 32, 4], keepProb: { input: 0.8, hidden: 0.5 }, seed: 5 });
      const options = {
        batchSize: 8,
        optimizer: sgd({ lr: 0.05, momentum: 0.9, weightDecay: 1e-3 }),
        maxNorm: 2,
      };
      // A byte dataset as loadMnist makes them: x[i] = table[pixels[i]].
      const n = 50;
      const pixels = Uint8Array.from({ length: n * 16 }, (_, i) => (i * 37 + (i >> 3)) & 0xff);
      const table = Float32Array.from({ length: 256 }, (_, b) => (b / 255 - 0.13) / 0.31);
      const data = {
        x: Float32Array.from(pixels, (b) => table[b] as number),
        y: Uint8Array.from({ length: n }, (_, i) => (i * 7) % 4),
        n,
        features: 16,
        classes: 4,
        bytes: { pixels, table },
      };
      const rows = Uint32Array.from({ length: 40 * 8 }, (_, i) => (i * 13 + 5) % n);
      const hyper = Array.from({ length: 40 }, (_, s) => ({
        lr: 0.05 * (1 - s / 80),
        momentum: 0.5 + s / 100,
      }));

      const reference = await wrapDevice(await openWebGpu({ device })).compile(spec, options);
      for (let s = 0; s < 40; s++) {
        const batch = rows.subarray(s * 8, (s + 1) * 8);
        const x = new Float32Array(8 * 16);
        batch.forEach((row, r) => {
          x.set(data.x.subarray(row * 16, (row + 1) * 16), r * 16);
        });
        await reference.trainStep(
          x,
          Array.from(batch, (row) => data.y[row] as number),
          hyper[s],
        );
      }

      const backend = wrapDevice(await openWebGpu({ device }));
      const net = await backend.compile(spec, options);
      await net.trainRows(data, rows.subarray(0, 8), hyper.slice(0, 1)); // uploads the dataset
      await device.queue.onSubmittedWorkDone();
      let results: Awaited<ReturnType<typeof net.trainRows>> = [];
      const counts = await countGpuCalls(async () => {
        results = await net.trainRows(data, rows.subarray(8), hyper.slice(1));
      });
      // 39 steps ≤ MAX_STEPS_PER_RUN
      expect(counts).toEqual({ ...NO_GPU_CALLS, submits: 1, dispatches: counts.dispatches });
      expect(results.map((r) => r.step)).toEqual(Array.from({ length: 39 }, (_, i) => i + 1));
      const losses = await Promise.all(results.map((r) => r.loss));
      expect(losses.every(Number.isFinite)).toBe(true);

      const [got, want] = [await net.getParams(), await reference.getParams()];
      for (const name of Object.keys(want)) {
        const bits = (p: typeof got) => new Uint32Array((p[name] as (typeof p)[string]).data.buffer);
        expect(bits(got), name).toEqual(bits(want));
      }
      expect(net.step).toBe(40);
      net.dispose();
      reference.dispose();
      // The dataset's buffers and program go with the net: a second net leaves the same memory behind
      // (what stays is the device's own: placeholders and readback staging).
      const baseline = backend.memory();
      const again = await backend.compile(spec, options);
      await again.trainRows(data, rows.subarray(0, 16));
      await again.getParams();
      again.dispose();
      expect(backend.memory()).toEqual(baseline);
    });
  });
});

/** What countGpuCalls counts: the methods behind each count. */
const GPU_CALLS = {
  submits: [() => GPUQueue.prototype, ['submit']],
  buffers: [() => GPUDevice.prototype, ['createBuffer']],
  bindGroups: [() => GPUDevice.prototype, ['createBindGroup']],
  pipelines: [() => GPUDevice.prototype, ['createComputePipeline', 'createComputePipelineAsync']],
  shaderModules: [() => GPUDevice.prototype, ['createShaderModule']],
  dispatches: [() => GPUComputePassEncoder.prototype, ['dispatchWorkgroups']],
} as const;
type GpuCalls = Record<keyof typeof GPU_CALLS, number>;
const NO_GPU_CALLS: GpuCalls = {
  submits: 0,
  buffers: 0,
  bindGroups: 0,
  pipelines: 0,
  shaderModules: 0,
  dispatches: 0,
};

/**
 * What the page's WebGPU devices make, submit and dispatch while `run` runs. It counts at the
 * prototypes, not through a wrapped GPUDevice: pipelines are cached per GPUDevice, and a wrapper would
 * compile every one of them again.
 */
async function countGpuCalls(run: () => Promise<void>): Promise<GpuCalls> {
  const counts = { ...NO_GPU_CALLS };
  const restore: (() => void)[] = [];
  for (const [key, [prototypeOf, names]] of Object.entries(GPU_CALLS) as [
    keyof GpuCalls,
    (typeof GPU_CALLS)[keyof GpuCalls],
  ][]) {
    const prototype = prototypeOf() as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of names) {
      const method = prototype[name] as (...args: unknown[]) => unknown;
      prototype[name] = function (this: unknown, ...args: unknown[]) {
        counts[key]++;
        return method.apply(this, args);
      };
      restore.push(() => {
        prototype[name] = method;
      });
    }
  }
  try {
    await run();
  } finally {
    for (const undo of restore) undo();
  }
  return counts;
}

describe.skipIf(typeof wide === 'string' || typeof gpu === 'string')(
  'Adam fused into the weight gradient (9 storage buffers a stage)',
  () => {
    const wideDevice = () => (wide as GpuContext).device;

    // Adam's steps folded into the weight gradient's matmul (graph/fuse.ts `fuseAdamUpdates`, then
    // `fuseBiasUpdates`) must change no bit: the same net with the separate adam dispatches, step for
    // step, through a step whose loss is not finite (no update in that step, in both).
    it.each([undefined, 1.2])(
      'max-norm %s: the fused Adam update gives the bits of the separate adam dispatches, skips as they do, and validates',
      async (maxNorm) => {
        const batchSize = 33;
        const spec = mlp({ sizes: [20, 65, 31, 7], keepProb: { input: 0.8, hidden: 0.5 }, seed: 7 });
        const optimizer = adam({ lr: 0.01, weightDecay: 0.001 });
        const options = { batchSize, optimizer, ...(maxNorm ? { maxNorm } : {}) };
        const separate = await openWebGpu({ device: wideDevice() });
        // The capability switched off on this one device: compileGraph then leaves each adam alone.
        Object.defineProperty(separate, 'fusesAdamUpdates', { value: false });
        const fusedBackend = await openWebGpu({ device: wideDevice() });
        expect(fusedBackend.fusesAdamUpdates).toBe(true);
        const [fused, unfused] = [
          await wrapDevice(fusedBackend).compile(spec, options),
          await wrapDevice(separate).compile(spec, options),
        ];
        const validated = await wrapDevice(await openWebGpu({ device: wideDevice() })).compile(spec, {
          ...options,
          validate: true,
        });
        const bitsOf = async (net: typeof fused) =>
          Object.fromEntries(
            Object.entries(await net.getParams()).map(([name, { data }]) => [
              name,
              [...new Uint32Array(data.buffer)],
            ]),
          );
        let beforeNonFinite: Record<string, number[]> = {};
        for (let step = 0; step < 6; step++) {
          const x = randomArray(batchSize * 20, step, -2, 2);
          const y = randomLabels(batchSize, step + 100, 7);
          if (step === 4) {
            beforeNonFinite = await bitsOf(fused);
            x.fill(3e38); // finite, but the products overflow: a non-finite loss, and no update
          }
          for (const net of [fused, unfused]) {
            const loss = await (await net.trainStep(x, y)).loss;
            expect(Number.isFinite(loss), `loss of step ${step}`).toBe(step !== 4);
          }
          if (step < 4) await (await validated.trainStep(x, y)).loss;
          // The non-finite step updated nothing, fused or not. (Max-norm projects W again whether or not
          // the step updated it, which may move a bit of an already projected row: not checked there.)
          if (step === 4 && !maxNorm) {
            for (const [net, label] of [
              [fused, 'fused'],
              [unfused, 'unfused'],
            ] as const) {
              const after = await bitsOf(net);
              for (const [name, data] of Object.entries(beforeNonFinite))
                expect(after[name], `${label} ${name} after the non-finite loss`).toEqual(data);
            }
          }
        }
        expect(validated.step).toBe(4);
        const [got, want] = [await bitsOf(fused), await bitsOf(unfused)];
        expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
        for (const [name, data] of Object.entries(want)) expect(got[name], name).toEqual(data);
        for (const net of [fused, unfused, validated]) net.dispose();
      },
    );

    it('autotuned: a fused node is timed as its plain product, and trains to the bits of the default kernels', async () => {
      // dW of the first layer: 256 × 256 × 64 multiply-adds, just worth timing (TUNE_MIN_MACS).
      const spec = mlp({ sizes: [256, 256, 10], keepProb: { input: 0.8, hidden: 0.5 }, seed: 5 });
      const options = { batchSize: 64, optimizer: adam({ lr: 0.01 }) };
      const x = randomArray(64 * 256, 3);
      const y = randomLabels(64, 4, 10);
      const bitsAfter = async (autotune: boolean) => {
        const backend = await openWebGpu({ device: wideDevice(), autotune });
        const net = await wrapDevice(backend).compile(spec, options);
        for (let step = 0; step < 2; step++) await (await net.trainStep(x, y)).loss;
        const params = await net.getParams();
        net.dispose();
        return Object.fromEntries(
          Object.entries(params).map(([n, { data }]) => [n, [...new Uint32Array(data.buffer)]]),
        );
      };
      clearTuning();
      const tuned = await bitsAfter(true);
      const timed = tuningRecords().filter(
        (record) => record.op === 'matmul' && record.key === '256x256x64 transA',
      );
      expect(timed.length, 'the fused dW matmul was timed').toBeGreaterThan(0);
      expect(Object.values(timed[0]?.times ?? {}).length).toBeGreaterThan(1);
      expect(tuned).toEqual(await bitsAfter(false));
    });

    // Dispatches depend on the layers, not their widths: the nets above (their pipelines compiled
    // already) stand in for 784-1024-1024-10.
    it('a step of a 3-layer net (as 784-1024-1024-10) is 11 dispatches with Adam fused, 17 where a stage has 8 storage buffers or in validate mode (14 and 20 with max-norm)', async () => {
      const spec = mlp({ sizes: [20, 65, 31, 7], keepProb: { input: 0.8, hidden: 0.5 }, seed: 7 });
      const batchSize = 33;
      const x = randomArray(batchSize * 20, 1);
      const y = randomLabels(batchSize, 2, 7);
      const counted = async (device: GPUDevice, optimizer: Optimizer, maxNorm?: number, validate = false) => {
        const backend = await openWebGpu({ device, autotune: false });
        const net = await wrapDevice(backend).compile(spec, {
          batchSize,
          optimizer,
          validate,
          ...(maxNorm ? { maxNorm } : {}),
        });
        await (await net.trainStep(x, y)).loss;
        const { dispatches } = await countGpuCalls(async () => {
          await (await net.trainStep(x, y)).loss;
        });
        net.dispose();
        return dispatches;
      };
      const narrow = (gpu as GpuContext).device;
      expect(narrow.limits.maxStorageBuffersPerShaderStage).toBe(8);
      const optimizer = adam({ lr: 0.01, weightDecay: 0.001 });
      expect([
        await counted(wideDevice(), optimizer),
        await counted(narrow, optimizer),
        await counted(wideDevice(), optimizer, 1.2),
        await counted(narrow, optimizer, 1.2),
        await counted(wideDevice(), sgd({ lr: 0.5, momentum: 0.9 })),
        await counted(narrow, sgd({ lr: 0.5, momentum: 0.9 })),
        // Validate mode checks Adam's update as its own node (CompileGraphOptions.fuseAdam).
        await counted(wideDevice(), optimizer, undefined, true),
      ]).toEqual([11, 17, 14, 20, 11, 11, 17]);
    });
  },
);
