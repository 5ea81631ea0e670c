/**
 * Issue 15 (Reliability II), inputs and files: predict's options, safetensors headers that lie about
 * their size, evaluate's data, the data loaders' arguments and mlp's spec. Every bad argument is an
 * ArgumentError (or ModelFileError for a file) that names it, thrown before any work, so nothing changes.
 */
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseIdx } from '../src/data/idx.js';
import { gunzipIfNeeded, loadMnist, MAX_INFLATED_BYTES, mnistFromIdx } from '../src/data/mnist.js';
import { loadMnistFromDirectory } from '../src/data/mnist-node.js';
import { spirals } from '../src/data/toy.js';
import { DataFormatError } from '../src/errors.js';
import {
  ArgumentError,
  createBackend,
  type Dataset,
  dataset,
  evaluate,
  loadSafetensors,
  ModelFileError,
  mlp,
  type Net,
  saveSafetensors,
} from '../src/index.js';
import { MAX_MC_SAMPLES } from '../src/net/infer.js';
import { idxBytes } from './idx-build.js';

/** The error `action` threw or rejected with (fails the test when it succeeded). */
async function failure(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** Fails unless `action` throws or rejects with an ArgumentError naming `argument`. */
async function expectArgument(action: () => unknown, argument: string | RegExp): Promise<ArgumentError> {
  const error = await failure(action);
  expect(error).toBeInstanceOf(ArgumentError);
  const { argument: named, message } = error as ArgumentError;
  if (typeof argument === 'string') expect(named).toBe(argument);
  else expect(named).toMatch(argument);
  expect(message).toMatch(/expected .+, got .+/);
  return error as ArgumentError;
}

/** A small trained-looking net and a snapshot of its whole state, to check that a refusal changed nothing. */
async function smallNet(sizes = [3, 5, 2]): Promise<{ net: Net; snapshot: () => Promise<string> }> {
  const spec = mlp({ sizes, keepProb: { input: 0.8, hidden: 0.5 }, seed: 3 });
  const net = await (await createBackend('cpu')).compile(spec, { batchSize: 2 });
  const inputs = sizes[0] as number;
  await net.trainStep(
    Float32Array.from({ length: 2 * inputs }, (_, i) => i / 7),
    [0, 1],
  );
  const snapshot = async () => {
    const { params, optimizerState, step } = await net.checkpoint();
    const flat = (map: typeof params) =>
      Object.entries(map).map(([name, t]) => [name, t.shape, Array.from(t.data)]);
    return JSON.stringify([flat(params), flat(optimizerState), step]);
  };
  return { net, snapshot };
}

describe('predict: options and the MC sample count', () => {
  it.each([
    ['2^31 (ran the heap out of memory)', { mcSamples: 2 ** 31 }, 'options.mcSamples'],
    ['2^32 (threw an untyped RangeError)', { mcSamples: 2 ** 32 }, 'options.mcSamples'],
    ['one above the cap', { mcSamples: MAX_MC_SAMPLES + 1 }, 'options.mcSamples'],
    ['Infinity', { mcSamples: Number.POSITIVE_INFINITY }, 'options.mcSamples'],
    ['NaN', { mcSamples: Number.NaN }, 'options.mcSamples'],
    ['0', { mcSamples: 0 }, 'options.mcSamples'],
    ['-1', { mcSamples: -1 }, 'options.mcSamples'],
    ['1.5', { mcSamples: 1.5 }, 'options.mcSamples'],
    ['a string', { mcSamples: '10' }, 'options.mcSamples'],
    ['a bigint', { mcSamples: 10n }, 'options.mcSamples'],
    ['missing', {}, 'options.mcSamples'],
    ['null options', null, 'options'],
    ['number options', 5, 'options'],
    ['string options', 'mc', 'options'],
  ])('rejects %s, leaving the net as it was', async (_case, options, argument) => {
    const { net, snapshot } = await smallNet();
    const before = await snapshot();
    const error = await expectArgument(() => net.predict([1, 2, 3], options as never), argument);
    expect(error.message.length).toBeLessThan(200);
    expect(await snapshot()).toBe(before);
    // The net still predicts afterwards.
    expect((await net.predict([1, 2, 3], { mcSamples: 2 })).mean).toHaveLength(2);
  });

  it('accepts the documented cap, 10,000 passes', async () => {
    expect(MAX_MC_SAMPLES).toBe(10_000);
    const net = await (await createBackend('cpu')).compile(mlp({ sizes: [1, 2], keepProb: { input: 0.5 } }), {
      batchSize: 1,
    });
    const { mean } = await net.predict([1], { mcSamples: MAX_MC_SAMPLES });
    expect((mean[0] as number) + (mean[1] as number)).toBeCloseTo(1, 5);
  });

  it('reads mcSamples once: a getter cannot pass the check and then hand over another count', async () => {
    const { net } = await smallNet();
    let reads = 0;
    const options = {
      get mcSamples() {
        reads++;
        return reads === 1 ? 3 : 2 ** 32;
      },
    };
    const { mean } = await net.predict([1, 2, 3], options);
    expect(reads).toBe(1);
    expect(mean).toEqual((await net.predict([1, 2, 3], { mcSamples: 3 })).mean);
  });
});

/** A safetensors file by hand: u64 LE header length, the JSON text, then `data`. */
function safetensorsFile(json: string, data: Uint8Array = new Uint8Array()): Uint8Array {
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

function expectModelFileError(action: () => unknown, part: string | RegExp): ModelFileError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ModelFileError);
  const error = caught as ModelFileError;
  if (typeof part === 'string') expect(error.part).toBe(part);
  else expect(error.part).toMatch(part);
  // Bounded, whatever the file declares.
  expect(error.message.length).toBeLessThan(400);
  return error;
}

const SPEC_PART = '__metadata__["dropgpu.spec"]';

describe('loadSafetensors: work bounded by the file, not by what its header declares', () => {
  it('a 16 MB header-only file declaring 4 M layers is refused from its sizes, with a short message', () => {
    // Took 38 s and 1.7 GB, and built an 8 M-character message, before the spec's layers were bounded by
    // the tensors the file holds. Now it is refused before any layer is built.
    const layers = 4_000_000;
    const spec = `{"sizes":[${'1,'.repeat(layers)}1],"activation":"relu","keepProb":[${'1,'.repeat(layers - 1)}1],"seed":0}`;
    const file = safetensorsFile(JSON.stringify({ __metadata__: { 'dropgpu.spec': spec } }));
    expect(file.length).toBeGreaterThan(16e6);
    const error = expectModelFileError(() => loadSafetensors(file), `${SPEC_PART}.sizes`);
    expect(error.expected).toMatch(/at most 1 widths, 0 layers .*holds 0 tensors/);
    expect(error.got).toBe('an array of length 4000001');
  });

  it('more layers than tensors, however few, is refused before the spec is built', async () => {
    const net = await (await createBackend('cpu')).compile(mlp({ sizes: [2, 3, 2] }), { batchSize: 1 });
    const good = await saveSafetensors(net);
    const n = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + n)));
    // 5 layers of width 2^40 on a file of 4 tensors: mlp() would refuse the widths, but the count comes first.
    header.__metadata__['dropgpu.spec'] = JSON.stringify({
      sizes: [2 ** 40, 2 ** 40, 2 ** 40, 2 ** 40, 2 ** 40, 2 ** 40],
      activation: 'relu',
      keepProb: [1, 1, 1, 1, 1],
      seed: 0,
    });
    const file = safetensorsFile(JSON.stringify(header), good.subarray(8 + n));
    const error = expectModelFileError(() => loadSafetensors(file), `${SPEC_PART}.sizes`);
    expect(error.expected).toMatch(/at most 5 widths, 4 layers/);
  });

  it('a spec of 2^48 weights over a 40-byte data region is refused without allocating for it', () => {
    // An implementation that made room for the declared parameters would need 1 PiB (a RangeError).
    const spec = { sizes: [2 ** 24, 2 ** 24], activation: 'relu', keepProb: [1], seed: 0 };
    const header = {
      __metadata__: { 'dropgpu.spec': JSON.stringify(spec) },
      'layers.0.weight': { dtype: 'F32', shape: [3, 3], data_offsets: [0, 36] },
      'layers.0.bias': { dtype: 'F32', shape: [1], data_offsets: [36, 40] },
    };
    const file = safetensorsFile(JSON.stringify(header), new Uint8Array(40));
    const error = expectModelFileError(() => loadSafetensors(file), 'tensor "layers.0.weight" shape');
    expect(error.expected).toContain('[16777216, 16777216]');
  });

  it('long names, lists and keys are cut in messages', () => {
    const long = 'w'.repeat(1_000_000);
    const named = safetensorsFile(
      JSON.stringify({ [long]: { dtype: 'F32', shape: [1], data_offsets: [0, 8] } }),
    );
    expect(
      expectModelFileError(() => loadSafetensors(named), /^tensor "w{80}…" data_offsets$/).part,
    ).not.toContain(long);
    const keys = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key${i}`, 'v']));
    const manyKeys = safetensorsFile(JSON.stringify({ __metadata__: keys }));
    expect(expectModelFileError(() => loadSafetensors(manyKeys), SPEC_PART).got).toMatch(/100000 keys/);
    // A spec of many layers, all of whose tensors are there but one: the message shows 8 sizes and a count.
    const sizes = Array.from({ length: 200 }, () => 1);
    const tensors: Record<string, unknown> = {};
    let offset = 0;
    for (let k = 0; k + 1 < sizes.length; k++) {
      for (const name of [`layers.${k}.weight`, `layers.${k}.bias`]) {
        const shape = name.endsWith('weight') ? [1, 1] : [1];
        tensors[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4] };
        offset += 4;
      }
    }
    delete tensors['layers.198.bias'];
    offset -= 4;
    const spec = { sizes, activation: 'relu', keepProb: sizes.slice(1), seed: 0 };
    const file = safetensorsFile(
      JSON.stringify({ __metadata__: { 'dropgpu.spec': JSON.stringify(spec) }, ...tensors }),
      new Uint8Array(offset),
    );
    const error = expectModelFileError(() => loadSafetensors(file), 'tensor "layers.198.bias"');
    expect(error.expected).toContain('spec sizes [1,1,1,1,1,1,1,1,… 200 sizes]');
  });
});

describe('loadSafetensors: a key given twice is refused (JSON.parse would keep the last)', () => {
  const entry = (begin: number, end: number, shape = [(end - begin) / 4]) =>
    `{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${end}]}`;

  it('a tensor named twice, even when the last entry alone makes a good file', async () => {
    const net = await (await createBackend('cpu')).compile(mlp({ sizes: [2, 3, 2] }), { batchSize: 1 });
    const good = await saveSafetensors(net);
    expect(() => loadSafetensors(good)).not.toThrow();
    const n = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
    const text = new TextDecoder().decode(good.subarray(8, 8 + n)).trimEnd();
    // A decoy first entry for layers.0.weight: another reader keeping the first would see [1, 6].
    const twice = `{"layers.0.weight":${entry(0, 24, [1, 6])},${text.slice(1)}`;
    expect(Object.keys(JSON.parse(twice))).toContain('layers.0.weight');
    const file = safetensorsFile(twice, good.subarray(8 + n));
    const error = expectModelFileError(() => loadSafetensors(file), 'tensor "layers.0.weight"');
    expect(error.got).toBe('"layers.0.weight" twice');
    // The same name spelled with an escape is the same name.
    const escaped = `{"\\u006cayers.0.weight":${entry(0, 24, [1, 6])},${text.slice(1)}`;
    expectModelFileError(
      () => loadSafetensors(safetensorsFile(escaped, good.subarray(8 + n))),
      'tensor "layers.0.weight"',
    );
  });

  it.each([
    ['__metadata__ twice', `{"__metadata__":{},"__metadata__":{"a":"b"}}`, '__metadata__'],
    ['a metadata key twice', `{"__metadata__":{"a":"1","a":"2"}}`, '__metadata__["a"]'],
    [
      'a field of an entry twice',
      `{"t":{"dtype":"F32","dtype":"F32","shape":[0],"data_offsets":[0,0]}}`,
      'tensor "t"',
    ],
    [
      'a key of the spec twice',
      JSON.stringify({
        __metadata__: {
          'dropgpu.spec': '{"sizes":[1,1],"sizes":[2,2],"activation":"relu","keepProb":[1],"seed":0}',
        },
      }),
      SPEC_PART,
    ],
  ])('%s', (_case, json, part) => {
    expectModelFileError(() => loadSafetensors(safetensorsFile(json)), part);
  });

  it('equal keys in different objects are fine', () => {
    const json = `{"__metadata__":{"dtype":"x"},"a":${entry(0, 0)},"b":${entry(0, 0)}}`;
    // Passes the duplicate scan; refused later for want of a spec.
    expectModelFileError(() => loadSafetensors(safetensorsFile(json)), SPEC_PART);
  });
});

describe('loadSafetensors: its arguments', () => {
  it.each([
    [null, 'options'],
    [5, 'options'],
    ['big', 'options'],
    [{ maxHeaderBytes: Number.NaN }, 'options.maxHeaderBytes'],
    [{ maxHeaderBytes: 1e39 }, 'options.maxHeaderBytes'],
    [{ maxHeaderBytes: '64' }, 'options.maxHeaderBytes'],
  ])('options %j', async (options, argument) => {
    await expectArgument(() => loadSafetensors(safetensorsFile('{}'), options as never), argument);
  });

  it.each([[null], [undefined], ['bytes'], [[1, 2, 3]], [{ length: 8 }]])('bytes %j', async (bytes) => {
    await expectArgument(() => loadSafetensors(bytes as never), 'bytes');
  });
});

describe('evaluate checks its net, data and chunk size before predicting anything', () => {
  /** A 3-input, 3-class net and 4 good rows for it. */
  async function setup() {
    const { net, snapshot } = await smallNet([3, 4, 3]);
    const x = Float32Array.from({ length: 12 }, (_, i) => (i % 5) / 4 - 0.5);
    const good = dataset(x, [0, 1, 2, 1], 3, 3);
    return { net, snapshot, good };
  }
  const like = (fields: Partial<Record<keyof Dataset, unknown>>, base: Dataset) =>
    ({ ...base, ...fields }) as Dataset;

  it('16-feature data on a 32-input net: data.features (was loss NaN, accuracy 0.156)', async () => {
    const net = await (await createBackend('cpu')).compile(mlp({ sizes: [32, 4, 10] }), { batchSize: 4 });
    const data = dataset(new Float32Array(16 * 16), new Uint8Array(16), 16, 10);
    const error = await expectArgument(() => evaluate(net, data), 'data.features');
    expect(error.expected).toMatch(/32/);
  });

  it('10-class data on a 3-class net: data.classes (counted 6 of 16 rows)', async () => {
    const net = await (await createBackend('cpu')).compile(mlp({ sizes: [2, 4, 3] }), { batchSize: 4 });
    const labels = Uint8Array.from({ length: 16 }, (_, i) => i % 10);
    const data = dataset(new Float32Array(32), labels, 2, 10);
    await expectArgument(() => evaluate(net, data), 'data.classes');
  });

  it.each([
    ['null data', null, 'data'],
    ['undefined data', undefined, 'data'],
    ['a number', 5, 'data'],
    ['an array', [1, 2, 3], 'data'],
  ])('%s', async (_case, data, argument) => {
    const { net, snapshot } = await setup();
    const before = await snapshot();
    await expectArgument(() => evaluate(net, data as never), argument);
    expect(await snapshot()).toBe(before);
  });

  it('Dataset-likes that lie: x of another type, n, classes, labels, values', async () => {
    const { net, good } = await setup();
    const cases: [Dataset, string][] = [
      [like({ x: Array.from(good.x) }, good), 'data'],
      [like({ y: Array.from(good.y) }, good), 'data'],
      [like({ n: 5 }, good), 'data'],
      [like({ n: 0, x: new Float32Array(), y: new Uint8Array() }, good), 'data.n'],
      [like({ n: Number.NaN }, good), 'data.n'],
      [like({ classes: Number.NaN }, good), 'data.classes'],
      [like({ classes: 0 }, good), 'data.classes'],
      [like({ classes: 2 }, good), 'data.y[2]'],
      [like({ y: Uint8Array.of(0, 1, 200, 1) }, good), 'data.y[2]'],
      [like({ x: Float32Array.from(good.x, (v, i) => (i === 7 ? Number.NaN : v)) }, good), 'data.x[7]'],
      // 1e39 is finite as a double; in a Float32Array it is Infinity.
      [like({ x: Float32Array.from(good.x, (v, i) => (i === 3 ? 1e39 : v)) }, good), 'data.x[3]'],
    ];
    for (const [data, argument] of cases) await expectArgument(() => evaluate(net, data), argument);
  });

  it.each([[0], [-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], [null], ['64'], [2 ** 53]])(
    'chunkRows %s',
    async (chunkRows) => {
      const { net, good } = await setup();
      await expectArgument(() => evaluate(net, good, chunkRows as never), 'chunkRows');
    },
  );

  it.each([[null], [undefined], [{}], [{ info: {} }], [{ info: { spec: { sizes: [3, 3] } } }]])(
    'net %j',
    async (net) => {
      const { good } = await setup();
      await expectArgument(() => evaluate(net as never, good), 'net');
    },
  );

  it('a Dataset read once: a getter cannot pass the check and then change', async () => {
    const { net, good } = await setup();
    const expected = await evaluate(net, good);
    let reads = 0;
    const changing = {
      ...good,
      get n() {
        reads++;
        return reads === 1 ? 4 : 1_000_000;
      },
    };
    const result = await evaluate(net, changing);
    expect(reads).toBe(1);
    expect(result).toEqual(expected);
    expect(result.confusion.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('good data still evaluates, in any chunk size, and counts every row', async () => {
    const { net, good } = await setup();
    const whole = await evaluate(net, good);
    expect(whole.confusion.reduce((a, b) => a + b, 0)).toBe(4);
    expect(Number.isFinite(whole.loss)).toBe(true);
    const chunked = await evaluate(net, good, 3);
    expect(chunked.accuracy).toBe(whole.accuracy);
    expect(chunked.loss).toBeCloseTo(whole.loss, 6);
  });
});

describe('dataset: every value read once and checked as an f32', () => {
  it('1e39 in a plain array is out of f32 range, named by index', async () => {
    const error = await expectArgument(() => dataset([0, 1e39], [0], 2, 2), 'x[1]');
    expect(error.expected).toMatch(/f32 range/);
  });

  it('a getter on an element cannot pass the check and then change', () => {
    let reads = 0;
    const x = [0.5, 0.25];
    Object.defineProperty(x, 1, {
      get() {
        reads++;
        return reads === 1 ? 0.25 : Number.NaN;
      },
    });
    const y = [1];
    let labelReads = 0;
    Object.defineProperty(y, 0, {
      get() {
        labelReads++;
        return labelReads === 1 ? 1 : 99;
      },
    });
    const data = dataset(x, y, 2, 2);
    expect([reads, labelReads]).toEqual([1, 1]);
    expect(Array.from(data.x)).toEqual([0.5, 0.25]);
    expect(Array.from(data.y)).toEqual([1]);
  });

  it.each([
    [() => dataset(null as never, [0], 1, 2), 'x'],
    [() => dataset([0], null as never, 1, 2), 'y'],
    [() => dataset([0], { length: -1 } as never, 1, 2), 'y'],
    [() => dataset([0], { length: 2 ** 60 } as never, 1, 2), 'y'],
    [() => dataset(new DataView(new ArrayBuffer(4)) as never, [0], 1, 2), 'x'],
    [() => dataset([0], [0], 1e39, 2), 'features'],
    [() => dataset([0], [0], 1, 1e39), 'classes'],
    [() => dataset([0], [0], Number.NaN, 2), 'features'],
    [() => dataset(['0'] as never, [0], 1, 2), 'x[0]'],
  ])('%s', async (action, argument) => {
    await expectArgument(action, argument);
  });
});

describe('the data loaders: null, missing or wrong-typed arguments name themselves', () => {
  const images = idxBytes(8, [2, 28, 28], new Uint8Array(2 * 784).fill(7));
  const labels = idxBytes(8, [2], [3, 9]);
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('mnistFromIdx still reads good files', () => {
    const data = mnistFromIdx({ images, labels }, { limit: 1 });
    expect(data.n).toBe(1);
    expect(Array.from(data.y)).toEqual([3]);
  });

  it.each([
    ['no files', [], 'files'],
    ['null files', [null], 'files'],
    ['files a string', ['train-images'], 'files'],
    ['files an array', [[images, labels]], 'files'],
    ['images missing', [{ labels }], 'files.images'],
    ['images a string', [{ images: 'x', labels }], 'files.images'],
    ['images an Int8Array', [{ images: new Int8Array(4), labels }], 'files.images'],
    ['labels null', [{ images, labels: null }], 'files.labels'],
    ['imagesName a number', [{ images, labels, imagesName: 5 }], 'files.imagesName'],
    ['labelsName null', [{ images, labels, labelsName: null }], 'files.labelsName'],
    ['null options', [{ images, labels }, null], 'options'],
    ['options a string', [{ images, labels }, 'unit'], 'options'],
    ['scale unknown', [{ images, labels }, { scale: 'z' }], 'options.scale'],
    ['limit NaN', [{ images, labels }, { limit: Number.NaN }], 'options.limit'],
    ['limit 0', [{ images, labels }, { limit: 0 }], 'options.limit'],
    ['limit 1e39', [{ images, labels }, { limit: 1e39 }], 'options.limit'],
    ['limit a string', [{ images, labels }, { limit: '1' }], 'options.limit'],
  ])('mnistFromIdx: %s', async (_case, args, argument) => {
    await expectArgument(() => (mnistFromIdx as (...a: unknown[]) => unknown)(...args), argument);
  });

  it('mnistFromIdx reads each file once: a getter cannot pass the check and then change', () => {
    let reads = 0;
    const files = {
      labels,
      get images() {
        reads++;
        return reads === 1 ? images : 'not bytes';
      },
    };
    expect(mnistFromIdx(files as never).n).toBe(2);
    expect(reads).toBe(1);
  });

  it.each([
    ['null source', [null], 'source'],
    ['a number', [5], 'source'],
    [
      'a file missing',
      [{ trainImages: images, trainLabels: labels, testImages: images }],
      'source.testLabels',
    ],
    [
      'a name of the wrong type',
      [
        {
          trainImages: images,
          trainLabels: labels,
          testImages: images,
          testLabels: labels,
          names: { testLabels: 3 },
        },
      ],
      'source.names.testLabels',
    ],
    [
      'names null',
      [{ trainImages: images, trainLabels: labels, testImages: images, testLabels: labels, names: null }],
      'source.names',
    ],
    ['null options', ['https://example.invalid/mnist', null], 'options'],
    ['a signal that is not one', ['https://example.invalid/mnist', { signal: {} }], 'options.signal'],
    ['scale unknown', ['https://example.invalid/mnist', { scale: 'z' }], 'options.scale'],
    ['trainLimit -1', ['https://example.invalid/mnist', { trainLimit: -1 }], 'options.trainLimit'],
    ['testLimit 2.5', ['https://example.invalid/mnist', { testLimit: 2.5 }], 'options.testLimit'],
  ])('loadMnist: %s, refused before anything is fetched', async (_case, args, argument) => {
    const fetch = vi.fn(() => Promise.reject(new Error('fetched')));
    vi.stubGlobal('fetch', fetch);
    await expectArgument(() => (loadMnist as (...a: unknown[]) => unknown)(...args), argument);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('loadMnist refuses a response longer than MAX_INFLATED_BYTES without reading it', async () => {
    let pulled = 0;
    const endless = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(1024));
        },
      });
    const fetch = vi.fn(
      async () => new Response(endless(), { headers: { 'content-length': String(MAX_INFLATED_BYTES + 1) } }),
    );
    vi.stubGlobal('fetch', fetch);
    const error = await failure(() => loadMnist('https://example.invalid/mnist'));
    expect(error).toBeInstanceOf(DataFormatError);
    expect((error as Error).message).toMatch(/at most 536870912 bytes, got a longer response/);
    expect(pulled).toBeLessThan(10);
  });

  it('a gzip bomb stops inflating at the cap (MAX_INFLATED_BYTES for loadMnist)', async () => {
    expect(MAX_INFLATED_BYTES).toBe(2 ** 29);
    // 64 MiB of zeros compress to ~64 kB; with a 1 MiB cap, inflating stops after about 1 MiB.
    const bomb = gzipSync(new Uint8Array(64 * 2 ** 20), { level: 1 });
    expect(bomb.length).toBeLessThan(1e6);
    const error = await failure(() => gunzipIfNeeded(bomb, 'train images', 2 ** 20));
    expect(error).toBeInstanceOf(DataFormatError);
    expect((error as DataFormatError).file).toBe('train images');
    expect((error as Error).message).toMatch(/inflates to at most 1048576 bytes/);
    // Below the cap, the same path inflates exactly.
    const small = new Uint8Array(1000).map((_, i) => i % 251);
    expect(await gunzipIfNeeded(gzipSync(small), 'f', 2 ** 20)).toEqual(small);
  });

  it.each([
    ['dir a number', [5], 'dir'],
    ['dir empty', [''], 'dir'],
    ['null options', [undefined, null], 'options'],
    ['limit 0', [undefined, { trainLimit: 0 }], 'options.trainLimit'],
  ])('loadMnistFromDirectory: %s, before any file is read', async (_case, args, argument) => {
    await expectArgument(() => (loadMnistFromDirectory as (...a: unknown[]) => unknown)(...args), argument);
  });

  it.each([
    [() => parseIdx(null as never), 'bytes'],
    [() => parseIdx(labels, 5 as never), 'name'],
    [() => spirals(0), 'pointsPerClass'],
    [() => spirals(Number.NaN), 'pointsPerClass'],
    [() => spirals(-1), 'pointsPerClass'],
    [() => spirals(2 ** 31), 'pointsPerClass'],
    [() => spirals(10, -1), 'seed'],
    [() => spirals(10, 1.5), 'seed'],
  ])('%s', async (action, argument) => {
    await expectArgument(action, argument);
  });
});

describe('mlp: the whole spec, holes and huge widths', () => {
  it.each([
    ['no argument', () => (mlp as () => unknown)(), 'options'],
    ['null', () => mlp(null as never), 'options'],
    ['a number', () => mlp(5 as never), 'options'],
    ['an array of sizes', () => mlp([3, 2] as never), 'options'],
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case under test
    ['a hole in sizes', () => mlp({ sizes: [32, , 10] as never }), 'sizes[1]'],
    ['a hole at the end', () => mlp({ sizes: new Array(3).fill(4, 0, 2) }), 'sizes[2]'],
    ['an undefined width', () => mlp({ sizes: [32, undefined as never, 10] }), 'sizes[1]'],
    ['a width of 2^24 + 1', () => mlp({ sizes: [2, 2 ** 24 + 1, 2] }), 'sizes[1]'],
    ['a width of 1e39', () => mlp({ sizes: [2, 1e39, 2] }), 'sizes[1]'],
    ['a width of Infinity', () => mlp({ sizes: [2, Number.POSITIVE_INFINITY] }), 'sizes[1]'],
    ['a width of NaN', () => mlp({ sizes: [Number.NaN, 2] }), 'sizes[0]'],
    ['a string width', () => mlp({ sizes: ['3', 2] as never }), 'sizes[0]'],
    ['a negative width', () => mlp({ sizes: [3, -2] }), 'sizes[1]'],
    ['sizes of 2^32 − 1 holes', () => mlp({ sizes: new Array(2 ** 32 - 1) }), 'sizes'],
    ['1026 widths (1025 layers)', () => mlp({ sizes: new Array(1026).fill(2) }), 'sizes'],
    ['sizes a typed array', () => mlp({ sizes: Uint32Array.of(3, 2) as never }), 'sizes'],
    ['keepProb null', () => mlp({ sizes: [3, 2], keepProb: null as never }), 'keepProb'],
    ['keepProb a number', () => mlp({ sizes: [3, 2], keepProb: 0.5 as never }), 'keepProb'],
    [
      'a hole in keepProb.hidden',
      // biome-ignore lint/suspicious/noSparseArray: the hole is the case under test
      () => mlp({ sizes: [3, 4, 4, 2], keepProb: { hidden: [0.5, ,] as never } }),
      'keepProb.hidden[1]',
    ],
    ['seed 1e39', () => mlp({ sizes: [3, 2], seed: 1e39 }), 'seed'],
    ['seed NaN', () => mlp({ sizes: [3, 2], seed: Number.NaN }), 'seed'],
    ['activation null', () => mlp({ sizes: [3, 2], activation: null as never }), 'activation'],
    ['seed null', () => mlp({ sizes: [3, 2], seed: null as never }), 'seed'],
    [
      'keepProb.input null',
      () => mlp({ sizes: [3, 2], keepProb: { input: null as never } }),
      'keepProb.input',
    ],
    [
      'keepProb.hidden null',
      () => mlp({ sizes: [3, 4, 2], keepProb: { hidden: null as never } }),
      'keepProb.hidden',
    ],
  ])('%s', async (_case, action, argument) => {
    const error = await expectArgument(action, argument);
    expect(error.message.length).toBeLessThan(200);
  });

  it('the largest width and the most layers are accepted', () => {
    expect(mlp({ sizes: [2, 2 ** 24, 2] }).sizes).toEqual([2, 2 ** 24, 2]);
    expect(mlp({ sizes: new Array(1025).fill(2) }).keepProb).toHaveLength(1024);
  });

  it('reads each option and width once: getters cannot pass the check and then change', () => {
    let reads = 0;
    const sizes = [3, 4, 2];
    Object.defineProperty(sizes, 1, {
      get() {
        reads++;
        return reads === 1 ? 4 : 0;
      },
    });
    let seedReads = 0;
    const options = {
      sizes,
      keepProb: { input: 0.8, hidden: 0.5 },
      get seed() {
        seedReads++;
        return seedReads === 1 ? 5 : -1;
      },
    };
    const spec = mlp(options);
    expect([reads, seedReads]).toEqual([1, 1]);
    expect(spec).toEqual({ sizes: [3, 4, 2], activation: 'relu', keepProb: [0.8, 0.5], seed: 5 });
    // The spec does not share the caller's array.
    expect(spec.sizes).not.toBe(sizes);
  });

  it('reads the length of sizes once: a Proxy cannot grow it while it is copied', () => {
    let reads = 0;
    const sizes = new Proxy([3, 4, 2], {
      get(target, key, receiver) {
        if (key === 'length') return ++reads === 1 ? 3 : 3 + reads;
        return Reflect.get(target, key, receiver);
      },
    });
    expect(mlp({ sizes }).sizes).toEqual([3, 4, 2]);
    expect(reads).toBe(1);
  });

  it('compile refuses a hand-made spec with a hole the same way', async () => {
    const backend = await createBackend('cpu');
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case under test
    const spec = { sizes: [3, , 2], activation: 'relu', keepProb: [1, 1], seed: 0 };
    await expectArgument(() => backend.compile(spec as never, { batchSize: 1 }), 'sizes[1]');
  });
});

describe('safetensors: hostile callers of the writer and reader', () => {
  it('encodeSafetensors reads each tensor once: a getter cannot pass the check and then write another', async () => {
    const { encodeSafetensors, decodeSafetensors } = await import('../src/io/safetensors.js');
    let reads = 0;
    const tensor = {
      shape: [2],
      get data() {
        reads++;
        return reads === 1 ? Float32Array.of(1, 2) : new Float32Array(1000);
      },
    };
    const shape = [2];
    const file = encodeSafetensors({ a: tensor as never, b: { shape, data: Float32Array.of(3, 4) } });
    expect(reads).toBe(1);
    const { tensors } = decodeSafetensors(file);
    expect(Array.from(tensors.a?.data ?? [])).toEqual([1, 2]);
    expect(Array.from(tensors.b?.data ?? [])).toEqual([3, 4]);
  });

  it('a file in shared memory loads like any other, where TextDecoder refuses shared views', async () => {
    const net = await (await createBackend('cpu')).compile(mlp({ sizes: [2, 2] }), { batchSize: 1 });
    const file = await saveSafetensors(net);
    const shared = new Uint8Array(new SharedArrayBuffer(file.length));
    shared.set(file);
    // Browsers' TextDecoder throws on a view of shared memory (Node's does not): do as they do.
    const Decoder = globalThis.TextDecoder;
    vi.stubGlobal(
      'TextDecoder',
      class extends Decoder {
        override decode(input?: AllowSharedBufferSource, options?: TextDecodeOptions): string {
          const buffer = input && 'buffer' in input ? input.buffer : input;
          if (buffer instanceof SharedArrayBuffer) throw new TypeError('shared views are not allowed');
          return super.decode(input, options);
        }
      },
    );
    try {
      expect(loadSafetensors(shared).params).toEqual(loadSafetensors(file).params);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('detached buffers (transferred away) are named, not an untyped TypeError', () => {
  const detached = () => {
    const buffer = new ArrayBuffer(16);
    structuredClone(buffer, { transfer: [buffer] });
    return buffer;
  };
  it.each([
    ['loadSafetensors', () => loadSafetensors(detached()), 'bytes'],
    ['parseIdx', () => parseIdx(detached()), 'bytes'],
    ['mnistFromIdx', () => mnistFromIdx({ images: detached(), labels: new Uint8Array(8) }), 'files.images'],
    [
      'loadMnist',
      () =>
        loadMnist({
          trainImages: detached(),
          trainLabels: detached(),
          testImages: detached(),
          testLabels: detached(),
        }),
      'source.trainImages',
    ],
  ])('%s', async (_case, action, argument) => {
    const error = await expectArgument(action, argument);
    expect(error.got).toBe('a detached ArrayBuffer');
  });
});

describe('findDuplicateKey: the scan behind the duplicate check', () => {
  it.each([
    ['no duplicates', '{"a":1,"b":{"a":2,"b":[{"a":3},{"a":4}]}}', undefined],
    ['a duplicate-looking string value', '{"a":"{\\"x\\":1,\\"x\\":2}","b":"a"}', undefined],
    ['keys with quotes, backslashes and braces', '{"a\\"b":1,"a\\\\":2,"{":3,"}":4,"[":5,",":6}', undefined],
    ['equal keys in sibling objects of an array', '[{"a":1},{"a":2}]', undefined],
    ['a value equal to a key', '{"a":"a","b":"a"}', undefined],
    ['top level', '{"a":1,"b":2,"a":3}', { key: 'a', within: undefined, depth: 1 }],
    ['escaped spelling', '{"ab":1,"\\u0061\\u0062":2}', { key: 'ab', within: undefined, depth: 1 }],
    ['inside an entry', '{"t":{"x":1},"u":{"y":1,"y":2}}', { key: 'y', within: 'u', depth: 2 }],
    ['inside an array inside an entry', '{"t":[{"k":1,"k":2}]}', { key: 'k', within: 't', depth: 3 }],
    ['after a nested object closes', '{"a":{"b":{}},"a":1}', { key: 'a', within: undefined, depth: 1 }],
    ['whitespace everywhere', ' { "a" : 1 ,\n "a" : 2 } ', { key: 'a', within: undefined, depth: 1 }],
  ])('%s', async (_case, text, expected) => {
    const { findDuplicateKey } = await import('../src/io/json-keys.js');
    JSON.parse(text); // Each case is valid JSON.
    expect(findDuplicateKey(text)).toEqual(expected);
  });

  it('nesting 100,000 deep costs no stack', async () => {
    const { findDuplicateKey } = await import('../src/io/json-keys.js');
    const deep = `${'{"a":['.repeat(100_000)}${']}'.repeat(100_000)}`;
    expect(findDuplicateKey(deep)).toBeUndefined();
  });
});
