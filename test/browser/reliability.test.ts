/**
 * docs/contracts.md, "Errors" on WebGPU: a lost device mid-fit leaves a checkpoint from which training resumes exactly;
 * memory stays flat over thousands of steps and returns to its baseline; results repeat bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { wrapDevice } from '../../src/backend.js';
import { dataset } from '../../src/data/dataset.js';
import { ArgumentError, DeviceLostError, mlp, sgd } from '../../src/index.js';
import { type FitCheckpoint, fit } from '../../src/train/fit.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { randomArray, randomLabels } from '../helpers.js';
import { requestTestDevice } from './gpu.js';

const gpu = await requestTestDevice();
const spec = mlp({ sizes: [16, 32, 32, 4], keepProb: { input: 0.8, hidden: 0.5 }, seed: 11 });
const options = { batchSize: 8, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), maxNorm: 2 };
const data = dataset(Float32Array.from(randomArray(200 * 16, 1)), randomLabels(200, 2, 4), 16, 4);

/** A backend on a device of its own, so that destroying it spares the other tests. */
async function freshBackend() {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await (adapter as GPUAdapter).requestDevice({ label: 'reliability test device' });
  return { device, backend: wrapDevice(await openWebGpu({ device })) };
}

/** A backend of its own on this file's device: backends on one device share compiled pipelines. */
let fileDevice: GPUDevice | undefined;
async function fileBackend() {
  if (!fileDevice) ({ device: fileDevice } = await freshBackend());
  return { device: fileDevice, backend: wrapDevice(await openWebGpu({ device: fileDevice })) };
}

describe.skipIf(typeof gpu === 'string')('reliability on WebGPU', () => {
  it('a device destroyed mid-fit gives DeviceLostError with a checkpoint; resuming ends with the same bits', async () => {
    const fitOptions = { epochs: 3, checkpointEvery: 5, reportEvery: 5 };
    const { backend: referenceBackend } = await fileBackend();
    const reference = await referenceBackend.compile(spec, options);
    await fit(reference, data, fitOptions);

    const { device, backend } = await freshBackend();
    const doomed = await backend.compile(spec, options);
    const error = await fit(doomed, data, {
      ...fitOptions,
      onProgress: (p) => {
        if (p.step === 30) device.destroy();
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceLostError);
    const checkpoint = (error as DeviceLostError).checkpoint as FitCheckpoint;
    expect(checkpoint.step).toBe(30);
    await expect(doomed.trainStep(data.x.subarray(0, 128), data.y.subarray(0, 8))).rejects.toBeInstanceOf(
      DeviceLostError,
    );

    const { backend: second } = await fileBackend();
    const resumed = await second.compile(spec, options);
    await fit(resumed, data, { ...fitOptions, resume: checkpoint });
    expect(resumed.step).toBe(reference.step);
    expect(await resumed.getParams()).toEqual(await reference.getParams());
  });

  it('a read under way when the device is lost rejects with DeviceLostError, never with its values', async () => {
    const { device, backend } = await freshBackend();
    const net = await backend.compile(spec, options);
    await net.trainRows(
      data,
      Uint32Array.from({ length: 16 }, (_, i) => i),
    );
    const reads = [net.checkpoint(), net.getParams(), net.takeMetrics()];
    device.destroy();
    for (const read of reads) await expect(read).rejects.toBeInstanceOf(DeviceLostError);
  });

  it('600 steps keep GPU buffers and bytes flat with finite losses; dispose returns to the baseline', async () => {
    const { backend } = await fileBackend();
    const warm = await backend.compile(spec, options);
    await (await warm.trainStep(data.x.subarray(0, 128), data.y.subarray(0, 8))).loss;
    warm.dispose();
    const baseline = backend.memory();
    const net = await backend.compile(spec, options);
    const x = data.x.subarray(0, 128);
    const y = data.y.subarray(0, 8);
    await (await net.trainStep(x, y)).loss;
    const compiled = backend.memory();
    expect(compiled.buffers).toBeGreaterThan(baseline.buffers);
    // A per-step allocation would show at the first check; `npm run soak` runs 10,000 steps.
    for (let i = 0; i < 600; i++) {
      const step = await net.trainStep(x, y);
      if (i % 200 === 199) {
        expect(Number.isFinite(await step.loss)).toBe(true);
        expect(backend.memory()).toEqual(compiled);
      }
    }
    const metrics = await net.takeMetrics();
    expect(metrics.nonFiniteSteps).toBe(0);
    expect(backend.memory()).toEqual(compiled);
    net.dispose();
    expect(backend.memory()).toEqual(baseline);
    console.info(`memory: baseline ${JSON.stringify(baseline)}, compiled ${JSON.stringify(compiled)}`);
  });

  it('compiling and disposing 30 nets leaves nothing behind', async () => {
    const { backend } = await fileBackend();
    // The first net fills the device's own caches (a readback staging buffer, binding placeholders).
    const first = await backend.compile(spec, options);
    await first.predict(data.x.subarray(0, 16 * 3), { mcSamples: 2 });
    first.dispose();
    const baseline = backend.memory();
    for (let i = 0; i < 30; i++) {
      const net = await backend.compile(spec, options);
      if (i % 10 === 0) await net.predict(data.x.subarray(0, 16 * 3), { mcSamples: 2 });
      net.dispose();
    }
    expect(backend.memory()).toEqual(baseline);
  });

  it('a batch past the device buffer limit is refused at compile, naming the limit, before any allocation', async () => {
    const { backend, device } = await fileBackend();
    const before = backend.memory();
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    const rows = Math.ceil(limit / (1024 * 4)) + 1;
    const big = mlp({ sizes: [1024, 1024, 10] });
    const error = await backend.compile(big, { batchSize: rows }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as ArgumentError).argument).toBe('batchSize');
    expect((error as Error).message).toMatch(/maxBufferSize|maxStorageBufferBindingSize/);
    expect(backend.memory()).toEqual(before);
  });

  it('same seed, same adapter: two nets in one page end with bit-identical parameters', async () => {
    const { backend } = await fileBackend();
    const run = async () => {
      const net = await backend.compile(spec, options);
      await fit(net, data, { epochs: 2 });
      return net.getParams();
    };
    expect(await run()).toEqual(await run());
  });
});
