/**
 * The concurrency model (src/net/call-order.ts): a net's calls run in the order they were made, so
 * concurrent calls give what the same calls in sequence give; dispose refuses what had not started,
 * lets what is in flight finish, and never breaks another net on the backend. CPU and Wasm backends.
 */
import { describe, expect, it } from 'vitest';
import { createBackend } from '../src/backend.js';
import { dataset } from '../src/data/dataset.js';
import { DisposedError, type FitHistory, fit, mlp, sgd } from '../src/index.js';
import { randomArray, randomLabels } from './helpers.js';

const spec = mlp({ sizes: [12, 16, 4], keepProb: { input: 0.8, hidden: 0.5 }, seed: 5 });
const options = { batchSize: 6, optimizer: sgd({ lr: 0.1, momentum: 0.9 }) };
const x = Float32Array.from(randomArray(6 * 12, 1));
const y = randomLabels(6, 2, 4);
const dataA = dataset(Float32Array.from(randomArray(30 * 12, 3)), randomLabels(30, 4, 4), 12, 4);
const dataB = dataset(Float32Array.from(randomArray(30 * 12, 5)), randomLabels(30, 6, 4), 12, 4);
const rows = Array.from({ length: 12 }, (_, i) => (i * 7) % 30);

describe.each(['cpu', 'wasm'] as const)('concurrent calls on %s', (kind) => {
  it('two MC-dropout predictions at once give what each gives alone', async () => {
    const backend = await createBackend(kind, kind === 'wasm' ? { threads: 2 } : {});
    const net = await backend.compile(spec, options);
    const other = Float32Array.from(randomArray(6 * 12, 9));
    const alone = [await net.predict(x, { mcSamples: 4 }), await net.predict(other, { mcSamples: 4 })];
    const together = await Promise.all([
      net.predict(x, { mcSamples: 4 }),
      net.predict(other, { mcSamples: 4 }),
    ]);
    expect(together).toEqual(alone);
    backend.dispose();
  });

  it('trainRows on two datasets at once, and a snapshot beside training, follow call order', async () => {
    const backend = await createBackend(kind, kind === 'wasm' ? { threads: 2 } : {});
    const sequential = await backend.compile(spec, options);
    await sequential.trainRows(dataA, rows);
    const between = await sequential.getParams();
    await sequential.trainRows(dataB, rows);
    const concurrent = await backend.compile(spec, options);
    const [, snapshot] = await Promise.all([
      concurrent.trainRows(dataA, rows),
      concurrent.getParams(),
      concurrent.trainRows(dataB, rows),
    ]);
    expect(snapshot).toEqual(between);
    expect(await concurrent.getParams()).toEqual(await sequential.getParams());
    expect(concurrent.step).toBe(4);
    backend.dispose();
  });

  it('dispose lets a pending loss read finish, refuses later ones, and leaves other nets working', async () => {
    const backend = await createBackend(kind, kind === 'wasm' ? { threads: 2 } : {});
    const bystander = await backend.compile(spec, options);
    const net = await backend.compile(spec, options);
    const first = await net.trainStep(x, y);
    const pending = first.loss;
    const second = await net.trainStep(x, y);
    const queued = net.trainStep(x, y);
    net.dispose();
    expect(Number.isFinite(await pending)).toBe(true);
    await expect(second.loss).rejects.toBeInstanceOf(DisposedError);
    await expect(queued).rejects.toBeInstanceOf(DisposedError);
    await expect(net.getParams()).rejects.toBeInstanceOf(DisposedError);
    const step = await bystander.trainStep(x, y);
    expect(Number.isFinite(await step.loss)).toBe(true);
    bystander.dispose();
    // Once the read has settled, everything of the disposed net is freed too.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(backend.memory()).toEqual({ buffers: 0, bytes: 0 });
    backend.dispose();
  });
});

describe('two fits of one net at once', () => {
  it('run one after the other: both histories are those of the fits in sequence', async () => {
    const backend = await createBackend('cpu');
    const fitOptions = { epochs: 2 };
    const sequential = await backend.compile(spec, options);
    const one = await fit(sequential, dataA, fitOptions);
    const two = await fit(sequential, dataB, fitOptions);
    const net = await backend.compile(spec, options);
    const both = await Promise.all([fit(net, dataA, fitOptions), fit(net, dataB, fitOptions)]);
    const losses = (history: FitHistory) => history.epochs.map((epoch) => epoch.trainLoss);
    expect(both.map(losses)).toEqual([losses(one), losses(two)]);
    expect(both[1].epochs.every((epoch) => Number.isFinite(epoch.trainLoss))).toBe(true);
    expect(await net.getParams()).toEqual(await sequential.getParams());
    backend.dispose();
  });
});

/** An array whose element `index` is `first` on the first read and NaN on every later one. */
function turncoat(values: Float32Array, index: number, first: number): number[] {
  let reads = 0;
  return new Proxy(Array.from(values), {
    get(target, key, receiver) {
      if (key === String(index)) return reads++ === 0 ? first : Number.NaN;
      return Reflect.get(target, key, receiver);
    },
  });
}

describe.each(['cpu', 'wasm'] as const)('arguments on %s are read once, when the call is made', (kind) => {
  it('trainStep and predict use what was checked: a getter cannot slip NaN past the check', async () => {
    const backend = await createBackend(kind, kind === 'wasm' ? { threads: 2 } : {});
    const plain = await backend.compile(spec, options);
    const tricked = await backend.compile(spec, options);
    const expected = await (await plain.trainStep(x, y)).loss;
    const loss = await (await tricked.trainStep(turncoat(x, 3, x[3] as number), y)).loss;
    expect(loss).toBe(expected);
    expect(await tricked.getParams()).toEqual(await plain.getParams());
    expect(await tricked.predict(turncoat(x, 0, x[0] as number))).toEqual(await plain.predict(x));
    backend.dispose();
  });

  it('changing x after a queued trainStep or predict does not change what it computes', async () => {
    const backend = await createBackend(kind, kind === 'wasm' ? { threads: 2 } : {});
    const plain = await backend.compile(spec, options);
    const expected = [await (await plain.trainStep(x, y)).loss, await (await plain.trainStep(x, y)).loss];
    const predicted = await plain.predict(x);
    const net = await backend.compile(spec, options);
    const reused = x.slice();
    const first = net.trainStep(reused, y);
    const second = net.trainStep(reused, y); // queued behind the first
    const prediction = net.predict(reused);
    reused.fill(Number.NaN);
    const losses = [await (await first).loss, await (await second).loss];
    expect(losses).toEqual(expected);
    expect(await prediction).toEqual(predicted);
    backend.dispose();
  });
});
