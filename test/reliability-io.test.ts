/**
 * Issue 15 (Reliability II), inputs and files: predict's options, safetensors headers that lie about
 * their size, evaluate's data, the data loaders' arguments and mlp's spec. Every bad argument is an
 * ArgumentError (or ModelFileError for a file) that names it, thrown before any work, so nothing changes.
 */
import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  createBackend,
  type Dataset,
  DropgpuError,
  dataset,
  evaluate,
  loadSafetensors,
  ModelFileError,
  mlp,
  type Net,
  saveSafetensors,
} from '../src/index.js';
import { MAX_MC_SAMPLES } from '../src/net/types.js';

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
