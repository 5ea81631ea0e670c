import { describe, expect, it } from 'vitest';
import { spirals, toyMetrics, trainToyEpoch } from '../src/data/toy.js';
import { adam, createBackend, mlp, sgd } from '../src/index.js';
import { initParams } from '../src/nn/init.js';

describe('CPU backend learns the 3-class spirals', () => {
  it.each([
    ['sgd + momentum + max-norm', sgd({ lr: 0.1, momentum: 0.9 }), 3.5],
    [
      'nesterov + weight decay',
      sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }),
      undefined,
    ],
    ['adam', adam({ lr: 0.01 }), undefined],
  ] as const)(
    '%s: loss below 0.25 and accuracy above 92% after 25 epochs',
    async (_name, optimizer, maxNorm) => {
      const data = spirals(100, 1);
      const backend = await createBackend('cpu');
      const spec = mlp({ sizes: [2, 64, 64, 3], activation: 'relu', keepProb: { hidden: 0.9 }, seed: 1 });
      const net = await backend.compile(spec, { batchSize: 30, optimizer, ...(maxNorm ? { maxNorm } : {}) });
      const before = toyMetrics(await net.predict(data.x), data);
      for (let epoch = 0; epoch < 25; epoch++) await trainToyEpoch(net, data, epoch);
      const after = toyMetrics(await net.predict(data.x), data);
      expect(after.loss).toBeLessThan(0.25);
      expect(after.loss).toBeLessThan(before.loss / 3);
      expect(after.accuracy).toBeGreaterThan(0.92);
      expect(net.step).toBe(25 * 10);
    },
  );

  it('max-norm keeps every weight row at norm ≤ c', async () => {
    const data = spirals(50, 2);
    const backend = await createBackend('cpu');
    const spec = mlp({ sizes: [2, 16, 3], seed: 3 });
    const net = await backend.compile(spec, { batchSize: 25, optimizer: sgd({ lr: 2 }), maxNorm: 0.5 });
    for (let epoch = 0; epoch < 3; epoch++) await trainToyEpoch(net, data, epoch);
    for (const [name, { shape, data: w }] of Object.entries(await net.getParams())) {
      if (shape.length !== 2) continue;
      const [rows = 0, cols = 0] = shape;
      for (let r = 0; r < rows; r++) {
        let squares = 0;
        for (let c = 0; c < cols; c++) squares += (w[r * cols + c] as number) ** 2;
        expect(Math.sqrt(squares), `${name} row ${r}`).toBeLessThanOrEqual(0.5 * (1 + 1e-6));
      }
    }
  });
});

describe('public API on the CPU backend', () => {
  const spec = mlp({ sizes: [3, 4, 2], activation: 'tanh', keepProb: { input: 0.8, hidden: 0.5 }, seed: 9 });
  const x = Float32Array.of(0.1, 0.2, 0.3, -1, 0.5, 2);
  const y = Int32Array.of(1, 0);

  it('starts from the documented initialization and names parameters as PyTorch does', async () => {
    const net = await (await createBackend('cpu')).compile(spec, { batchSize: 2 });
    const params = await net.getParams();
    expect(Object.keys(params)).toEqual([
      'layers.0.weight',
      'layers.0.bias',
      'layers.1.weight',
      'layers.1.bias',
    ]);
    expect(params['layers.0.weight']?.shape).toEqual([4, 3]);
    expect(params['layers.1.bias']?.shape).toEqual([2]);
    expect(params).toEqual(initParams(spec));
    // Glorot-uniform bound for tanh: √(6/(3+4)).
    const bound = Math.sqrt(6 / 7);
    expect(params['layers.0.weight']?.data.every((w) => Math.abs(w) <= bound)).toBe(true);
    expect(params['layers.0.bias']?.data.every((b) => b === 0)).toBe(true);
  });

  it('is deterministic: same seed, same steps, same bits; another seed differs', async () => {
    const run = async (seed: number) => {
      const net = await (await createBackend('cpu')).compile(
        mlp({ ...spec, keepProb: { input: 0.8, hidden: 0.5 }, seed }),
        {
          batchSize: 2,
          optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
        },
      );
      for (let i = 0; i < 5; i++) await net.trainStep(x, y);
      return net.getParams();
    };
    expect(await run(9)).toEqual(await run(9));
    expect(await run(9)).not.toEqual(await run(10));
  });

  it('predict takes any number of rows, without dropout, and its rows sum to 1', async () => {
    const net = await (await createBackend('cpu')).compile(spec, { batchSize: 2 });
    const rows = 5;
    const input = Float32Array.from({ length: rows * 3 }, (_, i) => Math.sin(i));
    const probs = await net.predict(input);
    expect(probs.length).toBe(rows * 2);
    for (let r = 0; r < rows; r++)
      expect((probs[2 * r] as number) + (probs[2 * r + 1] as number)).toBeCloseTo(1, 6);
    // No dropout: the same rows give the same answer at any step and in any chunk position.
    await net.trainStep(x, y);
    const again = await net.predict(input.subarray(3));
    const afterStep = await net.predict(input);
    expect(Array.from(again)).toEqual(Array.from(afterStep.subarray(2)));
  });

  it('setParams round-trips getParams and the loss reflects it', async () => {
    const backend = await createBackend('cpu');
    const a = await backend.compile(spec, { batchSize: 2 });
    const b = await backend.compile(mlp({ ...spec, keepProb: { input: 0.8, hidden: 0.5 }, seed: 77 }), {
      batchSize: 2,
    });
    b.setParams(await a.getParams());
    expect(await b.getParams()).toEqual(await a.getParams());
    expect(await await a.predict(x)).toEqual(await b.predict(x));
  });

  it('reads the loss lazily and keeps each step’s value', async () => {
    const net = await (await createBackend('cpu')).compile(spec, {
      batchSize: 2,
      optimizer: sgd({ lr: 0.5 }),
    });
    const first = await net.trainStep(x, y);
    const second = await net.trainStep(x, y);
    expect(first.step).toBe(0);
    expect(second.step).toBe(1);
    const [l1, l2] = [await first.loss, await second.loss];
    expect(Number.isFinite(l1) && Number.isFinite(l2)).toBe(true);
    expect(l1).not.toBe(l2);
    expect(await first.loss).toBe(l1);
  });
});
