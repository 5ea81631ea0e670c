/**
 * Training from a dataset kept on the device (`net.trainRows`, and `fit` through it): bit-identical to
 * uploading each batch with `trainStep`, for byte datasets (MNIST's) and float ones, whether the set
 * fits the device or falls back to gathering on the CPU; bad arguments change nothing.
 */
import { describe, expect, it } from 'vitest';
import { wrapDevice } from '../src/backend.js';
import { type Dataset, dataset } from '../src/data/dataset.js';
import { mnistFromIdx } from '../src/data/mnist.js';
import { CpuDevice } from '../src/device/cpu.js';
import { ArgumentError, mlp, type Net, sgd } from '../src/index.js';
import type { ParamMap } from '../src/nn/init.js';
import { fit } from '../src/train/fit.js';
import { rampedMomentum, scheduledLr } from '../src/train/schedule.js';
import { epochOrder } from '../src/train/shuffle.js';
import { randomArray } from './helpers.js';
import { idxBytes } from './idx-build.js';

const spec = mlp({
  sizes: [784, 16, 10],
  activation: 'relu',
  keepProb: { input: 0.8, hidden: 0.5 },
  seed: 9,
});
const options = { batchSize: 8, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), maxNorm: 3 };

/** 40 MNIST-shaped digits of pseudo-random pixels, through the real IDX path (so with `bytes`). */
function digits(): Dataset {
  const n = 40;
  const pixels = Array.from({ length: n * 784 }, (_, i) => (i * 7919 + (i >> 5)) % 256);
  const labels = Array.from({ length: n }, (_, i) => (i * 3) % 10);
  return mnistFromIdx(
    { images: idxBytes(8, [n, 28, 28], pixels), labels: idxBytes(8, [n], labels) },
    { scale: 'standardize' },
  );
}

/** A device whose buffers hold the net (layers.0.weight: 16 × 784 floats) but not the 40-row dataset: trainRows falls back. */
class SmallDevice extends CpuDevice {
  override readonly limits = { maxBufferBytes: 16 * 784 * 4, maxBufferLimit: 'test limit' };
}

async function compile(device = new CpuDevice('f32')): Promise<Net> {
  return wrapDevice(device).compile(spec, options);
}

/** The same steps with a trainStep each: the batch gathered and uploaded by hand. */
async function byTrainStep(data: Dataset, rows: Uint32Array, lrs: readonly number[]): Promise<ParamMap> {
  const net = await compile();
  for (let s = 0; s < lrs.length; s++) {
    const x = new Float32Array(8 * 784);
    const y: number[] = [];
    rows.subarray(s * 8, (s + 1) * 8).forEach((row, r) => {
      x.set(data.x.subarray(row * 784, (row + 1) * 784), r * 784);
      y.push(data.y[row] as number);
    });
    await net.trainStep(x, y, { lr: lrs[s] as number });
  }
  return net.getParams();
}

function expectSameBits(got: ParamMap, want: ParamMap): void {
  for (const name of Object.keys(want)) {
    const bits = (p: ParamMap) => new Uint32Array((p[name] as ParamMap[string]).data.buffer);
    expect(bits(got), name).toEqual(bits(want));
  }
}

describe('trainRows', () => {
  const steps = 37; // more than one fit run of 32
  const rows = Uint32Array.from({ length: steps * 8 }, (_, i) => (i * 11 + 3) % 40);
  const lrs = Array.from({ length: steps }, (_, s) => 0.05 / (1 + s / 10));
  const hyper = lrs.map((lr) => ({ lr }));

  it('keeps MNIST as bytes and trains bit-identically to trainStep', async () => {
    const data = digits();
    expect(data.bytes?.pixels.length).toBe(40 * 784);
    const net = await compile();
    const results = await net.trainRows(data, rows, hyper);
    expect(results.map((r) => r.step)).toEqual(Array.from({ length: steps }, (_, i) => i));
    expect((await Promise.all(results.map((r) => r.loss))).every(Number.isFinite)).toBe(true);
    expectSameBits(await net.getParams(), await byTrainStep(data, rows, lrs));
  });

  it('keeps a float dataset as f32, and falls back to the CPU gather when the set does not fit', async () => {
    const digitsSet = digits();
    const floats = dataset(Float32Array.from(randomArray(40 * 784, 3)), digitsSet.y, 784, 10);
    expect(floats.bytes).toBeUndefined();
    const want = await byTrainStep(floats, rows, lrs);
    const resident = await compile();
    await resident.trainRows(floats, rows, hyper);
    expectSameBits(await resident.getParams(), want);
    const smallDevice = new SmallDevice('f32');
    const small = await compile(smallDevice);
    const compiled = smallDevice.memory();
    await small.trainRows(floats, rows, hyper);
    expectSameBits(await small.getParams(), want);
    expect(smallDevice.memory()).toEqual(compiled); // nothing uploaded, nothing compiled
  });

  it('keeps a set whose bytes do not reproduce x as f32, still bit-identical to trainStep', async () => {
    const real = digits();
    const bytes = real.bytes as NonNullable<Dataset['bytes']>;
    // One value off by one ulp, and a table entry of -0 where x has +0: both must be noticed.
    const table = Float32Array.from(bytes.table);
    const zero = bytes.pixels[5] as number;
    const x = Float32Array.from(real.x, (v, i) => (bytes.pixels[i] === zero ? 0 : v));
    table[zero] = -0;
    const lying: Dataset = { ...real, x, bytes: { pixels: bytes.pixels, table } };
    const device = new CpuDevice('f32');
    const net = await compile(device);
    const compiled = device.memory().bytes;
    await net.trainRows(lying, rows, hyper);
    expect(device.memory().bytes).toBeGreaterThan(compiled + 40 * 784 * 4);
    expectSameBits(await net.getParams(), await byTrainStep(lying, rows, lrs));
  });

  it('replaces the resident set when another comes, and frees it on dispose', async () => {
    const device = new CpuDevice('f32');
    const net = await compile(device);
    const compiled = device.memory();
    const [a, b] = [digits(), digits()];
    await net.trainRows(a, rows.subarray(0, 8));
    const withA = device.memory();
    expect(withA.bytes).toBeGreaterThan(compiled.bytes + (40 * 784) / 4);
    await net.trainRows(b, rows.subarray(0, 8));
    expect(device.memory()).toEqual(withA);
    net.dispose();
    expect(device.memory()).toEqual({ buffers: 0, bytes: 0 });
  });

  it('uploads once for concurrent calls, and frees a set whose upload outlived the net', async () => {
    const device = new CpuDevice('f32');
    const net = await compile(device);
    const data = digits();
    const [first, second] = await Promise.all([
      net.trainRows(data, rows.subarray(0, 8)),
      net.trainRows(data, rows.subarray(8, 16)),
    ]);
    expect([first[0]?.step, second[0]?.step]).toEqual([0, 1]);
    net.dispose();
    expect(device.memory()).toEqual({ buffers: 0, bytes: 0 });

    const early = await compile(device);
    const pending = early.trainRows(digits(), rows.subarray(0, 8));
    early.dispose();
    await expect(pending).rejects.toThrow(/disposed/);
    expect(device.memory()).toEqual({ buffers: 0, bytes: 0 });
  });

  it('checks the whole set before the first step: labels the model has, finite values', async () => {
    const device = new CpuDevice('f32');
    const net = await compile(device);
    const before = { params: await net.getParams(), memory: device.memory() };
    const data = digits();
    const y = Uint8Array.from(data.y);
    y[33] = 10;
    const x = Float32Array.from(data.x);
    x[39 * 784 + 2] = Number.NaN;
    for (const [bad, message] of [
      [{ ...data, y }, /data\.y\[33\]: expected an integer class in \[0, 10\)/],
      [{ ...data, x, bytes: undefined }, /data\.x\[30578\]: expected a finite number/],
    ] as const) {
      // Row 0 alone is fine: the set is checked, not the rows asked for.
      const error = await net.trainRows(bad as Dataset, rows.subarray(0, 8)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArgumentError);
      expect((error as Error).message).toMatch(message);
    }
    expect(net.step).toBe(0);
    expect(device.memory()).toEqual(before.memory);
    expectSameBits(await net.getParams(), before.params);
  });

  it('rejects bad rows and hyperparameters before any work, changing nothing', async () => {
    const data = digits();
    const net = await compile();
    const before = await net.getParams();
    const cases: [ArrayLike<number>, unknown, RegExp][] = [
      [[], {}, /rows: expected a non-empty multiple of batchSize = 8/],
      [rows.subarray(0, 12), {}, /rows: expected a non-empty multiple/],
      [[0, 1, 2, 3, 4, 5, 6, 40], {}, /rows\[7\]: expected an integer row index in \[0, 40\)/],
      [[0, 1, 2, 3, 4, 5, 6, 1.5], {}, /rows\[7\]/],
      [rows.subarray(0, 16), [{ lr: 0.1 }], /hyperparameters: expected 2 entries/],
      [rows.subarray(0, 16), [{ lr: 0.1 }, { lr: -1 }], /hyperparameters\[1\]\.lr: expected a number > 0/],
      [rows.subarray(0, 8), { momentum: 1 }, /momentum: expected a number in \[0, 1\)/],
    ];
    for (const [badRows, badHyper, message] of cases) {
      const error = await net
        .trainRows(data, badRows, badHyper as Parameters<Net['trainRows']>[2])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArgumentError);
      expect((error as Error).message).toMatch(message);
    }
    await expect(net.trainRows({ ...data, features: 3 }, rows.subarray(0, 8))).rejects.toThrow(
      /data\.features/,
    );
    expect(net.step).toBe(0);
    expectSameBits(await net.getParams(), before);
  });
});

describe('fit on a resident dataset', () => {
  it('gives the same bits as the per-step path it replaced (shuffle, cosine lr, momentum ramp)', async () => {
    const data = digits();
    const fitOptions = {
      epochs: 3,
      seed: 5,
      reportEvery: 2,
      lrSchedule: { kind: 'cosine' } as const,
      momentumRamp: { from: 0.5, to: 0.9, epochs: 2 },
    };
    const fitted = await compile();
    await fit(fitted, data, fitOptions);

    // What fit did before the data moved to the device: gather, upload, one trainStep per batch.
    const manual = await compile();
    const stepsPerEpoch = Math.floor(data.n / 8);
    const totalSteps = stepsPerEpoch * fitOptions.epochs;
    let done = 0;
    for (let epoch = 0; epoch < fitOptions.epochs; epoch++) {
      const order = epochOrder(data.n, fitOptions.seed, epoch);
      for (let s = 0; s < stepsPerEpoch; s++) {
        const at = { epoch, epochs: epoch + s / stepsPerEpoch, progress: done / totalSteps };
        const x = new Float32Array(8 * 784);
        const y: number[] = [];
        for (let r = 0; r < 8; r++) {
          const row = order[s * 8 + r] as number;
          x.set(data.x.subarray(row * 784, (row + 1) * 784), r * 784);
          y.push(data.y[row] as number);
        }
        await manual.trainStep(x, y, {
          lr: scheduledLr(0.05, fitOptions.lrSchedule, at),
          momentum: rampedMomentum(fitOptions.momentumRamp, at),
        });
        done++;
      }
    }
    expect(fitted.step).toBe(manual.step);
    expectSameBits(await fitted.getParams(), await manual.getParams());
  });
});
