import { describe, expect, it } from 'vitest';
import { wrapDevice } from '../src/backend.js';
import { dataset } from '../src/data/dataset.js';
import { spirals } from '../src/data/toy.js';
import { CpuDevice } from '../src/device/cpu.js';
import type { Program, ProgramStep } from '../src/device/device.js';
import { ArgumentError, createBackend, DeviceLostError, mlp, NonFiniteLossError, sgd } from '../src/index.js';
import type { DType } from '../src/ir/ir.js';
import type { Net } from '../src/net/net.js';
import type { NumArray } from '../src/ops/op.js';
import { type FitCheckpoint, fit } from '../src/train/fit.js';
import { PauseController } from '../src/train/pause.js';
import { rampedMomentum, scheduledLr } from '../src/train/schedule.js';
import { epochOrder } from '../src/train/shuffle.js';

const spec = mlp({ sizes: [2, 32, 32, 3], activation: 'relu', keepProb: { hidden: 0.9 }, seed: 4 });
const data = spirals(60, 1);

async function toyNet(lr = 0.1, momentum = 0.9) {
  return (await createBackend('cpu')).compile(spec, { batchSize: 16, optimizer: sgd({ lr, momentum }) });
}

describe('epoch shuffle', () => {
  it('is a permutation, a pure function of (seed, epoch), different across epochs and seeds', () => {
    const a = epochOrder(1000, 7, 3);
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(epochOrder(1000, 7, 3)).toEqual(a);
    expect(epochOrder(1000, 7, 4)).not.toEqual(a);
    expect(epochOrder(1000, 8, 3)).not.toEqual(a);
  });

  it('moves each element to each position about equally often', () => {
    const n = 5;
    const counts = new Array(n * n).fill(0);
    for (let epoch = 0; epoch < 5000; epoch++) {
      epochOrder(n, 1, epoch).forEach((v, i) => {
        counts[v * n + i]++;
      });
    }
    // 1000 expected per cell; 4σ ≈ 4·√(5000·0.2·0.8) ≈ 113.
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(113);
  });
});

describe('schedules', () => {
  const at = (epoch: number, progress = 0) => ({ epoch, epochs: epoch, progress });
  it('step, exponential and cosine learning rates', () => {
    expect(scheduledLr(0.1, undefined, at(5))).toBe(0.1);
    expect(scheduledLr(0.1, { kind: 'step', every: 10, factor: 0.5 }, at(9))).toBe(0.1);
    expect(scheduledLr(0.1, { kind: 'step', every: 10, factor: 0.5 }, at(10))).toBe(0.05);
    expect(scheduledLr(0.1, { kind: 'step', every: 10, factor: 0.5 }, at(25))).toBeCloseTo(0.025, 15);
    expect(scheduledLr(0.1, { kind: 'exponential', gamma: 0.9 }, at(2))).toBeCloseTo(0.081, 15);
    expect(scheduledLr(0.1, { kind: 'cosine' }, at(0, 0))).toBe(0.1);
    expect(scheduledLr(0.1, { kind: 'cosine' }, at(0, 0.5))).toBeCloseTo(0.05, 15);
    expect(scheduledLr(0.1, { kind: 'cosine', min: 0.01 }, at(0, 1))).toBeCloseTo(0.01, 15);
  });

  it('the momentum ramp rises linearly, then holds', () => {
    const ramp = { from: 0.5, to: 0.99, epochs: 10 };
    expect(rampedMomentum(ramp, { epoch: 0, epochs: 0, progress: 0 })).toBe(0.5);
    expect(rampedMomentum(ramp, { epoch: 5, epochs: 5, progress: 0 })).toBeCloseTo(0.745, 15);
    expect(rampedMomentum(ramp, { epoch: 50, epochs: 50, progress: 0 })).toBe(0.99);
  });
});

describe('fit', () => {
  it('learns the toy problem, reports progress with device metrics, and records each epoch', async () => {
    const net = await toyNet();
    const reports: string[] = [];
    const history = await fit(net, data, {
      epochs: 20,
      validation: data,
      reportEvery: 5,
      lrSchedule: { kind: 'cosine', min: 0.01 },
      onProgress: (p) => reports.push(`${p.phase} ${p.epoch} ${p.step}`),
    });
    expect(history.stopReason).toBe('completed');
    expect(history.epochs).toHaveLength(20);
    const last = history.epochs[19];
    expect(last?.validationAccuracy).toBeGreaterThan(0.9);
    expect(last?.trainLoss).toBeLessThan(history.epochs[0]?.trainLoss as number);
    // 180 examples / 16 = 11 steps per epoch (4 left out): reports at steps 5, 10, 11, then the epoch.
    expect(reports.slice(0, 4)).toEqual(['step 1 5', 'step 1 10', 'step 1 11', 'epoch 1 11']);
    expect(net.step).toBe(220);
    expect(last?.lr).toBeCloseTo(0.01, 3);
  });

  it('device metrics equal the mean of the losses read step by step', async () => {
    const net = await toyNet();
    const x = data.x.subarray(0, 32);
    const y = data.y.subarray(0, 16);
    const losses = [];
    for (let i = 0; i < 4; i++) losses.push(await (await net.trainStep(x, y)).loss);
    const metrics = await net.takeMetrics();
    expect(metrics.steps).toBe(4);
    expect(metrics.loss).toBeCloseTo(losses.reduce((a, b) => a + b) / 4, 6);
    expect((await net.takeMetrics()).steps).toBe(0);
  });

  it('is deterministic: same seed, same parameters', async () => {
    const run = async () => {
      const net = await toyNet();
      await fit(net, data, { epochs: 2 });
      return net.getParams();
    };
    expect(await run()).toEqual(await run());
  });

  it('stops when aborted, after the run in flight', async () => {
    const net = await toyNet();
    const controller = new AbortController();
    const steps: number[] = [];
    const history = await fit(net, data, {
      epochs: 5,
      reportEvery: 3,
      signal: controller.signal,
      onProgress: (p) => {
        steps.push(p.step);
        controller.abort();
      },
    });
    expect(history.stopReason).toBe('aborted');
    // The report after step 3 comes once steps 3–5 are queued (the device trains while the metrics
    // are read back): those steps were in flight, and are reported before fit stops.
    expect(net.step).toBe(6);
    expect(steps).toEqual([3, 6]);
  });

  it('stops early when validation loss stops improving, and restores the best epoch', async () => {
    const net = await toyNet(0.3);
    // Labels rotated: the better the net fits the training data, the worse it does here.
    const misleading = dataset(
      data.x,
      data.y.map((c) => (c + 1) % 3),
      2,
      3,
    );
    const epochs: number[] = [];
    const history = await fit(net, data, {
      epochs: 30,
      validation: misleading,
      earlyStopping: { patience: 2 },
      onProgress: (p) => p.phase === 'epoch' && epochs.push(p.validation?.loss ?? 0),
    });
    expect(history.stopReason).toBe('early-stopping');
    expect(history.epochs.length).toBeLessThan(30);
    const bestEpoch = history.bestEpoch as number;
    expect(history.epochs.length).toBe(bestEpoch + 2);
    const bestLoss = Math.min(...epochs);
    expect(history.epochs[bestEpoch - 1]?.validationLoss).toBe(bestLoss);
  });

  it('stops at a non-finite loss naming the step, with the parameters from before it', async () => {
    const net = await toyNet(1e6, 0);
    const error = await fit(net, data, { epochs: 3, reportEvery: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    const bad = (error as NonFiniteLossError).step;
    expect(bad).toBeGreaterThan(0);
    // The same net trained exactly the steps before `bad` holds the same bits.
    const twin = await toyNet(1e6, 0);
    const order = epochOrder(data.n, spec.seed, 0);
    for (let s = 0; s < bad; s++) {
      const rows = Array.from(order.subarray(s * 16, s * 16 + 16));
      await twin.trainStep(
        rows.flatMap((r) => [data.x[2 * r] as number, data.x[2 * r + 1] as number]),
        rows.map((r) => data.y[r] as number),
      );
    }
    expect(await net.getParams()).toEqual(await twin.getParams());
  });

  it('a non-finite loss stops the updates of the run queued before its report was read', async () => {
    // Row 32 overflows the first layer: step 2 (rows 32–47, unshuffled) has a non-finite loss, and
    // steps 3 on, of finite rows, would train again if the run after it were not stopped too.
    const x = Float32Array.from(data.x);
    x.fill(3e38, 64, 66);
    const poisoned = dataset(x, data.y, 2, 3);
    const net = await toyNet();
    const error = await fit(net, poisoned, { epochs: 1, reportEvery: 1, shuffle: false }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as NonFiniteLossError).step).toBe(2);
    const twin = await toyNet();
    await twin.trainRows(
      poisoned,
      Array.from({ length: 32 }, (_, i) => i),
    );
    expect(await net.getParams()).toEqual(await twin.getParams());
    // As before: the metrics are reset, so the net trains again.
    expect((await net.takeMetrics()).nonFiniteSteps).toBe(0);
  });

  it('rejects bad options before training', async () => {
    const net = await toyNet();
    await expect(fit(net, data, { epochs: 0 })).rejects.toBeInstanceOf(ArgumentError);
    await expect(fit(net, data, { epochs: 1, earlyStopping: { patience: 2 } })).rejects.toThrow(
      /earlyStopping/,
    );
    await expect(
      fit(net, data, { epochs: 1, lrSchedule: { kind: 'step', every: 0, factor: 0.5 } }),
    ).rejects.toThrow(/lrSchedule.every/);
    const adamNet = await (await createBackend('cpu')).compile(spec, { batchSize: 16 });
    await expect(
      fit(adamNet, data, { epochs: 1, momentumRamp: { from: 0.5, to: 0.9, epochs: 2 } }),
    ).rejects.toThrow(/momentumRamp/);
    await expect(fit(net, dataset(new Float32Array(3), [0], 3, 3), { epochs: 1 })).rejects.toThrow(
      /features/,
    );
    const named = async (options: Record<string, unknown>, name: string) => {
      const error = await fit(net, data, { epochs: 1, ...options }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArgumentError);
      expect((error as ArgumentError).message).toContain(name);
    };
    await named({ validation: data, earlyStopping: {} }, 'earlyStopping.patience');
    await named({ validation: data, earlyStopping: { patience: 2, minDelta: Number.NaN } }, 'minDelta');
    await named({ validation: data, earlyStopping: { patience: 2, restoreBest: 'yes' } }, 'restoreBest');
    await named({ seed: 'abc' }, 'seed');
    await named({ seed: -1.5 }, 'seed');
    await named({ shuffle: 'no' }, 'shuffle');
    await named({ onProgress: 3 }, 'onProgress');
    await named({ pause: { paused: true } }, 'pause');
    expect(net.step).toBe(0);
  });
});

describe('fit reads a report back while the next run trains', () => {
  /**
   * A CPU device whose metrics reads come back three event-loop turns after they were made, as a GPU
   * readback does: it logs each training run, and each metrics read made and come back.
   */
  class SlowMetricsDevice extends CpuDevice {
    readonly log: string[] = [];
    #metrics: NumArray | undefined;
    #reads = 0;
    #runs = 0;
    constructor() {
      super('f32');
    }
    override createBuffer(label: string, dtype: DType, length: number): NumArray {
      const buffer = super.createBuffer(label, dtype, length);
      if (label === 'metrics') this.#metrics = buffer;
      return buffer;
    }
    override read(buffer: NumArray, length: number): Promise<Float32Array | Float64Array> {
      const reading = super.read(buffer, length);
      if (buffer !== this.#metrics) return reading;
      const read = this.#reads++;
      this.log.push(`read ${read}`);
      return (async () => {
        const values = await reading;
        for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
        this.log.push(`back ${read}`);
        return values;
      })();
    }
    override async createProgram(
      label: string,
      steps: readonly ProgramStep<NumArray>[],
      snapshots: readonly NumArray[],
      streamed: readonly { buffer: NumArray; length: number }[] = [],
    ): Promise<Program> {
      const program = await super.createProgram(label, steps, snapshots, streamed);
      if (!label.startsWith('train')) return program;
      return {
        run: (ctx) => program.run(ctx),
        runMany: (ctxs, data) => {
          this.log.push(`run ${this.#runs++}`);
          return program.runMany(ctxs, data);
        },
        dispose: () => program.dispose(),
      };
    }
  }

  it('queues run n + 1 before report n is back, and still reports every run once, in order', async () => {
    const device = new SlowMetricsDevice();
    const net = await wrapDevice(device).compile(spec, { batchSize: 16, optimizer: sgd({ lr: 0.1 }) });
    const log = device.log;
    // 11 steps per epoch, a report every 2: runs 0–4 end at steps 2, 4, 6, 8, 10, run 5 at the epoch's end.
    await fit(net, data, { epochs: 1, reportEvery: 2, onProgress: (p) => log.push(`${p.phase} ${p.step}`) });
    // Read 0 is fit's reset at its start; read k (k ≥ 1) is the report of run k − 1.
    for (let run = 1; run <= 5; run++) {
      expect(log.indexOf(`run ${run}`), `run ${run}`).toBeLessThan(log.indexOf(`back ${run}`));
      expect(log.indexOf(`read ${run}`), `read ${run}`).toBeLessThan(log.indexOf(`run ${run}`));
    }
    expect(log.filter((entry) => !/^(run|read|back) /.test(entry))).toEqual([
      'step 2',
      'step 4',
      'step 6',
      'step 8',
      'step 10',
      'step 11',
      'epoch 11',
    ]);
    // The epoch's report waits for its metrics before validation: nothing runs after it.
    expect(log.slice(log.indexOf('run 5'))).toEqual([
      'run 5',
      'back 5',
      'step 10',
      'read 6',
      'back 6',
      'step 11',
      'epoch 11',
    ]);
  });
});

describe('checkpoints and resume', () => {
  /** A CPU device that is "lost" after `runs` training steps: every later call throws DeviceLostError. */
  class LosingDevice extends CpuDevice {
    #runs: number;
    constructor(runs: number) {
      super('f32');
      this.#runs = runs;
    }
    override async createProgram(
      label: string,
      steps: readonly ProgramStep<NumArray>[],
      snapshots: readonly NumArray[],
      streamed: readonly { buffer: NumArray; length: number }[] = [],
    ): Promise<Program> {
      const program = await super.createProgram(label, steps, snapshots, streamed);
      const lose = () => {
        if (label.startsWith('train') && this.#runs-- <= 0)
          throw new DeviceLostError('WebGPU device lost: test');
      };
      return {
        run: (ctx) => {
          lose();
          return program.run(ctx);
        },
        // Step by step, so that the loss can strike in the middle of a submission's steps.
        runMany: (ctxs, data) =>
          ctxs.flatMap((ctx, i) => {
            lose();
            const slices = data.map((d) =>
              d.subarray((i * d.length) / ctxs.length, ((i + 1) * d.length) / ctxs.length),
            );
            return program.runMany([ctx], slices);
          }),
        dispose: () => program.dispose(),
      };
    }
  }

  it('a lost device leaves a checkpoint; resuming from it on a new net ends with the same bits', async () => {
    const options = { epochs: 3, checkpointEvery: 4, lrSchedule: { kind: 'cosine' } as const };
    const reference = await toyNet();
    await fit(reference, data, options);

    const lost = await wrapDevice(new LosingDevice(17)).compile(spec, {
      batchSize: 16,
      optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
    });
    const error = await fit(lost, data, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceLostError);
    const checkpoint = (error as DeviceLostError).checkpoint as FitCheckpoint;
    // 11 steps per epoch; checkpoints 4 and 8 steps into each epoch and at its end (steps 4, 8, 11, 15,
    // 19, …). Steps 0–16 ran; step 17 found the device lost; the last checkpoint was at step 15.
    expect([checkpoint.epoch, checkpoint.stepInEpoch, checkpoint.step]).toEqual([1, 4, 15]);

    const resumed = await toyNet();
    await fit(resumed, data, { ...options, resume: checkpoint });
    expect(resumed.step).toBe(reference.step);
    expect(await resumed.getParams()).toEqual(await reference.getParams());
  });

  it('restore rejects a checkpoint of another model and changes nothing', async () => {
    const net = await toyNet();
    const before = await net.checkpoint();
    const other = await (await createBackend('cpu')).compile(mlp({ sizes: [2, 8, 3] }), {
      batchSize: 16,
      optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
    });
    expect(() => net.restore(before)).not.toThrow();
    expect(() => other.restore(before)).toThrow(ArgumentError);
  });
});

describe.each(['cpu', 'wasm'] as const)('pause, resume and the event loop on %s', (kind) => {
  const compile = async (): Promise<Net> =>
    (await createBackend(kind, kind === 'wasm' ? { threads: 2 } : {})).compile(spec, {
      batchSize: 16,
      optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
    });
  // 11 steps per epoch; runs of at most 2 steps (reports every 2 steps).
  const options = { epochs: 3, reportEvery: 2 };

  it('nothing trains once the pause takes effect; resume continues to the same parameters', async () => {
    const reference = await compile();
    await fit(reference, data, options);

    const net = await compile();
    const pause = new PauseController();
    const training = fit(net, data, {
      ...options,
      pause,
      onProgress: (p) => {
        if (p.step === 4 && p.phase === 'step') pause.pause();
      },
    });
    await pause.held();
    // The pause came with the report after step 4, made once steps 4–5 were queued: that run, in
    // flight, was the last one.
    expect(net.step).toBe(6);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(net.step).toBe(6);
    expect(pause.paused).toBe(true);
    pause.resume();
    const history = await training;
    expect(history.stopReason).toBe('completed');
    expect(net.step).toBe(reference.step);
    expect(await net.getParams()).toEqual(await reference.getParams());
  });

  it('a report every step (each read back while the next run trains) changes no bit', async () => {
    const schedules = {
      lrSchedule: { kind: 'cosine' } as const,
      momentumRamp: { from: 0.5, to: 0.9, epochs: 2 },
    };
    const everyStep = await compile();
    await fit(everyStep, data, { epochs: 3, reportEvery: 1, ...schedules });
    const oncePerEpoch = await compile();
    await fit(oncePerEpoch, data, { epochs: 3, reportEvery: 11, ...schedules });
    expect(everyStep.step).toBe(33);
    expect(await everyStep.getParams()).toEqual(await oncePerEpoch.getParams());
  });

  it('one controller pauses two fits; held waits for both', async () => {
    const nets = [await compile(), await compile()];
    const pause = new PauseController();
    pause.pause();
    const trainings = nets.map((net) => fit(net, data, { ...options, pause }));
    await pause.held();
    expect(nets.map((net) => net.step)).toEqual([0, 0]);
    pause.resume();
    await Promise.all(trainings);
    expect(nets.map((net) => net.step)).toEqual([33, 33]);
  });

  it('held stays pending while no fit runs, and resolves once one holds', async () => {
    const net = await compile();
    const pause = new PauseController();
    pause.pause();
    let held = false;
    const holding = pause.held().then(() => {
      held = true;
    });
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(held).toBe(false);
    const training = fit(net, data, { ...options, pause });
    await holding;
    expect(net.step).toBe(0);
    pause.resume();
    expect((await training).stopReason).toBe('completed');
  });

  it('abort while paused ends the fit', async () => {
    const net = await compile();
    const pause = new PauseController();
    const controller = new AbortController();
    const training = fit(net, data, {
      ...options,
      pause,
      signal: controller.signal,
      onProgress: (p) => p.step === 2 && pause.pause(),
    });
    await pause.held();
    controller.abort();
    const history = await training;
    expect(history.stopReason).toBe('aborted');
    expect(net.step).toBe(4); // the report after step 2 comes with steps 2–3 in flight
  });

  it('yields between runs: an abort from a timer stops a long fit well before its end', async () => {
    const net = await compile();
    const controller = new AbortController();
    const epochs = 2000;
    setTimeout(() => controller.abort(), 100);
    const history = await fit(net, data, { epochs, reportEvery: 11, signal: controller.signal });
    expect(history.stopReason).toBe('aborted');
    // Seen between two runs of steps, not at the end: far fewer epochs than asked for were trained.
    expect(history.epochs.length).toBeLessThan(epochs / 2);
    expect(net.step).toBeLessThan((epochs / 2) * 11);
  });
});
