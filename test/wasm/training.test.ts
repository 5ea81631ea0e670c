/**
 * Whole training steps on the Wasm backend: against the CPU reference within the ops' tolerances, in
 * validate mode (every node checked against the reference), bit-identical for 1, 2 and 3 threads, and
 * with memory that stays flat over many steps and comes back on dispose.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Backend, createBackend } from '../../src/backend.js';
import { dataset } from '../../src/data/dataset.js';
import type { Device } from '../../src/device/device.js';
import { KernelCompileError } from '../../src/errors.js';
import { compileGraph } from '../../src/graph/executor.js';
import { adam, mlp, sgd } from '../../src/index.js';
import type { Net } from '../../src/net/net.js';
import { buildTrainGraph } from '../../src/nn/graphs.js';
import type { ParamMap } from '../../src/nn/init.js';
import { fit } from '../../src/train/fit.js';
import { openWasm } from '../../src/wasm/open.js';
import { compareClose, randomArray, randomLabels } from '../helpers.js';

const spec = mlp({
  sizes: [33, 65, 17, 7],
  activation: 'relu',
  keepProb: { input: 0.8, hidden: 0.5 },
  seed: 11,
});
const B = 13;
const batches = Array.from({ length: 4 }, (_, s) => ({
  x: Float32Array.from(randomArray(B * 33, 10 + s)),
  y: randomLabels(B, 20 + s, 7),
}));
const backends: Backend[] = [];

async function backend(kind: 'cpu' | 'wasm', threads?: number): Promise<Backend> {
  const made = await createBackend(kind, threads === undefined ? {} : { threads });
  backends.push(made);
  return made;
}

afterAll(() => {
  for (const made of backends) made.dispose();
});

async function train(net: Net, steps = batches.length): Promise<number[]> {
  const losses: Promise<number>[] = [];
  for (let s = 0; s < steps; s++) {
    const batch = batches[s % batches.length] as (typeof batches)[number];
    losses.push((await net.trainStep(batch.x, batch.y)).loss);
  }
  return Promise.all(losses);
}

function bits(params: ParamMap): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(params).map(([name, { data }]) => [name, [...new Uint32Array(data.buffer)]]),
  );
}

describe('training on Wasm', () => {
  const optimizers = [
    ['sgd + nesterov + weight decay', sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
    ['adam', adam({ lr: 0.01 })],
  ] as const;

  it.each(optimizers)('matches the CPU reference after 4 steps (%s, max-norm)', async (_name, optimizer) => {
    const options = { batchSize: B, optimizer, maxNorm: 1.5 };
    const cpu = await (await backend('cpu')).compile(spec, options);
    const wasm = await (await backend('wasm', 2)).compile(spec, options);
    const [cpuLosses, wasmLosses] = [await train(cpu), await train(wasm)];
    const lossMessage = compareClose('loss', [4], wasmLosses, cpuLosses, { atol: 1e-5, rtol: 1e-4 });
    expect(lossMessage).toBeNull();
    const [want, got] = [await cpu.getParams(), await wasm.getParams()];
    for (const [name, { shape, data }] of Object.entries(want)) {
      const message = compareClose(name, shape, got[name]?.data ?? [], data, { atol: 1e-5, rtol: 1e-4 });
      expect(message).toBeNull();
    }
    const x = batches[0]?.x as Float32Array;
    const probs = compareClose('predict', [B, 7], await wasm.predict(x), await cpu.predict(x), {
      atol: 1e-6,
      rtol: 1e-5,
    });
    expect(probs).toBeNull();
  });

  it('keeps each bias sgd a node of its own: the Wasm matmul kernel has no bias update', async () => {
    const device = await openWasm({ threads: 1 });
    const { graph } = buildTrainGraph(spec, B, sgd({ lr: 0.1, momentum: 0.9 }), 1.5, true);
    const compiled = await compileGraph(device, 'train', graph);
    expect((device as Device<unknown>).fusesBiasUpdates).toBeUndefined();
    expect(graph.nodesOf('sgd').map((n) => n.name)).toEqual([0, 1, 2].map((k) => `layers.${k}.bias:sgd`));
    expect(graph.nodesOf('matmul').filter((n) => n.attrs.biasUpdate)).toHaveLength(0);
    compiled.dispose();
    device.destroy();
  });

  it('refuses a fused bias update at compile (a device that wrongly opted in), rather than run it wrong', async () => {
    const device = await openWasm({ threads: 1 });
    Object.defineProperty(device, 'fusesBiasUpdates', { value: true });
    const { graph } = buildTrainGraph(spec, B, sgd({ lr: 0.1, momentum: 0.9 }), 1.5, true);
    const error = await compileGraph(device, 'train', graph).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelCompileError);
    expect((error as Error).message).toMatch(/no fused bias update/);
    device.destroy();
  });

  it('keeps each adam a node of its own: the Wasm matmul kernel has no Adam step', async () => {
    const device = await openWasm({ threads: 1 });
    const { graph } = buildTrainGraph(spec, B, adam({ lr: 0.01 }), 1.5, true);
    const compiled = await compileGraph(device, 'train', graph);
    expect((device as Device<unknown>).fusesAdamUpdates).toBeUndefined();
    expect(graph.nodesOf('adam')).toHaveLength(6);
    expect(graph.nodesOf('matmul').filter((n) => n.attrs.adamUpdate)).toHaveLength(0);
    compiled.dispose();
    device.destroy();
  });

  it('refuses a fused Adam update at compile (a device that wrongly opted in), rather than run it wrong', async () => {
    const device = await openWasm({ threads: 1 });
    Object.defineProperty(device, 'fusesAdamUpdates', { value: true });
    const { graph } = buildTrainGraph(spec, B, adam({ lr: 0.01 }), 1.5, true);
    const error = await compileGraph(device, 'train', graph).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelCompileError);
    expect((error as Error).message).toMatch(/no fused Adam update/);
    device.destroy();
  });

  it('passes validate mode: every node of every step against the CPU reference', async () => {
    const net = await (await backend('wasm', 2)).compile(spec, {
      batchSize: B,
      optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
      maxNorm: 1,
      validate: true,
    });
    await train(net, 3);
    expect(net.step).toBe(3);
  });

  it('gives the same bits with 1, 2 and 3 threads (trainStep, trainRows, MC-dropout)', async () => {
    const data = dataset(Float32Array.from(randomArray(60 * 33, 5)), randomLabels(60, 6, 7), 33, 7);
    const rows = Array.from({ length: 3 * B }, (_, i) => (i * 7) % 60);
    const results = [];
    for (const threads of [1, 2, 3]) {
      const made = await backend('wasm', threads);
      expect(made.description).toContain(`${threads} thread`);
      const net = await made.compile(spec, { batchSize: B, optimizer: sgd({ lr: 0.05, momentum: 0.9 }) });
      const losses = await train(net);
      await net.trainRows(data, rows);
      const mc = await net.predict(batches[1]?.x as Float32Array, { mcSamples: 3 });
      results.push({ losses, params: bits(await net.getParams()), mc: [...mc.mean] });
      net.dispose();
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('trains through fit, keeps memory flat over many steps, and returns it on dispose', async () => {
    const made = await backend('wasm', 2);
    const before = made.memory();
    const net = await made.compile(spec, { batchSize: B, optimizer: sgd({ lr: 0.05, momentum: 0.9 }) });
    const data = dataset(Float32Array.from(randomArray(B * 20 * 33, 8)), randomLabels(B * 20, 9, 7), 33, 7);
    await fit(net, data, { epochs: 1 });
    const compiled = made.memory();
    const history = await fit(net, data, { epochs: 10 });
    expect(history.epochs).toHaveLength(10);
    expect(made.memory()).toEqual(compiled);
    net.dispose();
    expect(made.memory()).toEqual(before);
  });
});
