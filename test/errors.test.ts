/** docs/contracts.md, "Errors": bad input throws an error naming the argument, before any work, leaving the net as it was. */
import { describe, expect, it } from 'vitest';
import { ArgumentError, createBackend, DisposedError, mlp, sgd } from '../src/index.js';

const spec = mlp({ sizes: [3, 4, 2], keepProb: { input: 0.8, hidden: 0.5 }, seed: 1 });
const goodX = Float32Array.of(0.1, 0.2, 0.3, -1, 0.5, 2);
const goodY = Uint8Array.of(1, 0);

function expectArgumentError(action: () => unknown, argument: string | RegExp): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ArgumentError);
    const named = (error as ArgumentError).argument;
    if (typeof argument === 'string') expect(named).toBe(argument);
    else expect(named).toMatch(argument);
    expect((error as Error).message).toMatch(/expected .+, got .+/);
    return;
  }
  throw new Error(`expected an ArgumentError naming ${argument}`);
}

async function expectRejectsArgument(promise: Promise<unknown>, argument: string | RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expectArgumentError(() => {
    if (error) throw error;
  }, argument);
}

describe('model spec and compile options', () => {
  it.each([
    [() => mlp({ sizes: [3] }), 'sizes'],
    [() => mlp({ sizes: [3, 0, 2] }), 'sizes[1]'],
    [() => mlp({ sizes: [3, 2.5, 2] }), 'sizes[1]'],
    [() => mlp({ sizes: [3, 4, 2], keepProb: { input: 0 } }), 'keepProb.input'],
    [() => mlp({ sizes: [3, 4, 2], keepProb: { hidden: 1.5 } }), 'keepProb.hidden'],
    [() => mlp({ sizes: [3, 4, 2], keepProb: { hidden: Number.NaN } }), 'keepProb.hidden'],
    [() => mlp({ sizes: [3, 4, 4, 2], keepProb: { hidden: [0.5] } }), 'keepProb.hidden'],
    [() => mlp({ sizes: [3, 4, 4, 2], keepProb: { hidden: [0.5, -1] } }), 'keepProb.hidden[1]'],
    [() => mlp({ sizes: [3, 2], activation: 'gelu' as 'relu' }), 'activation'],
    [() => mlp({ sizes: [3, 2], seed: -1 }), 'seed'],
    [() => sgd({ lr: 0 }), 'lr'],
    [() => sgd({ lr: 0.1, momentum: 1 }), 'momentum'],
    [() => sgd({ lr: 0.1, nesterov: true }), 'nesterov'],
  ])('%s', (action, argument) => expectArgumentError(action, argument));

  it.each([
    [{ batchSize: 0 }, 'batchSize'],
    [{ batchSize: 1.5 }, 'batchSize'],
    [{ batchSize: 2, maxNorm: 0 }, 'maxNorm'],
    [{ batchSize: 2, optimizer: { kind: 'rmsprop' } }, 'optimizer'],
  ])('compile rejects %j', async (options, argument) => {
    const backend = await createBackend('cpu');
    await expectRejectsArgument(backend.compile(spec, options as never), argument);
  });

  it('createBackend rejects an unknown kind', async () => {
    await expectRejectsArgument(createBackend('webgl' as never), 'kind');
  });
});

describe('trainStep, predict and setParams leave the net unchanged on bad input', () => {
  const nan = Float32Array.from(goodX);
  nan[4] = Number.NaN;
  const inf = Float32Array.from(goodX);
  inf[0] = Number.POSITIVE_INFINITY;
  it.each([
    ['x too short', goodX.subarray(1), goodY, 'x'],
    ['x with NaN', nan, goodY, 'x[4]'],
    ['x with Infinity', inf, goodY, 'x[0]'],
    ['y too long', goodX, Uint8Array.of(1, 0, 1), 'y'],
    ['y out of range', goodX, Int32Array.of(1, 2), 'y[1]'],
    ['y negative', goodX, Int32Array.of(-1, 0), 'y[0]'],
    ['y not an integer', goodX, Float32Array.of(0.5, 1), 'y[0]'],
  ])('%s', async (_case, x, y, argument) => {
    const net = await (await createBackend('cpu')).compile(spec, { batchSize: 2 });
    await net.trainStep(goodX, goodY);
    const before = await net.getParams();
    await expectRejectsArgument(net.trainStep(x, y), argument);
    expect(net.step).toBe(1);
    expect(await net.getParams()).toEqual(before);
  });

  it('predict rejects rows of the wrong width and non-finite values', async () => {
    const net = await (await createBackend('cpu')).compile(spec, { batchSize: 2 });
    await expectRejectsArgument(net.predict(Float32Array.of(1, 2)), 'x');
    await expectRejectsArgument(net.predict(nan), 'x[4]');
  });

  it('setParams rejects wrong names, shapes and values, and writes nothing', async () => {
    const net = await (await createBackend('cpu')).compile(spec, { batchSize: 2 });
    const good = await net.getParams();
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, extra: good['layers.0.bias'] }, 'params'],
      [{ ...good, 'layers.1.bias': undefined }, 'params["layers.1.bias"]'],
      [
        { ...good, 'layers.0.weight': { shape: [3, 4], data: new Float32Array(12) } },
        'params["layers.0.weight"].shape',
      ],
      [
        { ...good, 'layers.0.bias': { shape: [4], data: new Float32Array(3) } },
        'params["layers.0.bias"].data',
      ],
      [
        { ...good, 'layers.1.bias': { shape: [2], data: Float32Array.of(0, Number.NaN) } },
        'params["layers.1.bias"].data[1]',
      ],
    ];
    for (const [params, argument] of cases) {
      expectArgumentError(() => net.setParams(params as never), argument);
      expect(await net.getParams()).toEqual(good);
    }
  });

  it('a disposed net refuses every call', async () => {
    const net = await (await createBackend('cpu')).compile(spec, { batchSize: 2 });
    net.dispose();
    await expect(net.trainStep(goodX, goodY)).rejects.toBeInstanceOf(DisposedError);
    await expect(net.predict(goodX)).rejects.toBeInstanceOf(DisposedError);
    await expect(net.getParams()).rejects.toBeInstanceOf(DisposedError);
    expect(() => net.setParams({})).toThrow(DisposedError);
  });
});
