import { describe, expect, it } from 'vitest';
import { ArgumentError, createBackend, mlp } from '../src/index.js';
import { randomArray } from './helpers.js';

describe('MC-dropout predict', () => {
  it('returns mean and variance per row and class, repeatably, with rows of means summing to 1', async () => {
    const spec = mlp({ sizes: [6, 16, 4], keepProb: { input: 0.8, hidden: 0.5 }, seed: 2 });
    const net = await (await createBackend('cpu')).compile(spec, { batchSize: 4 });
    const x = randomArray(7 * 6, 1);
    const { mean, variance } = await net.predict(x, { mcSamples: 20 });
    expect(mean).toHaveLength(28);
    expect(variance).toHaveLength(28);
    for (let r = 0; r < 7; r++)
      expect(mean.subarray(r * 4, r * 4 + 4).reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    expect(variance.every((v) => v >= 0)).toBe(true);
    expect(variance.some((v) => v > 1e-6)).toBe(true);
    const again = await net.predict(x, { mcSamples: 20 });
    expect(again.mean).toEqual(mean);
    // One pass with dropout on differs from the plain prediction; variance of one pass is 0.
    const single = await net.predict(x, { mcSamples: 1 });
    expect(single.variance.every((v) => v === 0)).toBe(true);
    expect(single.mean).not.toEqual(await net.predict(x));
  });

  it('on a linear net its mean approaches the no-dropout prediction as the passes grow', async () => {
    // No hidden layer: E[logits] under input dropout equals the plain logits. Small weights keep the
    // softmax nearly linear, so the mean of the probabilities approaches the plain probabilities.
    const spec = mlp({ sizes: [20, 3], keepProb: { input: 0.5 }, seed: 9 });
    const net = await (await createBackend('cpu')).compile(spec, { batchSize: 8 });
    const params = await net.getParams();
    const weight = params['layers.0.weight'];
    if (!weight) throw new Error('no weight');
    net.setParams({
      ...params,
      'layers.0.weight': { shape: weight.shape, data: weight.data.map((w) => w * 0.05) },
    });
    const x = randomArray(8 * 20, 3);
    const plain = await net.predict(x);
    const error = async (samples: number) => {
      const { mean } = await net.predict(x, { mcSamples: samples });
      return Math.max(...mean.map((m, i) => Math.abs(m - (plain[i] as number))));
    };
    const [few, many] = [await error(4), await error(4000)];
    expect(many).toBeLessThan(few / 5);
    expect(many).toBeLessThan(2e-3);
  });

  it('rejects a bad sample count', async () => {
    const net = await (await createBackend('cpu')).compile(mlp({ sizes: [2, 2] }), { batchSize: 1 });
    await expect(net.predict([1, 2], { mcSamples: 0 })).rejects.toBeInstanceOf(ArgumentError);
    await expect(net.predict([1, 2], { mcSamples: 0 })).rejects.toMatchObject({
      argument: 'options.mcSamples',
    });
    // Above the documented cap (each pass is a whole forward run); 2^32 used to throw an untyped RangeError.
    await expect(net.predict([1, 2], { mcSamples: 2 ** 32 })).rejects.toMatchObject({
      argument: 'options.mcSamples',
      expected: 'an integer from 1 to 10000',
    });
  });
});
