/**
 * Issue 15 (Reliability II), a hostile caller's sweep over the public API, CPU and Wasm: several hundred
 * generated calls with null / undefined / wrong types / NaN / ±Infinity / 1e39 / -0 / huge / negative /
 * fractional / bigint / Symbol / Proxy / frozen / sparse arguments, misspelled options, calls after
 * dispose, dispose while reads are pending, checkpoints and files of other nets, mutated files, and
 * seeded random mixes of concurrent calls compared with the same calls in sequence. Every case must
 * either succeed with the documented result or throw the documented DropgpuError subclass, leave the
 * net's state as it was when refused, leave the backend working, and raise no unhandled rejection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArgumentError,
  adam,
  type Backend,
  createBackend,
  DisposedError,
  DropgpuError,
  dataset,
  evaluate,
  fit,
  loadSafetensors,
  ModelFileError,
  mlp,
  mnistFromIdx,
  type Net,
  type NetCheckpoint,
  PauseController,
  saveSafetensors,
  sgd,
} from '../src/index.js';
import { philox4x32 } from '../src/rng/philox.js';
import { randomArray, randomLabels } from './helpers.js';

type Ctor = abstract new (...args: never[]) => Error;
type Expect = 'ok' | Ctor | { either: Ctor };

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  await new Promise((resolve) => setTimeout(resolve, 20));
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled.map(String)).toEqual([]);
});

// ---------------------------------------------------------------------------------------------------
// Fixtures: a tiny net (6-8-3, batch 4) and its data.

const spec = mlp({ sizes: [6, 8, 3], keepProb: { input: 0.9, hidden: 0.7 }, seed: 11 });
const otherSpec = mlp({ sizes: [6, 5, 3], seed: 2 });
const B = 4;
const momentumSgd = sgd({ lr: 0.05, momentum: 0.5 });
const compileOptions = { batchSize: B, optimizer: momentumSgd };
const x = Float32Array.from(randomArray(B * 6, 1));
const y = Array.from(randomLabels(B, 2, 3));
const data = dataset(Float32Array.from(randomArray(16 * 6, 3)), randomLabels(16, 4, 3), 6, 3);
const data2 = dataset(Float32Array.from(randomArray(16 * 6, 5)), randomLabels(16, 6, 3), 6, 3);
const rows = [0, 3, 5, 7, 9, 11, 13, 15];

/** Labelled sample values of every kind a careless or hostile caller passes. */
function junk(): [string, unknown][] {
  let reads = 0;
  const changing = new Proxy(
    {},
    {
      get: (_t, key) => (key === Symbol.toPrimitive ? undefined : reads++ % 2 === 0 ? 0.5 : Number.NaN),
    },
  );
  const sparse: number[] = [];
  sparse[2] = 1;
  return [
    ['null', null],
    ['undefined', undefined],
    ['"abc"', 'abc'],
    ['"0.5"', '0.5'],
    ['""', ''],
    ['true', true],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['1e39', 1e39],
    ['-1e39', -1e39],
    ['-0', -0],
    ['0', 0],
    ['-1', -1],
    ['0.5', 0.5],
    ['1.5', 1.5],
    ['3', 3],
    ['2**31', 2 ** 31],
    ['2**32', 2 ** 32],
    ['2**53', 2 ** 53],
    ['1e300', 1e300],
    ['5e-324', 5e-324],
    ['10n', 10n],
    ['Symbol()', Symbol('s')],
    ['[0.5]', [0.5]],
    ['[]', []],
    ['{}', {}],
    ['() => 1', () => 1],
    ['frozen {}', Object.freeze({})],
    ['sparse [, , 1]', sparse],
    ['Proxy (changing getter)', changing],
  ];
}

/** A sparse array of `length` with only `entries` set. */
function holes(length: number, entries: [number, unknown][]): unknown[] {
  const out: unknown[] = new Array(length);
  for (const [i, v] of entries) out[i] = v;
  return out;
}

function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return 'Symbol()';
  if (typeof value === 'function') return 'a function';
  if (value instanceof Float32Array || value instanceof Float64Array)
    return `${value.constructor.name}(${value.length})`;
  try {
    const text = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
    return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 80)}…` : text;
  } catch {
    return typeof value;
  }
}

// ---------------------------------------------------------------------------------------------------
// Checking one case.

async function outcome(
  fn: () => unknown,
): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

function judge(label: string, result: Awaited<ReturnType<typeof outcome>>, want: Expect): string | null {
  if (!result.ok) {
    const { error } = result;
    const ctor = want === 'ok' ? undefined : typeof want === 'object' ? want.either : want;
    if (!(error instanceof DropgpuError)) return `${label}: untyped ${String(error)}`;
    if (want === 'ok') return `${label}: expected success, got ${error.name}: ${error.message}`;
    if (ctor && !(error instanceof ctor)) return `${label}: expected ${ctor.name}, got ${String(error)}`;
    return null;
  }
  if (want !== 'ok' && typeof want !== 'object') return `${label}: expected ${want.name}, but it succeeded`;
  return null;
}

async function stateOf(net: Net): Promise<{ step: number; checkpoint: NetCheckpoint }> {
  return { step: net.step, checkpoint: await net.checkpoint() };
}

function allFinite(checkpoint: NetCheckpoint): boolean {
  return [...Object.values(checkpoint.params), ...Object.values(checkpoint.optimizerState)].every((t) =>
    t.data.every(Number.isFinite),
  );
}

/** A fresh net of `backend` compiles, trains and predicts. */
async function healthy(backend: Backend): Promise<string | null> {
  try {
    const net = await backend.compile(spec, compileOptions);
    const step = await net.trainStep(x, y);
    const loss = await step.loss;
    const probs = await net.predict(x);
    net.dispose();
    if (!Number.isFinite(loss) || !probs.every(Number.isFinite)) return `backend broken: loss ${loss}`;
    return null;
  } catch (error) {
    return `backend broken: ${String(error)}`;
  }
}

interface Case {
  label: string;
  run: (net: Net) => unknown;
  want: Expect;
  /** Compiles or opens something: check the backend after it. */
  touches?: boolean;
}

/**
 * Runs each case on `net`: checks its outcome, that a refused call changed nothing, that a call that
 * succeeded left finite state, and that the backend still works; the net is put back after each.
 */
async function sweep(backend: Backend, net: Net, cases: Case[]): Promise<string[]> {
  const failures: string[] = [];
  const base = await stateOf(net);
  let count = 0;
  for (const { label, run, want, touches } of cases) {
    const result = await outcome(() => run(net));
    const bad = judge(label, result, want);
    if (bad) failures.push(bad);
    const after = await outcome(() => stateOf(net));
    if (!after.ok) failures.push(`${label}: state unreadable afterwards: ${String(after.error)}`);
    else if (!result.ok) {
      try {
        expect(after.value).toEqual(base);
      } catch {
        failures.push(`${label}: refused, but the net's state changed`);
      }
    } else if (!allFinite((after.value as { checkpoint: NetCheckpoint }).checkpoint))
      failures.push(`${label}: succeeded, but left non-finite state`);
    if (touches || ++count % 20 === 0) {
      const health = await healthy(backend);
      if (health) failures.push(`${label}: ${health}`);
    }
    await outcome(() => net.restore(base.checkpoint));
  }
  return failures;
}

// Validity of the numbers the API takes.
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const f32 = (v: unknown) => isNum(v) && Number.isFinite(Math.fround(v));
const safeInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER) =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

function numberCases(
  label: (shown: string) => string,
  run: (value: unknown) => (net: Net) => unknown,
  valid: (value: unknown) => boolean | 'either',
  fail: Ctor = ArgumentError,
): Case[] {
  return junk().map(([shown, value]) => {
    const v = valid(value);
    return {
      label: label(shown),
      run: run(value),
      want: v === 'either' ? { either: fail } : v ? 'ok' : fail,
    };
  });
}

// ---------------------------------------------------------------------------------------------------

function netCases(other: () => Net, adamNet: () => Net, plainNet: () => Net): Case[] {
  const cases: Case[] = [];
  const add = (label: string, run: (net: Net) => unknown, want: Expect) => cases.push({ label, run, want });

  // trainStep(x, y, hyperparameters)
  cases.push(
    ...numberCases(
      (s) => `trainStep(${s}, y)`,
      (v) => (n) => n.trainStep(v as never, y),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `trainStep(x, ${s})`,
      (v) => (n) => n.trainStep(x, v as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `trainStep(x, y, ${s})`,
      (v) => (n) => n.trainStep(x, y, v as never),
      (v) =>
        v === undefined ||
        (typeof v === 'object' &&
          v !== null &&
          !Array.isArray(v) &&
          !(Object.keys(v).length === 0 && typeof v !== 'object') &&
          !Array.isArray(v))
          ? 'either'
          : false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `trainStep(x, y, { lr: ${s} })`,
      (v) => (n) => n.trainStep(x, y, { lr: v as number }),
      (v) =>
        v === undefined || (f32(v) && (v as number) > 0)
          ? v === 5e-324
            ? 'either'
            : true
          : v === 5e-324
            ? 'either'
            : false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `trainStep(x, y, { momentum: ${s} })`,
      (v) => (n) => n.trainStep(x, y, { momentum: v as number }),
      (v) => v === undefined || (isNum(v) && v >= 0 && v < 1),
    ),
  );
  for (const [label, bad] of [
    ['x with NaN (Array)', Array.from(x, (v, i) => (i === 5 ? Number.NaN : v))],
    ['x with 1e39 (Array)', Array.from(x, (v, i) => (i === 5 ? 1e39 : v))],
    ['x with 1e39 (Float64Array)', Float64Array.from(x, (v, i) => (i === 5 ? 1e39 : v))],
    ['x with -Infinity (Float32Array)', Float32Array.from(x, (v, i) => (i === 5 ? -Infinity : v))],
    ['x with a bigint', Array.from(x, (v, i) => (i === 5 ? 1n : v))],
    ['x with a string', Array.from(x, (v, i) => (i === 5 ? '1' : v))],
    ['x one short', x.subarray(1)],
    ['x one long', Float32Array.from([...x, 0])],
    ['x sparse', Object.assign(new Array(x.length), { 0: 1 })],
    ['x {length: 24}', { length: 24 }],
  ] as const) {
    add(`trainStep(${label}, y)`, (n) => n.trainStep(bad as never, y), ArgumentError);
  }
  const revokedProxy = () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy as never;
  };
  add('trainStep(revoked Proxy, y)', (n) => n.trainStep(revokedProxy(), y), ArgumentError);
  add('trainStep(x, revoked Proxy)', (n) => n.trainStep(x, revokedProxy()), ArgumentError);
  add('trainStep(x, y, revoked Proxy)', (n) => n.trainStep(x, y, revokedProxy()), ArgumentError);
  add('trainRows(revoked Proxy, rows)', (n) => n.trainRows(revokedProxy(), rows), ArgumentError);
  add('trainRows(data, revoked Proxy)', (n) => n.trainRows(data, revokedProxy()), ArgumentError);
  add('predict(revoked Proxy)', (n) => n.predict(revokedProxy()), ArgumentError);
  add('predict(x, revoked Proxy)', (n) => n.predict(x, revokedProxy()), ArgumentError);
  add('setParams(revoked Proxy)', (n) => n.setParams(revokedProxy()), ArgumentError);
  add(
    'setParams(params with a revoked Proxy tensor)',
    (n) => n.setParams({ ...otherParams, 'layers.0.bias': revokedProxy() }),
    ArgumentError,
  );
  add('restore(revoked Proxy)', (n) => n.restore(revokedProxy()), ArgumentError);
  add('fit(net, revoked Proxy, { epochs: 1 })', (n) => fit(n, revokedProxy(), { epochs: 1 }), ArgumentError);
  add('fit(net, data, revoked Proxy)', (n) => fit(n, data, revokedProxy()), ArgumentError);
  add('evaluate(net, revoked Proxy)', (n) => evaluate(n, revokedProxy()), ArgumentError);
  add(
    'trainStep(frozen x, frozen y)',
    (n) => n.trainStep(Object.freeze(Array.from(x)), Object.freeze([...y])),
    'ok',
  );
  add(
    'trainStep(Float64Array x, Uint8Array y)',
    (n) => n.trainStep(Float64Array.from(x), Uint8Array.from(y)),
    'ok',
  );
  add('trainStep(x, y with 3)', (n) => n.trainStep(x, [0, 1, 2, 3]), ArgumentError);
  add('trainStep(x, y with -0)', (n) => n.trainStep(x, [-0, 1, 2, 0]), 'ok');
  add('trainStep(x, y with 1.5)', (n) => n.trainStep(x, [0, 1.5, 2, 0]), ArgumentError);
  add('trainStep(x, y with 1n)', (n) => n.trainStep(x, [0, 1n, 2, 0] as never), ArgumentError);
  add(
    'trainStep(x, y, { learningRate: 5 }) (misspelled)',
    (n) => n.trainStep(x, y, { learningRate: 5 } as never),
    'ok',
  );
  add(
    'trainStep(x, y, { lr: 1e30 }) then loss',
    async (n) => (await n.trainStep(x, y, { lr: 1e30 })).loss,
    'ok',
  );
  add(
    'trainStep(x, y, Proxy throwing)',
    (n) =>
      n.trainStep(
        x,
        y,
        new Proxy(
          {},
          {
            get: () => {
              throw new ArgumentError('p', 'q', 'r');
            },
          },
        ),
      ),
    ArgumentError,
  );

  // trainRows(data, rows, hyperparameters)
  cases.push(
    ...numberCases(
      (s) => `trainRows(${s}, rows)`,
      (v) => (n) => n.trainRows(v as never, rows),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `trainRows(data, ${s})`,
      (v) => (n) => n.trainRows(data, v as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `trainRows(data, rows with ${s})`,
      (v) => (n) => n.trainRows(data, [0, 1, 2, v, 4, 5, 6, 7] as never),
      (v) => safeInt(v, 0, 15),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `trainRows(data, rows, [{}, { lr: ${s} }])`,
      (v) => (n) => n.trainRows(data, rows, [{}, { lr: v as number }]),
      (v) =>
        v === undefined || (f32(v) && (v as number) > 0)
          ? v === 5e-324
            ? 'either'
            : true
          : v === 5e-324
            ? 'either'
            : false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `trainRows(data, rows, [${s}, {}])`,
      (v) => (n) => n.trainRows(data, rows, [v as never, {}]),
      (v) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v) ? 'either' : false),
    ),
  );
  add(
    'trainRows(data, rows, [{}]) (one entry for two steps)',
    (n) => n.trainRows(data, rows, [{}]),
    ArgumentError,
  );
  add(
    'trainRows(data, rows, sparse [, {}])',
    (n) => n.trainRows(data, rows, holes(2, [[1, {}]]) as never),
    'ok',
  );
  add('trainRows(data, [])', (n) => n.trainRows(data, []), ArgumentError);
  add('trainRows(data, rows 5 long)', (n) => n.trainRows(data, [0, 1, 2, 3, 4]), ArgumentError);
  add('trainRows(data, Float64Array rows)', (n) => n.trainRows(data, Float64Array.from(rows)), 'ok');
  add('trainRows(data, frozen rows)', (n) => n.trainRows(data, Object.freeze([...rows])), 'ok');
  add('trainRows(data, rows with 1n)', (n) => n.trainRows(data, [0, 1n, 2, 3] as never), ArgumentError);
  const forged: [string, unknown][] = [
    ['{...data, features: 5}', { ...data, features: 5 }],
    ['{...data, features: "6"}', { ...data, features: '6' }],
    ['{...data, n: 17}', { ...data, n: 17 }],
    ['{...data, n: 1e39}', { ...data, n: 1e39 }],
    ['{...data, n: -0}', { ...data, n: -0 }],
    ['{...data, classes: 4}', { ...data, classes: 4 }],
    ['{...data, classes: 0}', { ...data, classes: 0 }],
    ['{...data, classes: NaN}', { ...data, classes: Number.NaN }],
    ['{...data, classes: 2} (labels ≥ 2)', { ...data, classes: 2 }],
    ['{...data, x: Array}', { ...data, x: Array.from(data.x) }],
    ['{...data, y: Uint32Array}', { ...data, y: Uint32Array.from(data.y) }],
    ['{...data, x with NaN}', { ...data, x: data.x.map((v, i) => (i === 7 ? Number.NaN : v)) }],
    ['{...data, y with 9}', { ...data, y: data.y.map((v, i) => (i === 3 ? 9 : v)) }],
    ['{...data, bytes: {pixels: 5, table: null}}', { ...data, bytes: { pixels: 5, table: null } }],
    ['{...data, bytes: 7}', { ...data, bytes: 7 }],
    [
      '{...data, bytes: lying table}',
      { ...data, bytes: { pixels: new Uint8Array(96), table: new Float32Array(256) } },
    ],
    ['frozen data', Object.freeze({ ...data })],
  ];
  for (const [label, value] of forged) {
    // A Dataset whose classes lie (labels ≥ classes but < the model's): trainRows checks labels against the model.
    const ok = label === 'frozen data' || label.includes('bytes') || label.includes('labels ≥ 2');
    add(
      `trainRows(${label}, rows)`,
      (n) => n.trainRows(value as never, rows),
      ok ? { either: ArgumentError } : ArgumentError,
    );
    add(
      `evaluate(net, ${label})`,
      (n) => evaluate(n, value as never),
      ok ? { either: ArgumentError } : ArgumentError,
    );
  }

  // predict(x, options)
  cases.push(
    ...numberCases(
      (s) => `predict(${s})`,
      (v) => (n) => n.predict(v as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `predict(x, ${s})`,
      (v) => (n) => n.predict(x, v as never),
      (v) => v === undefined,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `predict(x, { mcSamples: ${s} })`,
      (v) => (n) => n.predict(x, { mcSamples: v as number }),
      (v) => safeInt(v, 1, 10_000),
    ),
  );
  add(
    'predict(x, { mcsamples: 3 }) (misspelled)',
    (n) => n.predict(x, { mcsamples: 3 } as never),
    ArgumentError,
  );
  add('predict(x one short)', (n) => n.predict(x.subarray(1)), ArgumentError);
  add('predict(one row, frozen)', (n) => n.predict(Object.freeze(Array.from(x.subarray(0, 6)))), 'ok');
  add('predict(9 rows)', (n) => n.predict(new Float32Array(54)), 'ok');
  add(
    'predict(x with 1e39)',
    (n) => n.predict(Float64Array.from(x, (v, i) => (i === 2 ? 1e39 : v))),
    ArgumentError,
  );

  // setParams(params, options)
  const params = () => otherParams;
  cases.push(
    ...numberCases(
      (s) => `setParams(${s})`,
      (v) => (n) => n.setParams(v as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `setParams(params, ${s})`,
      (v) => (n) => n.setParams(params(), v as never),
      (v) =>
        v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v))
          ? 'either'
          : Array.isArray(v)
            ? 'either'
            : false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `setParams(params, { step: ${s} })`,
      (v) => (n) => n.setParams(params(), { step: v as number }),
      (v) => v === undefined || safeInt(v, 0),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `setParams(params with layers.0.bias data[1] = ${s})`,
      (v) => (n) => {
        const p = structuredClone(params());
        const data = Array.from(p['layers.0.bias']?.data ?? []) as unknown[];
        data[1] = v;
        n.setParams({ ...p, 'layers.0.bias': { shape: [8], data: data as never } });
      },
      (v) => f32(v),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `setParams(params with layers.1.bias = ${s})`,
      (v) => (n) => n.setParams({ ...params(), 'layers.1.bias': v as never }),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `setParams(params with layers.1.bias.shape = ${s})`,
      (v) => (n) =>
        n.setParams({ ...params(), 'layers.1.bias': { shape: v as never, data: new Float32Array(3) } }),
      () => false,
    ),
  );
  add(
    'setParams(params + extra name)',
    (n) => n.setParams({ ...params(), 'layers.2.bias': { shape: [3], data: [0, 0, 0] as never } }),
    ArgumentError,
  );
  add('setParams(params of 6-5-3)', (n) => n.setParams(otherSpecParams), ArgumentError);
  add(
    'setParams(params, { step: 7, stepp: 3 }) (misspelled)',
    (n) => n.setParams(params(), { step: 7, stepp: 3 } as never),
    'ok',
  );
  add('setParams(frozen params)', (n) => n.setParams(Object.freeze(params())), 'ok');
  add(
    'setParams(params, Proxy step changing)',
    (n) =>
      n.setParams(
        params(),
        new Proxy(
          {},
          {
            get: (() => {
              let i = 0;
              return () => (i++ === 0 ? 3 : -1);
            })(),
          },
        ) as never,
      ),
    { either: ArgumentError },
  );

  // restore(checkpoint)
  cases.push(
    ...numberCases(
      (s) => `restore(${s})`,
      (v) => (n) => n.restore(v as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `restore({ ...checkpoint, step: ${s} })`,
      (v) => async (n) => n.restore({ ...(await n.checkpoint()), step: v as number }),
      (v) => safeInt(v, 0),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `restore({ ...checkpoint, optimizerState: ${s} })`,
      (v) => async (n) => n.restore({ ...(await n.checkpoint()), optimizerState: v as never }),
      () => false,
    ),
  );
  add(
    'restore(checkpoint of a 6-5-3 net)',
    async (n) => n.restore(await other().checkpoint()),
    ArgumentError,
  );
  add(
    'restore(checkpoint of an Adam net)',
    async (n) => n.restore(await adamNet().checkpoint()),
    ArgumentError,
  );
  add(
    'restore(checkpoint of a net without momentum)',
    async (n) => n.restore(await plainNet().checkpoint()),
    ArgumentError,
  );
  add(
    'plainNet.restore(checkpoint with velocities)',
    async (n) => plainNet().restore(await n.checkpoint()),
    ArgumentError,
  );
  add(
    'restore(checkpoint with an extra optimizer tensor)',
    async (n) => {
      const c = await n.checkpoint();
      n.restore({
        ...c,
        optimizerState: { ...c.optimizerState, 'x:velocity': { shape: [1], data: [0] as never } },
      });
    },
    ArgumentError,
  );
  add(
    'restore(checkpoint, NaN velocity)',
    async (n) => {
      const c = await n.checkpoint();
      const state = structuredClone(c.optimizerState);
      (state['layers.0.weight:velocity']?.data as Float32Array)[3] = Number.NaN;
      n.restore({ ...c, optimizerState: state });
    },
    ArgumentError,
  );
  add('restore(frozen checkpoint)', async (n) => n.restore(Object.freeze(await n.checkpoint())), 'ok');

  // The other methods, with stray arguments.
  add('getParams(junk)', (n) => (n.getParams as (a: unknown) => unknown)(Symbol('s')), 'ok');
  add('checkpoint(junk)', (n) => (n.checkpoint as (a: unknown) => unknown)(null), 'ok');
  add('takeMetrics(junk)', (n) => (n.takeMetrics as (a: unknown) => unknown)(10n), 'ok');

  // fit(net, data, options)
  const fitCase = (label: string, options: unknown, want: Expect, fitData: unknown = data) =>
    add(`fit(net, ${label})`, (n) => fit(n, fitData as never, options as never), want);
  cases.push(
    ...numberCases(
      (s) => `fit(net, data, ${s})`,
      (v) => (n) => fit(n, data, v as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `fit(net, ${s}, {epochs: 1})`,
      (v) => (n) => fit(n, v as never, { epochs: 1 }),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `fit(${s}, data, {epochs: 1})`,
      (v) => () => fit(v as never, data, { epochs: 1 }),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `fit(net, data, { epochs: ${s} })`,
      (v) => (n) => fit(n, data, { epochs: v as number }),
      (v) => v === 3 || (Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) < 10),
    ).filter(({ label }) => !label.includes('2**3')),
  );
  for (const field of ['seed', 'reportEvery', 'checkpointEvery'] as const) {
    cases.push(
      ...numberCases(
        (s) => `fit(net, data, { epochs: 1, ${field}: ${s} })`,
        (v) => (n) => fit(n, data, { epochs: 1, [field]: v }),
        (v) => v === undefined || safeInt(v, field === 'seed' ? 0 : 1),
      ),
    );
  }
  for (const field of [
    'shuffle',
    'onProgress',
    'onCheckpoint',
    'signal',
    'pause',
    'validation',
    'lrSchedule',
    'momentumRamp',
    'earlyStopping',
    'resume',
  ] as const) {
    cases.push(
      ...numberCases(
        (s) => `fit(net, data, { epochs: 1, ${field}: ${s} })`,
        (v) => (n) => fit(n, data, { epochs: 1, [field]: v }),
        (v) =>
          v === undefined ||
          (field === 'onProgress' || field === 'onCheckpoint'
            ? typeof v === 'function'
            : field === 'shuffle'
              ? typeof v === 'boolean'
              : false),
      ),
    );
  }
  cases.push(
    ...numberCases(
      (s) => `fit(net, data, { epochs: 1, lrSchedule: { kind: 'cosine', min: ${s} } })`,
      (v) => (n) => fit(n, data, { epochs: 1, lrSchedule: { kind: 'cosine', min: v as number } }),
      (v) => v === undefined || (isNum(v) && v >= 0 && v <= momentumSgd.lr),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `fit(net, data, { epochs: 1, momentumRamp: { from: ${s}, to: 0.9, epochs: 1 } })`,
      (v) => (n) => fit(n, data, { epochs: 1, momentumRamp: { from: v as number, to: 0.9, epochs: 1 } }),
      (v) => isNum(v) && v >= 0 && v < 1,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `fit(net, data, { epochs: 1, validation: data, earlyStopping: { patience: ${s} } })`,
      (v) => (n) => fit(n, data, { epochs: 1, validation: data, earlyStopping: { patience: v as number } }),
      (v) => safeInt(v, 1),
    ),
  );
  fitCase(
    "data, { epochs: 1, lrSchedule: { kind: 'Cosine' } }",
    { epochs: 1, lrSchedule: { kind: 'Cosine' } },
    ArgumentError,
  );
  fitCase('data, { epochs: 1, signal: {} }', { epochs: 1, signal: {} }, ArgumentError);
  fitCase(
    'data, { epochs: 1, signal: {aborted: false}, pause: paused }',
    {
      epochs: 1,
      signal: { aborted: false },
      pause: (() => {
        const p = new PauseController();
        p.pause();
        return p;
      })(),
    },
    ArgumentError,
  );
  fitCase('data, { epochs: 1, signal: aborted signal }', { epochs: 1, signal: AbortSignal.abort() }, 'ok');
  fitCase(
    'data, { epochs: 1, earlyStopping: { patience: 1, minDelta: NaN } } + validation',
    { epochs: 1, validation: data, earlyStopping: { patience: 1, minDelta: Number.NaN } },
    ArgumentError,
  );
  fitCase(
    'data, { epochs: 1, validation: 6-feature set of 4 classes }',
    { epochs: 1, validation: dataset(new Float32Array(24), [0, 1, 2, 3], 6, 4) },
    ArgumentError,
  );
  fitCase('data, { epochs: 1, epoch: 5 } (misspelled extra)', { epochs: 1, epoch: 5 }, 'ok');
  fitCase('data, { epoch: 1 } (misspelled)', { epoch: 1 }, ArgumentError);
  fitCase(
    '3-row data, { epochs: 1 }',
    { epochs: 1 },
    ArgumentError,
    dataset(new Float32Array(18), [0, 1, 2], 6, 3),
  );
  add(
    'fit(net, data, { epochs: 2, resume: checkpoint of a 6-5-3 net })',
    async (n) =>
      fit(n, data, { epochs: 2, resume: { ...(await other().checkpoint()), epoch: 1, stepInEpoch: 0 } }),
    ArgumentError,
  );
  add(
    'fit(net, data, { epochs: 2, resume: { ...checkpoint, epoch: 1, stepInEpoch: 9 } })',
    async (n) => fit(n, data, { epochs: 2, resume: { ...(await n.checkpoint()), epoch: 1, stepInEpoch: 9 } }),
    ArgumentError,
  );
  add(
    'fit(net, data, { epochs: 2, resume: { ...checkpoint, epoch: 1, stepInEpoch: 1 } })',
    async (n) => fit(n, data, { epochs: 2, resume: { ...(await n.checkpoint()), epoch: 1, stepInEpoch: 1 } }),
    'ok',
  );

  const flipping = (key: string, first: unknown, later: unknown) =>
    new Proxy(
      { epochs: 1, [key]: first },
      {
        get: (() => {
          const reads = new Map<PropertyKey, number>();
          return (t: Record<PropertyKey, unknown>, k: PropertyKey) => {
            const n = reads.get(k) ?? 0;
            reads.set(k, n + 1);
            return k === key && n > 0 ? later : t[k];
          };
        })(),
      },
    );
  fitCase(
    'data, Proxy lrSchedule cosine, then { kind: "step", every: 0 }',
    flipping('lrSchedule', { kind: 'cosine' }, { kind: 'step', every: 0, factor: 2 }),
    'ok',
  );
  fitCase('data, Proxy epochs 1, then 1e9', flipping('epochs', 1, 1e9), 'ok');
  fitCase('data, Proxy validation data, then null', flipping('validation', data, null), 'ok');
  fitCase(
    'data, Proxy onProgress fn, then 5',
    flipping('onProgress', () => {}, 5),
    'ok',
  );
  fitCase('data, [] (array options)', [], ArgumentError);
  add(
    'trainStep loss read after 1,100 more steps',
    async (n) => {
      const first = await n.trainStep(x, y);
      for (let i = 0; i < 1100; i++) await n.trainStep(x, y);
      // The steps are real (the state changes); the old loss reads right or is a DisposedError.
      return first.loss.catch((error: unknown) => {
        if (error instanceof DisposedError) return 'overwritten';
        throw error;
      });
    },
    'ok',
  );

  // evaluate(net, data, chunkRows)
  cases.push(
    ...numberCases(
      (s) => `evaluate(${s}, data)`,
      (v) => () => evaluate(v as never, data),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `evaluate(net, ${s})`,
      (v) => (n) => evaluate(n, v as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `evaluate(net, data, ${s})`,
      (v) => (n) => evaluate(n, data, v as number),
      (v) => v === undefined || safeInt(v, 1),
    ),
  );

  // saveSafetensors(net)
  cases.push(
    ...numberCases(
      (s) => `saveSafetensors(${s})`,
      (v) => () => saveSafetensors(v as never),
      () => false,
    ),
  );
  add(
    'saveSafetensors(net) round trip',
    async (n) => {
      const loaded = loadSafetensors(await saveSafetensors(n));
      n.setParams(loaded.params, { step: loaded.step });
    },
    'ok',
  );
  return cases;
}

let otherParams: Record<string, { shape: number[]; data: Float32Array }>;
let otherSpecParams: Record<string, { shape: number[]; data: Float32Array }>;

// ---------------------------------------------------------------------------------------------------
// Functions without a net: no state to keep, only typed errors and a working backend.

function freeCases(backend: () => Backend): Case[] {
  const cases: Case[] = [];
  const add = (label: string, run: () => unknown, want: Expect) => cases.push({ label, run, want });
  const mlpField = (field: string, valid: (v: unknown) => boolean | 'either') =>
    cases.push(
      ...numberCases(
        (s) => `mlp({ sizes: [6, 8, 3], ${field}: ${s} })`,
        (v) => () => mlp({ sizes: [6, 8, 3], [field]: v }),
        valid,
      ),
    );
  cases.push(
    ...numberCases(
      (s) => `mlp(${s})`,
      (v) => () => mlp(v as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `mlp({ sizes: ${s} })`,
      (v) => () => mlp({ sizes: v as never }),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `mlp({ sizes: [6, ${s}, 3] })`,
      (v) => () => mlp({ sizes: [6, v as number, 3] }),
      (v) => safeInt(v, 1, 2 ** 24),
    ),
  );
  mlpField('seed', (v) => v === undefined || safeInt(v, 0));
  mlpField('activation', (v) => v === undefined);
  mlpField('keepProb', (v) =>
    v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v)) ? 'either' : false,
  );
  cases.push(
    ...numberCases(
      (s) => `mlp({ sizes: [6, 8, 3], keepProb: { input: ${s} } })`,
      (v) => () => mlp({ sizes: [6, 8, 3], keepProb: { input: v as number } }),
      (v) => v === undefined || (isNum(v) && v > 0 && v <= 1 && (v >= 2 ** -32 || 'either')),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `mlp({ sizes: [6, 8, 3], keepProb: { hidden: ${s} } })`,
      (v) => () => mlp({ sizes: [6, 8, 3], keepProb: { hidden: v as number } }),
      (v) =>
        v === undefined ||
        (isNum(v) && v > 0 && v <= 1 && (v >= 2 ** -32 || 'either')) ||
        (Array.isArray(v) && v.length === 1 && v[0] === 0.5),
    ),
  );
  add(
    'mlp({ sizes: [6, 8, 3], activation: "RELU" })',
    () => mlp({ sizes: [6, 8, 3], activation: 'RELU' as never }),
    ArgumentError,
  );
  add('mlp({ size: [6, 8, 3] }) (misspelled)', () => mlp({ size: [6, 8, 3] } as never), ArgumentError);
  add('mlp({ sizes: new Array(2**32 - 1) })', () => mlp({ sizes: new Array(2 ** 32 - 1) }), ArgumentError);
  for (const [name, make] of [
    ['sgd', sgd],
    ['adam', adam],
  ] as const) {
    cases.push(
      ...numberCases(
        (s) => `${name}(${s})`,
        (v) => () => make(v as never),
        () => false,
      ),
    );
    cases.push(
      ...numberCases(
        (s) => `${name}({ lr: ${s} })`,
        (v) => () => make({ lr: v as number }),
        (v) => (f32(v) && (v as number) > 0 ? true : v === 5e-324 ? 'either' : false),
      ),
    );
    cases.push(
      ...numberCases(
        (s) => `${name}({ lr: 0.1, weightDecay: ${s} })`,
        (v) => () => make({ lr: 0.1, weightDecay: v as number }),
        (v) => v === undefined || (f32(v) && (v as number) >= 0),
      ),
    );
  }
  cases.push(
    ...numberCases(
      (s) => `sgd({ lr: 0.1, momentum: ${s} })`,
      (v) => () => sgd({ lr: 0.1, momentum: v as number }),
      (v) => v === undefined || (isNum(v) && v >= 0 && v < 1),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `sgd({ lr: 0.1, momentum: 0.5, nesterov: ${s} })`,
      (v) => () => sgd({ lr: 0.1, momentum: 0.5, nesterov: v as boolean }),
      (v) => v === undefined || v === true,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `adam({ lr: 0.1, beta1: ${s} })`,
      (v) => () => adam({ lr: 0.1, beta1: v as number }),
      (v) => v === undefined || (isNum(v) && v >= 0 && v < 1),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `adam({ lr: 0.1, epsilon: ${s} })`,
      (v) => () => adam({ lr: 0.1, epsilon: v as number }),
      (v) => v === undefined || (f32(v) && (v as number) >= 1e-30) || (v === 5e-324 ? 'either' : false),
    ),
  );

  // compile(spec, options)
  const compile = (s: unknown, o: unknown) => async () =>
    (await backend().compile(s as never, o as never)).dispose();
  cases.push(
    ...numberCases(
      (s) => `compile(${s}, options)`,
      (v) => compile(v, compileOptions),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `compile(spec, ${s})`,
      (v) => compile(spec, v),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `compile(spec, { batchSize: ${s} })`,
      (v) => compile(spec, { batchSize: v }),
      (v) => v === 3,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `compile(spec, { batchSize: 4, maxNorm: ${s} })`,
      (v) => compile(spec, { batchSize: 4, maxNorm: v }),
      (v) => v === undefined || (isNum(v) && v > 0 && (f32(v) || 'either')),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `compile(spec, { batchSize: 4, optimizer: ${s} })`,
      (v) => compile(spec, { batchSize: 4, optimizer: v }),
      (v) => v === undefined,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `compile(spec, { batchSize: 4, validate: ${s} })`,
      (v) => compile(spec, { batchSize: 4, validate: v }),
      (v) => v === undefined || v === true,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `compile({ ...spec, seed: ${s} }, options)`,
      (v) => compile({ ...spec, seed: v }, compileOptions),
      (v) => v === undefined || safeInt(v, 0),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `compile({ ...spec, keepProb: ${s} }, options)`,
      (v) => compile({ ...spec, keepProb: v }, compileOptions),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `compile({ ...spec, sizes: ${s} }, options)`,
      (v) => compile({ ...spec, sizes: v }, compileOptions),
      () => false,
    ),
  );
  add(
    'compile(spec, { batchSize: 4, optimizer: { kind: "adam", lr: 0.1, beta1: 5 } })',
    compile(spec, { batchSize: 4, optimizer: { kind: 'adam', lr: 0.1, beta1: 5 } }),
    ArgumentError,
  );
  add(
    'compile(spec, { batchSize: 4, optimizer: frozen sgd })',
    compile(spec, { batchSize: 4, optimizer: Object.freeze(sgd({ lr: 0.1 })) }),
    'ok',
  );
  add('compile(spec, { batchsize: 4 }) (misspelled)', compile(spec, { batchsize: 4 }), ArgumentError);
  add(
    'compile({ ...spec, sizes: [6, , 3] }, options)',
    compile(
      {
        ...spec,
        sizes: holes(3, [
          [0, 6],
          [2, 3],
        ]),
      },
      compileOptions,
    ),
    ArgumentError,
  );
  add(
    'compile({ ...spec, sizes: new Array(2**32 - 1) }, options)',
    compile({ ...spec, sizes: new Array(2 ** 32 - 1) }, compileOptions),
    ArgumentError,
  );
  add(
    'compile({ ...spec, keepProb: new Array(2**32 - 1) }, options)',
    compile({ ...spec, keepProb: new Array(2 ** 32 - 1) }, compileOptions),
    ArgumentError,
  );
  add(
    'compile(spec with keepProb getter: array, then 5)',
    compile(
      new Proxy(
        { ...spec },
        {
          get: (() => {
            let i = 0;
            return (t: Record<string, unknown>, k: string) =>
              k === 'keepProb' ? (i++ === 0 ? [1, 1] : 5) : t[k];
          })(),
        },
      ),
      compileOptions,
    ),
    { either: ArgumentError },
  );
  add(
    'compile(spec with sizes getter: array, then 5)',
    compile(
      new Proxy(
        { ...spec },
        {
          get: (() => {
            let i = 0;
            return (t: Record<string, unknown>, k: string) =>
              k === 'sizes' ? (i++ === 0 ? [6, 8, 3] : 5) : t[k];
          })(),
        },
      ),
      compileOptions,
    ),
    { either: ArgumentError },
  );
  add(
    'compile(mlp({ sizes: [2**24, 2**24] }), { batchSize: 1 })',
    compile(mlp({ sizes: [2 ** 24, 2 ** 24] }), { batchSize: 1 }),
    ArgumentError,
  );
  add('compile(spec, { batchSize: 2**31 })', compile(spec, { batchSize: 2 ** 31 }), ArgumentError);
  add(
    'compile(mlp({ sizes: [6, 8, 3], keepProb: { input: 1e-45 } }), options) and train',
    async () => {
      const net = await backend().compile(
        mlp({ sizes: [6, 8, 3], keepProb: { input: 1e-45 } }),
        compileOptions,
      );
      try {
        const loss = await (await net.trainStep(x, y)).loss;
        const p = await net.getParams();
        if (!Number.isFinite(loss) || !Object.values(p).every((t) => t.data.every(Number.isFinite)))
          throw new Error(`loss ${loss}, params not finite`);
      } finally {
        net.dispose();
      }
    },
    { either: ArgumentError },
  );

  const revoked = () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };
  add('mlp(revoked Proxy)', () => mlp(revoked() as never), ArgumentError);
  add('mlp({ sizes: revoked Proxy })', () => mlp({ sizes: revoked() as never }), ArgumentError);
  add('sgd(revoked Proxy)', () => sgd(revoked() as never), ArgumentError);
  add('adam(revoked Proxy)', () => adam(revoked() as never), ArgumentError);
  add('dataset(revoked Proxy, y, 1, 2)', () => dataset(revoked() as never, [0], 1, 2), ArgumentError);
  add('dataset(x, revoked Proxy, 1, 2)', () => dataset([0], revoked() as never, 1, 2), ArgumentError);
  add('loadSafetensors(revoked Proxy)', () => loadSafetensors(revoked() as never), ArgumentError);
  add(
    'loadSafetensors(file, revoked Proxy)',
    () => loadSafetensors(savedFile, revoked() as never),
    ArgumentError,
  );
  add('compile(revoked Proxy, options)', compile(revoked(), compileOptions), ArgumentError);
  add('compile(spec, revoked Proxy)', compile(spec, revoked()), ArgumentError);
  add(
    "createBackend('cpu', revoked Proxy)",
    async () => createBackend('cpu', revoked() as never),
    ArgumentError,
  );

  // dataset(x, y, features, classes)
  cases.push(
    ...numberCases(
      (s) => `dataset(${s}, y, 6, 3)`,
      (v) => () => dataset(v as never, y, 6, 3),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `dataset(x, ${s}, 6, 3)`,
      (v) => () => dataset(x, v as never, 6, 3),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `dataset(x, y, ${s}, 3)`,
      (v) => () => dataset(x, y, v as number, 3),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `dataset(x, y, 6, ${s})`,
      (v) => () => dataset(x, y, 6, v as number),
      (v) => v === 3,
    ),
  );
  add(
    'dataset({ length: 2**40 }, { length: 2**40 }, 1, 2)',
    () => dataset({ length: 2 ** 40 }, { length: 2 ** 40 }, 1, 2),
    ArgumentError,
  );
  add(
    'dataset({ length: 2**32 }, { length: 2**32 }, 1, 2)',
    () => dataset({ length: 2 ** 32 }, { length: 2 ** 32 }, 1, 2),
    ArgumentError,
  );
  add(
    'dataset(x with 1e39, y, 6, 3)',
    () =>
      dataset(
        Array.from(x, (v, i) => (i ? v : 1e39)),
        y,
        6,
        3,
      ),
    ArgumentError,
  );

  // createBackend(kind, options)
  const open = (kind: unknown, options: unknown) => async () =>
    (await createBackend(kind as never, options as never)).dispose();
  cases.push(
    ...numberCases(
      (s) => `createBackend(${s})`,
      (v) => open(v, { precision: 'f32' }),
      (v) => (v === undefined ? 'either' : false),
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `createBackend('cpu', ${s})`,
      (v) => open('cpu', v),
      (v) =>
        v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v)) ? 'either' : false,
    ),
  );
  for (const field of [
    'precision',
    'gpu',
    'device',
    'powerPreference',
    'autotune',
    'kernelChoice',
    'relaxedSimd',
  ] as const) {
    cases.push(
      ...numberCases(
        (s) => `createBackend('cpu', { ${field}: ${s} })`,
        (v) => open('cpu', { [field]: v }),
        (v) =>
          v === undefined ||
          (field === 'autotune' || field === 'relaxedSimd'
            ? v === true
            : field === 'kernelChoice'
              ? typeof v === 'function'
              : false),
      ),
    );
  }
  cases.push(
    ...numberCases(
      (s) => `createBackend('wasm', { threads: ${s} })`,
      (v) => open('wasm', { threads: v }),
      (v) => (v === undefined ? 'either' : v === 3),
    ),
  );
  add("createBackend('cpu', { precison: 'f64' }) (misspelled)", open('cpu', { precison: 'f64' }), 'ok');

  // mnistFromIdx, loadSafetensors argument checks
  cases.push(
    ...numberCases(
      (s) => `mnistFromIdx(${s})`,
      (v) => () => mnistFromIdx(v as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `mnistFromIdx({ images: ${s}, labels: ${s} })`,
      (v) => () => mnistFromIdx({ images: v, labels: v } as never),
      () => false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `loadSafetensors(${s})`,
      (v) => () => loadSafetensors(v as never),
      (v) => (Array.isArray(v) ? false : false),
    ).map((c) => ({
      ...c,
      want:
        c.label.includes('[]') || c.label.includes('sparse') || c.label.includes('[0.5]')
          ? { either: ArgumentError }
          : c.want,
    })),
  );
  cases.push(
    ...numberCases(
      (s) => `loadSafetensors(file, ${s})`,
      (v) => () => loadSafetensors(savedFile, v as never),
      (v) =>
        v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v)) ? 'either' : false,
    ),
  );
  cases.push(
    ...numberCases(
      (s) => `loadSafetensors(file, { maxHeaderBytes: ${s} })`,
      (v) => () => loadSafetensors(savedFile, { maxHeaderBytes: v as number }),
      (v) => v === undefined || (safeInt(v, 2) ? 'either' : false),
    ).map((c) => (typeof c.want === 'object' ? { ...c, want: { either: ModelFileError } } : c)),
  );
  return cases.map((c) => ({
    ...c,
    run: () => c.run(undefined as never),
    touches: /compile|createBackend/.test(c.label),
  }));
}

let savedFile: Uint8Array;
/** A checkpoint that fits a momentum-SGD net of `spec`. */
const velocityCheckpoint = (): NetCheckpoint => ({
  params: otherParams,
  optimizerState: Object.fromEntries(Object.entries(otherParams).map(([k, v]) => [`${k}:velocity`, v])),
  step: 2,
});

/** Mutations of a saved file: each either loads (and its params then load into a net of its spec) or is a ModelFileError. */
function fileCases(backend: () => Backend): Case[] {
  const cases: Case[] = [];
  const loadInto = async (bytes: Uint8Array) => {
    const loaded = loadSafetensors(bytes);
    const net = await backend().compile(loaded.spec, { batchSize: 2 });
    try {
      net.setParams(loaded.params, { step: loaded.step });
      const probs = await net.predict(new Float32Array(loaded.spec.sizes[0] as number));
      if (!probs.every(Number.isFinite)) throw new Error('non-finite predictions');
    } finally {
      net.dispose();
    }
  };
  const headerLength = new DataView(savedFile.buffer, savedFile.byteOffset).getUint32(0, true);
  const header = new TextDecoder().decode(savedFile.subarray(8, 8 + headerLength));
  const withHeader = (text: string) => {
    const json = new TextEncoder().encode(text);
    const out = new Uint8Array(8 + json.length + (savedFile.length - 8 - headerLength));
    new DataView(out.buffer).setUint32(0, json.length, true);
    out.set(json, 8);
    out.set(savedFile.subarray(8 + headerLength), 8 + json.length);
    return out;
  };
  const add = (label: string, bytes: () => Uint8Array, want: Expect = { either: ModelFileError }) =>
    cases.push({ label: `loadSafetensors(${label})`, run: () => loadInto(bytes()), want });
  add('saved file', () => savedFile, 'ok');
  for (let i = 0; i < 24; i++) {
    const [w0, w1] = Array.from(philox4x32([i, 0, 0, 0], [77, 1]));
    const at = (w0 as number) % savedFile.length;
    const bit = (w1 as number) % 8;
    add(`file with bit ${bit} of byte ${at} flipped`, () => {
      const copy = savedFile.slice();
      copy[at] = (copy[at] as number) ^ (1 << bit);
      return copy;
    });
  }
  for (const cut of [0, 7, 8, 9, 8 + headerLength - 1, 8 + headerLength, savedFile.length - 1]) {
    add(`file cut to ${cut} bytes`, () => savedFile.slice(0, cut), ModelFileError);
  }
  add('file with 4 trailing bytes', () => Uint8Array.from([...savedFile, 0, 0, 0, 0]), ModelFileError);
  add(
    'file with header length 2**40',
    () => {
      const copy = savedFile.slice();
      new DataView(copy.buffer).setUint32(4, 256, true);
      return copy;
    },
    ModelFileError,
  );
  const swaps: [string, string][] = [
    ['"F32"', '"F16"'],
    ['"sizes":[6,8,3]', '"sizes":[6,8,3,3]'],
    ['"sizes":[6,8,3]', '"sizes":[6,8]'],
    ['"sizes":[6,8,3]', '"sizes":[6,1e39,3]'],
    ['"sizes":[6,8,3]', '"sizes":[6,-8,3]'],
    ['"sizes":[6,8,3]', '"sizes":"6,8,3"'],
    ['"seed":11', '"seed":-1'],
    ['"seed":11', '"seed":1e300'],
    ['"seed":11', '"seed":11,"seed":12'],
    ['"activation":"relu"', '"activation":"gelu"'],
    ['"keepProb":[0.9,0.7]', '"keepProb":[0.9]'],
    ['"keepProb":[0.9,0.7]', '"keepProb":[0.9,0]'],
    ['"keepProb":[0.9,0.7]', '"keepProb":[0.9,1e-50]'],
    ['"dropgpu.step":"', '"dropgpu.step":"-'],
    ['"dropgpu.step":"', '"dropgpu.step":"1e39'],
    ['"dropgpu.step":"', '"dropgpu.step":"0x'],
    ['"shape":[8,6]', '"shape":[6,8]'],
    ['"shape":[8,6]', '"shape":[48]'],
    ['"shape":[8]', '"shape":[8,1]'],
    ['"format":"pt"', '"format":"pt","format":"np"'],
    ['"layers.0.bias"', '"layers.0.bias ","layers.0.bias":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'],
  ];
  for (const [from, to] of swaps) {
    const json = JSON.stringify(header);
    const spliced = header.includes(from)
      ? header.replace(from, to)
      : header.replace(from.replaceAll('"', '\\"'), to.replaceAll('"', '\\"'));
    add(`file with ${from} → ${to}${spliced === header ? ' (not found)' : ''}`, () => withHeader(spliced), {
      either: ModelFileError,
    });
    void json;
  }
  add(
    'file with a NaN weight',
    () => {
      const copy = savedFile.slice();
      new DataView(copy.buffer).setFloat32(8 + headerLength + 4, Number.NaN, true);
      return copy;
    },
    ModelFileError,
  );
  return cases.map((c) => ({ ...c, run: () => c.run(undefined as never) }));
}

// ---------------------------------------------------------------------------------------------------

const kinds = ['cpu', 'wasm'] as const;
const open = (kind: (typeof kinds)[number]) => createBackend(kind, kind === 'wasm' ? { threads: 2 } : {});

describe.each(kinds)('hostile caller on %s', (kind) => {
  let backend: Backend;
  let net: Net;
  let other: Net;
  let adamNet: Net;
  let plainNet: Net;
  beforeAll(async () => {
    backend = await open(kind);
    net = await backend.compile(spec, compileOptions);
    await net.trainRows(data, rows);
    other = await backend.compile(otherSpec, compileOptions);
    adamNet = await backend.compile(spec, { batchSize: B, optimizer: adam({ lr: 0.01 }) });
    plainNet = await backend.compile(spec, { batchSize: B, optimizer: sgd({ lr: 0.1 }) });
    const seeded = await backend.compile(
      mlp({ ...spec, keepProb: { input: 0.9, hidden: 0.7 }, seed: 99 }),
      compileOptions,
    );
    otherParams = (await seeded.getParams()) as typeof otherParams;
    seeded.dispose();
    otherSpecParams = (await other.getParams()) as typeof otherSpecParams;
    savedFile = await saveSafetensors(net);
  });
  afterAll(() => backend.dispose());

  it('every Net method and fit/evaluate/saveSafetensors with bad arguments', {
    timeout: 30_000,
  }, async () => {
    const cases = netCases(
      () => other,
      () => adamNet,
      () => plainNet,
    );
    expect(cases.length).toBeGreaterThan(300);
    expect(await sweep(backend, net, cases)).toEqual([]);
  });

  it('mlp, sgd, adam, compile, dataset, createBackend, mnistFromIdx, loadSafetensors with bad arguments', {
    timeout: 30_000,
  }, async () => {
    const cases = freeCases(() => backend);
    expect(cases.length).toBeGreaterThan(300);
    expect(await sweep(backend, net, cases)).toEqual([]);
  });

  it('loadSafetensors of mutated files from saveSafetensors', async () => {
    expect(
      await sweep(
        backend,
        net,
        fileCases(() => backend),
      ),
    ).toEqual([]);
  });

  it('every call after net.dispose() is a DisposedError; dispose while reads are pending', async () => {
    const failures: string[] = [];
    const calls: [string, (n: Net) => unknown][] = [
      ['trainStep', (n) => n.trainStep(x, y)],
      ['trainRows', (n) => n.trainRows(data, rows)],
      ['predict', (n) => n.predict(x)],
      ['predict MC', (n) => n.predict(x, { mcSamples: 3 })],
      ['getParams', (n) => n.getParams()],
      ['checkpoint', (n) => n.checkpoint()],
      ['takeMetrics', (n) => n.takeMetrics()],
      ['setParams', (n) => n.setParams(otherParams)],
      ['restore', (n) => n.restore(velocityCheckpoint())],
      ['fit', (n) => fit(n, data, { epochs: 1 })],
      ['evaluate', (n) => evaluate(n, data)],
      ['saveSafetensors', (n) => saveSafetensors(n)],
    ];
    const disposed = await backend.compile(spec, compileOptions);
    disposed.dispose();
    disposed.dispose();
    for (const [name, call] of calls) {
      const bad = judge(`disposed net: ${name}`, await outcome(() => call(disposed)), DisposedError);
      if (bad) failures.push(bad);
    }
    // dispose() while each read is pending: the read resolves right or rejects with DisposedError.
    for (const [name, call] of calls) {
      const victim = await backend.compile(spec, compileOptions);
      const reference = await backend.compile(spec, compileOptions);
      const step = await victim.trainStep(x, y);
      await reference.trainStep(x, y);
      const pendingLoss = step.loss;
      const pending = outcome(() => call(victim));
      const queued = outcome(() => victim.getParams());
      victim.dispose();
      const expected = await outcome(() => call(reference));
      const got = await pending;
      if (!got.ok) {
        const bad = judge(`dispose while ${name} pending`, got, DisposedError);
        if (bad) failures.push(bad);
      } else if (name !== 'fit') {
        try {
          expect(got.value).toEqual(expected.ok ? expected.value : undefined);
        } catch {
          failures.push(
            `dispose while ${name} pending: resolved with a different value than without dispose`,
          );
        }
      }
      const loss = await outcome(() => pendingLoss);
      if (
        loss.ok ? !Number.isFinite(loss.value) || loss.value === 0 : !(loss.error instanceof DisposedError)
      ) {
        failures.push(
          `dispose while ${name} pending: step.loss gave ${loss.ok ? loss.value : String(loss.error)}`,
        );
      }
      const q = judge(`dispose while ${name} pending: getParams queued`, await queued, {
        either: DisposedError,
      });
      if (q) failures.push(q);
      reference.dispose();
      const health = await healthy(backend);
      if (health) failures.push(`dispose while ${name} pending: ${health}`);
    }
    expect(failures).toEqual([]);
  });

  it('every call after backend.dispose() is a DisposedError, on every net of it', async () => {
    const failures: string[] = [];
    const doomed = await open(kind);
    const nets = [
      await doomed.compile(spec, compileOptions),
      await doomed.compile(otherSpec, compileOptions),
    ];
    const first = nets[0] as Net;
    const step = await first.trainStep(x, y);
    const pendingLoss = step.loss;
    const compiling = outcome(() => doomed.compile(spec, compileOptions));
    doomed.dispose();
    doomed.dispose();
    const c = judge('compile under way at backend.dispose()', await compiling, { either: DisposedError });
    if (c) failures.push(c);
    const l = await outcome(() => pendingLoss);
    if (l.ok && (!Number.isFinite(l.value) || l.value === 0))
      failures.push(`loss read at backend.dispose(): ${l.value}`);
    if (!l.ok && !(l.error instanceof DisposedError))
      failures.push(`loss read at backend.dispose(): ${String(l.error)}`);
    const calls: [string, (n: Net) => unknown][] = [
      ['trainStep', (n) => n.trainStep(x, y)],
      ['trainRows', (n) => n.trainRows(data2, rows)],
      ['predict', (n) => n.predict(x)],
      ['predict MC', (n) => n.predict(x, { mcSamples: 2 })],
      ['getParams', (n) => n.getParams()],
      ['checkpoint', (n) => n.checkpoint()],
      ['takeMetrics', (n) => n.takeMetrics()],
      ['setParams', (n) => n.setParams(otherParams)],
      ['restore', (n) => n.restore(velocityCheckpoint())],
      ['fit', (n) => fit(n, data, { epochs: 1 })],
      ['evaluate', (n) => evaluate(n, data)],
      ['saveSafetensors', (n) => saveSafetensors(n)],
    ];
    for (const [name, call] of calls) {
      const bad = judge(`after backend.dispose(): ${name}`, await outcome(() => call(first)), DisposedError);
      if (bad) failures.push(bad);
    }
    const compile = judge(
      'compile after backend.dispose()',
      await outcome(() => doomed.compile(spec, compileOptions)),
      DisposedError,
    );
    if (compile) failures.push(compile);
    for (const n of nets) n.dispose();
    const health = await healthy(backend);
    if (health) failures.push(`another backend after backend.dispose(): ${health}`);
    expect(failures).toEqual([]);
  });

  it('seeded random mixes of concurrent calls give what the same calls in sequence give', async () => {
    const failures: string[] = [];
    const checkpointed = await net.checkpoint();
    let counter = 0;
    const random = () => {
      const words = philox4x32([counter++, 0, 0, 0], [kind === 'cpu' ? 5 : 6, 15]);
      return (words[0] as number) / 2 ** 32;
    };
    type Op = [string, (n: Net) => unknown];
    const ops: Op[] = [
      [
        'trainStep',
        async (n) => {
          const r = await n.trainStep(x, y);
          return { step: r.step, loss: await r.loss };
        },
      ],
      ['trainStep lr 0.2', (n) => n.trainStep(x, y, { lr: 0.2 }).then((r) => r.step)],
      ['trainRows data', async (n) => Promise.all((await n.trainRows(data, rows)).map((r) => r.loss))],
      ['trainRows data2', async (n) => (await n.trainRows(data2, rows.slice(0, 4))).map((r) => r.step)],
      ['predict', (n) => n.predict(x)],
      ['predict MC', (n) => n.predict(x, { mcSamples: 3 })],
      ['getParams', (n) => n.getParams()],
      ['checkpoint', (n) => n.checkpoint()],
      ['takeMetrics', (n) => n.takeMetrics()],
      ['setParams', (n) => n.setParams(otherParams, { step: 3 })],
      ['restore', (n) => n.restore(checkpointed)],
      ['saveSafetensors', (n) => saveSafetensors(n)],
      ['bad trainStep', (n) => n.trainStep(x, [9, 9, 9, 9])],
      ['bad setParams', (n) => n.setParams({ nope: { shape: [1], data: [1] } } as never)],
      ['bad predict', (n) => n.predict(x, { mcSamples: 0 })],
      ['evaluate', (n) => evaluate(n, data)],
      [
        'fit',
        (n) =>
          fit(n, data, { epochs: 1, shuffle: false }).then((h) =>
            h.epochs.map((e) => [e.trainLoss, e.trainAccuracy]),
          ),
      ],
    ];
    const settle = (result: Awaited<ReturnType<typeof outcome>>) =>
      result.ok ? { ok: result.value } : { error: (result.error as Error)?.constructor?.name };
    for (let scenario = 0; scenario < 60; scenario++) {
      const length = 3 + Math.floor(random() * 6);
      const chosen = Array.from({ length }, () => ops[Math.floor(random() * ops.length)] as Op);
      // fit is several calls: only together with calls that do not depend on the order around it.
      const disposeAt = random() < 0.25 ? Math.floor(random() * length) : -1;
      const names = chosen.map(([name]) => name);
      const label = `scenario ${scenario}: ${names.map((n, i) => (i === disposeAt ? `dispose, ${n}` : n)).join(', ')}`;
      if (names.includes('fit') && names.length > 1) {
        // fit is a sequence of calls: calls made beside it may run between its steps. Only check typing.
        const a = await backend.compile(spec, compileOptions);
        const results = await Promise.all(chosen.map(([, op]) => outcome(() => op(a))));
        for (const r of results) {
          const bad = judge(label, r, { either: ArgumentError });
          if (bad) failures.push(bad);
        }
        const state = await outcome(() => a.checkpoint());
        if (!state.ok || !allFinite(state.value as NetCheckpoint))
          failures.push(`${label}: state afterwards ${state.ok ? 'not finite' : String(state.error)}`);
        a.dispose();
        continue;
      }
      const seq = await backend.compile(spec, compileOptions);
      const conc = await backend.compile(spec, compileOptions);
      const sequential: ReturnType<typeof settle>[] = [];
      for (const [, op] of chosen) sequential.push(settle(await outcome(() => op(seq))));
      const sequentialState = settle(await outcome(() => seq.checkpoint()));
      const promises = chosen.map(([, op], i) => {
        if (i === disposeAt) conc.dispose();
        return outcome(() => op(conc));
      });
      const concurrent = (await Promise.all(promises)).map(settle);
      if (disposeAt < 0) {
        try {
          expect(concurrent).toEqual(sequential);
          expect(settle(await outcome(() => conc.checkpoint()))).toEqual(sequentialState);
        } catch {
          failures.push(`${label}: concurrent results differ from sequential ones`);
        }
      } else {
        concurrent.forEach((result, i) => {
          if ('error' in result && result.error === 'DisposedError') return;
          try {
            expect(result).toEqual(sequential[i]);
          } catch {
            failures.push(
              `${label}: call ${i} (${names[i]}) neither its sequential result nor DisposedError: ${show(result)}`,
            );
          }
        });
      }
      seq.dispose();
      conc.dispose();
      const health = await healthy(backend);
      if (health) failures.push(`${label}: ${health}`);
      if (scenario % 6 !== 0 || names.includes('fit')) continue;
      // The same calls on a net of a backend disposed in their middle: each gives its sequential
      // result or a DisposedError.
      const doomed = await open(kind);
      const victim = await doomed.compile(spec, compileOptions);
      const at = Math.floor(random() * length);
      const cut = await Promise.all(
        chosen.map(([, op], i) => {
          if (i === at) doomed.dispose();
          return outcome(() => op(victim));
        }),
      );
      cut.map(settle).forEach((result, i) => {
        if ('error' in result && result.error === 'DisposedError') return;
        try {
          expect(result).toEqual(sequential[i]);
        } catch {
          failures.push(
            `${label}, backend.dispose() before call ${at}: call ${i} (${names[i]}) gave ${show(result)}`,
          );
        }
      });
      victim.dispose();
    }
    expect(failures).toEqual([]);
  });
});
