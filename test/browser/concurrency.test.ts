/**
 * The concurrency model (src/net/call-order.ts) on WebGPU: a net's calls run in the order they were
 * made, so concurrent calls give what the same calls in sequence give; dispose refuses what had not
 * started, lets what is in flight finish, and a read either resolves with the right value or rejects
 * with DisposedError; one net's misuse never breaks another net or the backend. Tiny nets: SwiftShader.
 */
import { describe, expect, it } from 'vitest';
import { wrapDevice } from '../../src/backend.js';
import { dataset } from '../../src/data/dataset.js';
import { DeviceLostError, DisposedError, mlp, saveSafetensors, sgd } from '../../src/index.js';
import type { Net } from '../../src/net/net.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { randomArray, randomLabels } from '../helpers.js';
import { requestTestDevice } from './gpu.js';

const gpu = await requestTestDevice();
const spec = mlp({ sizes: [8, 16, 4], keepProb: { input: 0.8, hidden: 0.5 }, seed: 5 });
const options = { batchSize: 4, optimizer: sgd({ lr: 0.1, momentum: 0.9 }) };
const x = Float32Array.from(randomArray(4 * 8, 1));
const y = randomLabels(4, 2, 4);
const dataA = dataset(Float32Array.from(randomArray(16 * 8, 3)), randomLabels(16, 4, 4), 8, 4);
const dataB = dataset(Float32Array.from(randomArray(16 * 8, 5)), randomLabels(16, 6, 4), 8, 4);
const rows = Array.from({ length: 8 }, (_, i) => (i * 5) % 16);

/**
 * A backend of its own on this file's device (not the other files' device, so nothing here can spoil
 * them). Backends on one device share its compiled pipelines, so each test does not compile again.
 */
let fileDevice: GPUDevice | undefined;
async function freshBackend() {
  if (!fileDevice) {
    const adapter = await navigator.gpu.requestAdapter();
    fileDevice = await (adapter as GPUAdapter).requestDevice({ label: 'concurrency test device' });
  }
  return wrapDevice(await openWebGpu({ device: fileDevice }));
}

/** A device of its own, for a test that loses it. */

async function freshDevice() {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await (adapter as GPUAdapter).requestDevice({ label: 'concurrency test device' });
  return { device, backend: wrapDevice(await openWebGpu({ device })) };
}

/** Every kind of call on `net`, each as a promise (a synchronous throw becomes a rejection). */
function everyCall(net: Net): Promise<unknown>[] {
  const attempt = (fn: () => unknown) =>
    new Promise((resolve, reject) => {
      try {
        Promise.resolve(fn()).then(resolve, reject);
      } catch (error) {
        reject(error);
      }
    });
  return [
    attempt(() => net.trainStep(x, y)),
    attempt(() => net.trainRows(dataA, rows)),
    attempt(() => net.predict(x)),
    attempt(() => net.predict(x, { mcSamples: 2 })),
    attempt(() => net.takeMetrics()),
    attempt(() => net.getParams()),
    attempt(() => net.checkpoint()),
  ];
}

/** Runs `body`, and returns the reasons of the page's unhandled rejections meanwhile (and just after). */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const reasons: unknown[] = [];
  const listener = (event: PromiseRejectionEvent) => {
    reasons.push(event.reason);
    event.preventDefault();
  };
  window.addEventListener('unhandledrejection', listener);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    window.removeEventListener('unhandledrejection', listener);
  }
  return reasons;
}

/** A net works: a step's loss is finite, and its prediction is a probability per class. */
async function works(net: Net): Promise<void> {
  const step = await net.trainStep(x, y);
  expect(Number.isFinite(await step.loss)).toBe(true);
  const probs = await net.predict(x);
  expect(probs.length).toBe(16);
  expect(probs.every((p) => Number.isFinite(p) && p > 0)).toBe(true);
}

describe.skipIf(typeof gpu === 'string')('concurrent calls on WebGPU', () => {
  it('dispose with reads pending: each read resolves with the right value or rejects with DisposedError', async () => {
    const backend = await freshBackend();
    const bystander = await backend.compile(spec, options);
    const twin = await backend.compile(spec, options);
    const step = await twin.trainStep(x, y);
    const expected = [
      await step.loss,
      await twin.predict(x),
      await twin.predict(x, { mcSamples: 2 }),
      await twin.checkpoint(),
    ];
    expect(expected[0]).not.toBe(0);
    // Dispose at several points: before any read starts, a microtask in, and once reads are under way.
    const delays = [
      () => undefined,
      () => Promise.resolve(),
      () => new Promise((resolve) => setTimeout(resolve, 0)),
      () => new Promise((resolve) => setTimeout(resolve, 20)),
    ];
    let resolved = 0;
    let refused = 0;
    for (const delay of delays) {
      const net = await backend.compile(spec, options);
      const first = await net.trainStep(x, y);
      const reads = [first.loss, net.predict(x), net.predict(x, { mcSamples: 2 }), net.checkpoint()];
      await delay();
      net.dispose();
      const settled = await Promise.allSettled(reads);
      settled.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') {
          expect(outcome.value).toEqual(expected[i]);
          resolved++;
        } else {
          expect(outcome.reason).toBeInstanceOf(DisposedError);
          refused++;
        }
      });
      await expect(net.predict(x)).rejects.toBeInstanceOf(DisposedError);
    }
    // Reads that had not started were refused; the loss read already under way finished.
    expect(resolved).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    await works(bystander);
    await works(twin);
    await works(await backend.compile(spec, options));
  });

  it('trainRows on two datasets at once, then every net of the backend keeps working', async () => {
    const backend = await freshBackend();
    const bystander = await backend.compile(spec, options);
    const sequential = await backend.compile(spec, options);
    await sequential.trainRows(dataA, rows);
    await sequential.trainRows(dataB, rows);
    const net = await backend.compile(spec, options);
    const [a, b] = await Promise.all([net.trainRows(dataA, rows), net.trainRows(dataB, rows)]);
    // B's losses are there; A's went with A's program (switching sets frees it), or are still there.
    for (const result of b) expect(Number.isFinite(await result.loss)).toBe(true);
    for (const result of a) {
      const loss = await result.loss.catch((error: unknown) => error);
      if (typeof loss === 'number') expect(Number.isFinite(loss)).toBe(true);
      else expect(loss).toBeInstanceOf(DisposedError);
    }
    expect(net.step).toBe(4);
    expect(await net.getParams()).toEqual(await sequential.getParams());
    await works(net);
    await works(bystander);
    const more = await bystander.trainRows(dataA, rows);
    expect(Number.isFinite(await (more[1] as (typeof more)[number]).loss)).toBe(true);
  });

  it('two MC-dropout predictions at once give what each gives alone', async () => {
    const backend = await freshBackend();
    const net = await backend.compile(spec, options);
    const other = Float32Array.from(randomArray(6 * 8, 9));
    const alone = [await net.predict(x, { mcSamples: 3 }), await net.predict(other, { mcSamples: 3 })];
    const fresh = await backend.compile(spec, options);
    const together = await Promise.all([
      fresh.predict(x, { mcSamples: 3 }),
      fresh.predict(other, { mcSamples: 3 }),
    ]);
    expect(together).toEqual(alone);
    const again = await Promise.all([net.predict(x, { mcSamples: 3 }), net.predict(other, { mcSamples: 3 })]);
    expect(again).toEqual(alone);
  });

  it('training, getParams, checkpoint and saveSafetensors at once see one state', async () => {
    const backend = await freshBackend();
    const sequential = await backend.compile(spec, options);
    await sequential.trainRows(dataA, rows);
    const after = await sequential.getParams();
    const afterFile = await saveSafetensors(sequential);

    const net = await backend.compile(spec, options);
    const [, params, checkpoint, file] = await Promise.all([
      net.trainRows(dataA, rows),
      net.getParams(),
      net.checkpoint(),
      saveSafetensors(net),
    ]);
    expect(params).toEqual(after);
    expect(checkpoint.params).toEqual(after);
    expect(checkpoint.step).toBe(2);
    expect(file).toEqual(afterFile);
    expect(checkpoint.optimizerState).toEqual((await sequential.checkpoint()).optimizerState);
  });

  it('a disposed backend refuses every call of its nets with DisposedError, with nothing unhandled', async () => {
    const reasons = await unhandledDuring(async () => {
      const backend = await freshBackend();
      const net = await backend.compile(spec, options);
      const params = await net.getParams();
      const pending = await net.trainStep(x, y);
      backend.dispose();
      for (const outcome of await Promise.allSettled(everyCall(net))) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(DisposedError);
      }
      expect(() => net.setParams(params)).toThrow(DisposedError);
      const loss = await pending.loss.catch((error: unknown) => error);
      if (typeof loss === 'number') expect(loss).toBeGreaterThan(0);
      else expect(loss).toBeInstanceOf(DisposedError);
      net.dispose();
      await expect(backend.compile(spec, options)).rejects.toBeInstanceOf(DisposedError);
    });
    expect(reasons).toEqual([]);
  });

  it('a lost device fails takeMetrics and every call with DeviceLostError, with nothing unhandled', async () => {
    const reasons = await unhandledDuring(async () => {
      const { device, backend } = await freshDevice();
      const net = await backend.compile(spec, options);
      await (await net.trainStep(x, y)).loss;
      device.destroy();
      await device.lost;
      await expect(net.takeMetrics()).rejects.toBeInstanceOf(DeviceLostError);
      for (const outcome of await Promise.allSettled(everyCall(net))) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(DeviceLostError);
      }
      net.dispose();
      backend.dispose();
    });
    expect(reasons).toEqual([]);
  });
});
