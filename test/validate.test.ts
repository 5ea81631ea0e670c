/**
 * Validate mode replays each training step on the CPU reference, node by node, and names the first
 * node whose device output is off. Here the "device" is the CPU backend with one injected fault.
 */
import { describe, expect, it } from 'vitest';
import { wrapDevice } from '../src/backend.js';
import { CpuDevice } from '../src/device/cpu.js';
import type { Program, ProgramStep } from '../src/device/device.js';
import { mlp, sgd, ValidationError } from '../src/index.js';
import type { NumArray } from '../src/ops/op.js';
import { randomArray, randomLabels } from './helpers.js';

/** A CPU device whose output 0 of the node named `faulty` is off by `error` at index 5 after each run. */
class FaultyDevice extends CpuDevice {
  constructor(
    readonly faulty: string,
    readonly error: number,
  ) {
    super('f32');
  }

  override async createProgram(
    label: string,
    steps: readonly ProgramStep<NumArray>[],
    snapshots: readonly NumArray[],
    streamed: readonly { buffer: NumArray; length: number }[] = [],
  ): Promise<Program> {
    const program = await super.createProgram(label, steps, snapshots, streamed);
    const target = steps.find((step) => step.node.name === this.faulty)?.outputs[0];
    return {
      run: (ctx) => {
        const result = program.run(ctx);
        if (target) target[5] = (target[5] as number) + this.error;
        return result;
      },
      runMany: (ctxs, data) => program.runMany(ctxs, data),
      dispose: () => program.dispose(),
    };
  }
}

const spec = mlp({
  sizes: [12, 16, 16, 4],
  activation: 'tanh',
  keepProb: { input: 0.8, hidden: 0.5 },
  seed: 3,
});
const x = Float32Array.from(randomArray(8 * 12, 1));
const y = randomLabels(8, 2, 4);

describe('validate mode', () => {
  it('passes a correct device for several steps', async () => {
    const net = await wrapDevice(new FaultyDevice('none', 0)).compile(spec, {
      batchSize: 8,
      optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
      maxNorm: 1,
      validate: true,
    });
    for (let i = 0; i < 3; i++) await net.trainStep(x, y);
    expect(net.step).toBe(3);
  });

  it.each([
    [
      'layers.0:tanh+dropout',
      /node "layers\.0:tanh\+dropout" \(matmul\) output 0 .*\[8,16\] at step 0: index 5/,
    ],
    [
      // The weight gradient's matmul with both updates fused into it (graph/fuse.ts).
      'grad(layers.1.weight)+layers.1.weight:sgd+grad(layers.1.bias)+layers.1.bias:sgd',
      /node "grad\(layers\.1\.weight\)\+layers\.1\.weight:sgd\+grad\(layers\.1\.bias\)\+layers\.1\.bias:sgd" \(matmul\) output 0/,
    ],
  ])('names the first bad node: %s', async (faulty, message) => {
    const net = await wrapDevice(new FaultyDevice(faulty, 1e-3)).compile(spec, {
      batchSize: 8,
      optimizer: sgd({ lr: 0.1 }),
      validate: true,
    });
    const error = await net.trainStep(x, y).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
  });

  it('lets a fault within the op’s tolerance pass', async () => {
    const net = await wrapDevice(new FaultyDevice('layers.0:tanh+dropout', 1e-9)).compile(spec, {
      batchSize: 8,
      validate: true,
    });
    await expect(net.trainStep(x, y)).resolves.toBeDefined();
  });
});
