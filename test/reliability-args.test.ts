/**
 * Issue 15 (Reliability II), the argument side: hyperparameters and options are checked, never
 * coerced, before anything runs (a refused call leaves the net as it was); a compile that fails is a
 * typed error and leaves nothing on the device; a failed or disposed backend refuses every call with a
 * typed error, and no failure ever escapes as an unhandled rejection. CPU and Wasm.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBackend, wrapDevice } from '../src/backend.js';
import { dataset } from '../src/data/dataset.js';
import { CpuDevice } from '../src/device/cpu.js';
import type { BoundOp, Device, ProgramStep } from '../src/device/device.js';
import {
  ArgumentError,
  adam,
  DeviceLostError,
  DisposedError,
  DropgpuError,
  fit,
  KernelCompileError,
  mlp,
  type Optimizer,
  sgd,
  WasmWorkerError,
} from '../src/index.js';
import { plainStep } from '../src/ir/ir.js';
import type { Net } from '../src/net/net.js';
import type { WasmBuffer } from '../src/wasm/device.js';
import { openWasm } from '../src/wasm/open.js';
import { randomArray, randomLabels } from './helpers.js';

const spec = mlp({ sizes: [8, 16, 4], keepProb: { input: 0.8, hidden: 0.5 }, seed: 3 });
const momentumSgd = sgd({ lr: 0.1, momentum: 0.5 });
const x = Float32Array.from(randomArray(4 * 8, 1));
const y = randomLabels(4, 2, 4);
const data = dataset(Float32Array.from(randomArray(16 * 8, 3)), randomLabels(16, 4, 4), 8, 4);
const rows = [0, 1, 2, 3, 4, 5, 6, 7];

/** What `fn` threw or rejected with. */
async function failure(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** `fn` fails with an ArgumentError naming `argument`. */
async function refuses(fn: () => unknown, argument: string): Promise<void> {
  const error = await failure(fn);
  expect(error, String(error)).toBeInstanceOf(ArgumentError);
  expect((error as ArgumentError).argument).toBe(argument);
}

/** The net's whole state: a refused call must leave it exactly so. */
async function snapshot(net: Net) {
  return { checkpoint: await net.checkpoint(), step: net.step };
}

/** Collects unhandled rejections while a test runs. */
const unhandled: unknown[] = [];
const record = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', record);
});
afterEach(() => {
  process.off('unhandledRejection', record);
});
/** Lets pending rejections surface as unhandled (Node reports them after the microtask queue drains). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('hyperparameters are checked, not coerced, before anything runs', () => {
  const wrong: [string, unknown][] = [
    ['"0.5"', '0.5'],
    ['[0.5]', [0.5]],
    ['""', ''],
    ['0n', 0n],
    ['null', null],
    ['true', true],
    ['NaN', Number.NaN],
  ];

  it.each(wrong)('trainStep and trainRows refuse lr and momentum %s, changing nothing', async (_, value) => {
    const backend = await createBackend('cpu');
    const net = await backend.compile(spec, { batchSize: 4, optimizer: momentumSgd });
    const before = await snapshot(net);
    for (const field of ['lr', 'momentum']) {
      await refuses(() => net.trainStep(x, y, { [field]: value }), field);
      await refuses(() => net.trainRows(data, rows, { [field]: value }), field);
      await refuses(() => net.trainRows(data, rows, [{}, { [field]: value }]), `hyperparameters[1].${field}`);
    }
    expect(await snapshot(net)).toEqual(before);
    expect((await net.takeMetrics()).steps).toBe(0);
  });

  it('refuses hyperparameters that are not an object, and momentum where the optimizer has none', async () => {
    const backend = await createBackend('cpu');
    const net = await backend.compile(spec, { batchSize: 4, optimizer: momentumSgd });
    for (const bad of [null, 'fast', 0.5, [{ lr: 0.1 }]]) {
      await refuses(() => net.trainStep(x, y, bad as never), 'hyperparameters');
    }
    await refuses(() => net.trainRows(data, rows, [{}, null] as never), 'hyperparameters[1]');
    for (const optimizer of [sgd({ lr: 0.1 }), adam({ lr: 0.01 })]) {
      const plain = await backend.compile(spec, { batchSize: 4, optimizer });
      await refuses(() => plain.trainStep(x, y, { momentum: 0.9 }), 'momentum');
      expect(plain.step).toBe(0);
      // 0 (what fit passes without a ramp) is no change, and allowed.
      await plain.trainStep(x, y, { momentum: 0 });
      expect(plain.step).toBe(1);
    }
    expect((await net.takeMetrics()).steps).toBe(0);
  });

  it('fit refuses a coercible momentumRamp or lrSchedule before its first step, naming the field', async () => {
    const backend = await createBackend('cpu');
    const net = await backend.compile(spec, { batchSize: 4, optimizer: momentumSgd });
    const before = await snapshot(net);
    const cases: [object, string][] = [
      [{ momentumRamp: { from: '0.5', to: 0.9, epochs: 1 } }, 'momentumRamp.from'],
      [{ momentumRamp: { from: 0.5, to: [0.9], epochs: 1 } }, 'momentumRamp.to'],
      [{ momentumRamp: { from: 0n, to: 0.9, epochs: 1 } }, 'momentumRamp.from'],
      [{ momentumRamp: { from: 0.5, to: 0.9, epochs: Number.POSITIVE_INFINITY } }, 'momentumRamp.epochs'],
      [{ momentumRamp: { from: 0.5, to: 0.9, epochs: '2' } }, 'momentumRamp.epochs'],
      [{ momentumRamp: null }, 'momentumRamp'],
      [{ lrSchedule: { kind: 'cosine', min: Number.POSITIVE_INFINITY } }, 'lrSchedule.min'],
      [{ lrSchedule: { kind: 'cosine', min: '0' } }, 'lrSchedule.min'],
      [{ lrSchedule: { kind: 'step', every: '2', factor: 0.5 } }, 'lrSchedule.every'],
      [{ lrSchedule: { kind: 'step', every: 2, factor: '0.5' } }, 'lrSchedule.factor'],
      [{ lrSchedule: { kind: 'exponential', gamma: [0.9] } }, 'lrSchedule.gamma'],
      [{ lrSchedule: null }, 'lrSchedule'],
      [{ lrSchedule: 'cosine' }, 'lrSchedule'],
    ];
    for (const [options, argument] of cases) {
      await refuses(() => fit(net, data, { epochs: 1, ...options } as never), argument);
    }
    expect(await snapshot(net)).toEqual(before);
    expect((await net.takeMetrics()).steps).toBe(0);
  });

  it('sgd() and adam() refuse missing, null and wrongly typed options', () => {
    const calls: [() => unknown, string][] = [
      [() => (sgd as (o?: unknown) => unknown)(), 'options'],
      [() => sgd(null as never), 'options'],
      [() => adam(null as never), 'options'],
      [() => (adam as (o?: unknown) => unknown)(), 'options'],
      [() => sgd('0.1' as never), 'options'],
      [() => sgd({ lr: '0.1' as never }), 'lr'],
      [() => sgd({ lr: 0.1, momentum: null as never }), 'momentum'],
      [() => sgd({ lr: 0.1, momentum: '0.5' as never }), 'momentum'],
      [() => sgd({ lr: 0.1, momentum: 0.5, nesterov: 'yes' as never }), 'nesterov'],
      [() => sgd({ lr: 0.1, weightDecay: 0n as never }), 'weightDecay'],
      [() => adam({ lr: 0.1, beta1: null as never }), 'beta1'],
      [() => adam({ lr: 0.1, epsilon: '1e-8' as never }), 'epsilon'],
    ];
    for (const [call, argument] of calls) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error, argument).toBeInstanceOf(ArgumentError);
      expect((error as ArgumentError).argument).toBe(argument);
    }
  });

  it('compile checks the optimizer object field by field, and its other options', async () => {
    const backend = await createBackend('cpu');
    const before = backend.memory();
    const changed = sgd({ lr: 0.1, momentum: 0.5 }) as { momentum: number };
    changed.momentum = 1.5;
    const cases: [unknown, string][] = [
      [{ kind: 'adam', lr: 0.1, beta1: 5, epsilon: -1 }, 'optimizer.beta1'],
      [{ kind: 'adam', beta1: 0.9 }, 'optimizer.lr'],
      [{ kind: 'adam', lr: 0.1, epsilon: -1 }, 'optimizer.epsilon'],
      [{ kind: 'sgd', lr: 0.1, momentum: '0.5' }, 'optimizer.momentum'],
      [{ kind: 'sgd', lr: 0.1, nesterov: true }, 'optimizer.nesterov'],
      [changed, 'optimizer.momentum'],
      [{ kind: 'rmsprop', lr: 0.1 }, 'optimizer'],
      [null, 'optimizer'],
      ['sgd', 'optimizer'],
    ];
    for (const [optimizer, argument] of cases) {
      await refuses(() => backend.compile(spec, { batchSize: 4, optimizer: optimizer as never }), argument);
    }
    await refuses(() => backend.compile(spec, { batchSize: 4, validate: 'yes' as never }), 'validate');
    await refuses(() => backend.compile(spec, { batchSize: 4, maxNorm: null as never }), 'maxNorm');
    await refuses(() => backend.compile(spec, null as never), 'options');
    expect(backend.memory()).toEqual(before);
    // What compile kept is a checked copy: changing the object afterwards changes nothing.
    const optimizer = sgd({ lr: 0.1, momentum: 0.5 }) as { lr: number };
    const net = await backend.compile(spec, { batchSize: 4, optimizer: optimizer as Optimizer });
    optimizer.lr = -1;
    expect(net.info.optimizer.lr).toBe(0.1);
    await net.trainStep(x, y);
  });
});

describe('createBackend and the net check every option object', () => {
  it('refuses wrongly typed backend options, naming options.<field>', async () => {
    const cases: [Parameters<typeof createBackend>[0], object, string][] = [
      ['cpu', { precision: 'f16' }, 'options.precision'],
      ['cpu', { precision: null }, 'options.precision'],
      ['webgpu', { gpu: {} }, 'options.gpu'],
      ['webgpu', { gpu: null }, 'options.gpu'],
      ['webgpu', { device: {} }, 'options.device'],
      ['webgpu', { powerPreference: 'fast' }, 'options.powerPreference'],
      ['webgpu', { autotune: 'no' }, 'options.autotune'],
      ['webgpu', { kernelChoice: 'tiled' }, 'options.kernelChoice'],
      ['wasm', { threads: '2' }, 'options.threads'],
      ['wasm', { threads: 0 }, 'options.threads'],
      ['wasm', { relaxedSimd: 1 }, 'options.relaxedSimd'],
      [undefined, { gpu: 'navigator.gpu' }, 'options.gpu'],
      ['cpu', [], 'options'],
      ['cpu', null as never, 'options'],
    ];
    for (const [kind, options, argument] of cases) {
      await refuses(() => createBackend(kind, options as never), argument);
    }
  });

  it('setParams, restore and trainRows refuse null and wrong types, changing nothing', async () => {
    const backend = await createBackend('cpu');
    const net = await backend.compile(spec, { batchSize: 4, optimizer: momentumSgd });
    const params = await net.getParams();
    await net.trainStep(x, y);
    const before = await snapshot(net);
    await refuses(() => net.setParams(params, null as never), 'options');
    await refuses(() => net.setParams(params, 'step' as never), 'options');
    await refuses(() => net.setParams(params, { step: '3' as never }), 'step');
    await refuses(() => net.setParams(null as never), 'params');
    await refuses(() => net.restore(null as never), 'checkpoint');
    await refuses(() => net.trainRows(data, rows, null as never), 'hyperparameters');
    expect(await snapshot(net)).toEqual(before);
  });
});

/** A CPU or Wasm device whose n-th createBuffer (or createProgram) fails as an engine would. */
async function failingDevice(kind: 'cpu' | 'wasm') {
  const device: Device<unknown> =
    kind === 'cpu' ? new CpuDevice('f32') : ((await openWasm({ threads: 1 })) as Device<unknown>);
  const createBuffer = device.createBuffer.bind(device);
  const createProgram = device.createProgram.bind(device);
  const fail = { buffer: Number.POSITIVE_INFINITY, program: Number.POSITIVE_INFINITY };
  device.createBuffer = (...args) => {
    if (fail.buffer-- <= 0) throw new RangeError('Array buffer allocation failed');
    return createBuffer(...args);
  };
  device.createProgram = async (...args) => {
    if (fail.program-- <= 0) throw new KernelCompileError('matmul', ['injected failure']);
    return createProgram(...args);
  };
  return { backend: wrapDevice(device), fail };
}

describe.each(['cpu', 'wasm'] as const)('a failed compile on %s', (kind) => {
  it('is a typed error and frees everything it allocated, wherever it fails', async () => {
    const { backend, fail } = await failingDevice(kind);
    const before = backend.memory();
    await refuses(() => backend.compile(spec, { batchSize: 2 ** 31 }), 'batchSize');
    // A hole in sizes (Array.from makes it undefined): named, not a NaN-sized buffer.
    const holey = Object.assign(new Array<number>(3), { 0: 8, 2: 4 });
    await refuses(() => backend.compile({ ...spec, sizes: holey }, { batchSize: 4 }), 'sizes[1]');
    await refuses(
      () => backend.compile(spec, { batchSize: 4, optimizer: { kind: 'adam', lr: 0.1, beta1: 5 } as never }),
      'optimizer.beta1',
    );
    expect(backend.memory()).toEqual(before);
    // Every allocation of a compile (a train program, a predict program: tens of buffers) fails in turn.
    let compiled = false;
    for (let n = 0; !compiled; n++) {
      fail.buffer = n;
      try {
        (await backend.compile(spec, { batchSize: 4 })).dispose();
        compiled = true;
      } catch (error) {
        expect(error).toBeInstanceOf(ArgumentError);
        expect((error as ArgumentError).argument).toBe('batchSize');
        expect((error as Error).message).toMatch(/could not be allocated/);
      }
      expect(backend.memory(), `allocation ${n} failing`).toEqual(before);
    }
    fail.buffer = Number.POSITIVE_INFINITY;
    for (const n of [0, 1]) {
      fail.program = n;
      await expect(backend.compile(spec, { batchSize: 4 })).rejects.toBeInstanceOf(KernelCompileError);
      expect(backend.memory(), `program ${n} failing`).toEqual(before);
    }
    fail.program = Number.POSITIVE_INFINITY;
    const net = await backend.compile(spec, { batchSize: 4 });
    expect(Number.isFinite(await (await net.trainStep(x, y)).loss)).toBe(true);
    net.dispose();
    expect(backend.memory()).toEqual(before);
    backend.dispose();
  });
});

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
    attempt(() => net.trainRows(data, rows)),
    attempt(() => net.predict(x)),
    attempt(() => net.predict(x, { mcSamples: 2 })),
    attempt(() => net.takeMetrics()),
    attempt(() => net.getParams()),
    attempt(() => net.checkpoint()),
    attempt(() => fit(net, data, { epochs: 1 })),
  ];
}

describe.each(['cpu', 'wasm'] as const)('a disposed %s backend', (kind) => {
  it('fails a compile under way with DisposedError, leaving nothing allocated', async () => {
    const backend = await createBackend(kind, kind === 'wasm' ? { threads: 1 } : {});
    const compiling = backend.compile(spec, { batchSize: 4 });
    backend.dispose();
    await expect(compiling).rejects.toBeInstanceOf(DisposedError);
    expect(backend.memory()).toEqual({ buffers: 0, bytes: 0 });
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('refuses every call of its nets with DisposedError, with no unhandled rejection', async () => {
    const backend = await createBackend(kind, kind === 'wasm' ? { threads: 1 } : {});
    const net = await backend.compile(spec, { batchSize: 4, optimizer: momentumSgd });
    const params = await net.getParams();
    const pending = await net.trainStep(x, y);
    backend.dispose();
    for (const outcome of await Promise.allSettled(everyCall(net))) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(DisposedError);
    }
    expect(() => net.setParams(params)).toThrow(DisposedError);
    const loss = await pending.loss.catch((error: unknown) => error);
    // The step ran before the dispose: its loss is either there or refused, never 0.
    if (typeof loss === 'number') expect(loss).toBeGreaterThan(0);
    else expect(loss).toBeInstanceOf(DisposedError);
    net.dispose();
    await expect(backend.compile(spec, { batchSize: 4 })).rejects.toBeInstanceOf(DisposedError);
    await settle();
    expect(unhandled).toEqual([]);
  });
});

/** A Wasm program whose kernel traps (test/wasm/device.test.ts): it fails the device it runs on. */
async function trap(device: Awaited<ReturnType<typeof openWasm>>) {
  const out = device.createBuffer('out', 'f32', 4);
  const wild = { offset: 2 ** 31, length: 4, label: 'wild' };
  const op: BoundOp = {
    name: 'add',
    reference: () => {},
    tolerance: { atol: 0, rtol: 0 },
    gpu: undefined as unknown as BoundOp['gpu'],
    gpuTuning: undefined,
    wasm: {
      phases: ['add'],
      bindings: [0, 1, 2].map((i) => ['in', i] as const),
      params: [1024],
      scratch: () => 0,
    },
  };
  const step: ProgramStep<WasmBuffer> = {
    node: { op: 'add', name: 'trap', inputs: [], outputs: [], attrs: {} },
    op,
    inputs: [wild, wild, out],
    outputs: [],
  };
  const program = await device.createProgram('trap', [step], [out]);
  await program
    .run(plainStep())
    .read(0)
    .catch(() => {});
}

describe('a Wasm device that failed', () => {
  it('fails every call with WasmWorkerError, takeMetrics included, with no unhandled rejection', async () => {
    const device = await openWasm({ threads: 1 });
    const backend = wrapDevice(device);
    const net = await backend.compile(spec, { batchSize: 4, optimizer: momentumSgd });
    const bystander = await backend.compile(spec, { batchSize: 4 });
    await net.trainStep(x, y);
    await trap(device);
    for (const target of [net, bystander]) {
      for (const outcome of await Promise.allSettled(everyCall(target))) {
        expect(outcome.status).toBe('rejected');
        const reason = (outcome as PromiseRejectedResult).reason;
        expect(reason, String(reason)).toBeInstanceOf(WasmWorkerError);
      }
    }
    await expect(net.takeMetrics()).rejects.toBeInstanceOf(DropgpuError);
    net.dispose();
    bystander.dispose();
    backend.dispose();
    await settle();
    expect(unhandled).toEqual([]);
  });
});

/** A CPU device that is lost as a WebGPU one is: writes throw, reads reject, from `lost` on. */
class LosableDevice extends CpuDevice {
  lost = false;
  override write(...args: Parameters<CpuDevice['write']>): void {
    if (this.lost) throw new DeviceLostError('WebGPU device lost (simulated)');
    super.write(...args);
  }
  override read(...args: Parameters<CpuDevice['read']>): ReturnType<CpuDevice['read']> {
    if (this.lost) return Promise.reject(new DeviceLostError('WebGPU device lost (simulated)'));
    return super.read(...args);
  }
}

describe('a device lost under a net', () => {
  it('fails takeMetrics with a catchable DeviceLostError and nothing unhandled', async () => {
    const device = new LosableDevice('f32');
    const backend = wrapDevice(device);
    const net = await backend.compile(spec, { batchSize: 4, optimizer: momentumSgd });
    await net.trainStep(x, y);
    device.lost = true;
    await expect(net.takeMetrics()).rejects.toBeInstanceOf(DeviceLostError);
    await expect(net.getParams()).rejects.toBeInstanceOf(DeviceLostError);
    await expect(net.trainStep(x, y)).rejects.toBeInstanceOf(DeviceLostError);
    await settle();
    expect(unhandled).toEqual([]);
  });
});

describe('docs/errors.md', () => {
  it('lists every error class src/index.ts exports, with when it is thrown', () => {
    const index = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');
    const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const exported = [...index.matchAll(/^\s+(\w+Error),?$/gm)].map((match) => match[1]);
    expect(exported).toContain('ArgumentError');
    expect(exported).toContain('DropgpuError');
    for (const name of exported)
      expect(docs, name).toMatch(new RegExp(`^\\| \`${name}\` \\| [^|]+ \\| [^|]+ \\|`, 'm'));
    expect(docs).toMatch(/^## Concurrency$/m);
  });
});
