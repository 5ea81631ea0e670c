/**
 * `fit`: epochs of minibatch training with a seeded shuffle, schedules, validation, progress,
 * cancellation and early stopping. Loss and accuracy accumulate on the device (the loss kernel) and are
 * read once per reporting interval, not once per step.
 *
 * Batches: each epoch visits the examples in the order of `epochOrder(n, seed, epoch)` and takes
 * floor(n / batchSize) full batches; the last n mod batchSize examples of that order are left out of
 * that epoch (a compiled net has one batch size). Shuffling makes the left-out examples differ from
 * epoch to epoch.
 */

import { checkDataset, checkDatasetValues, type Dataset } from '../data/dataset.js';
import { MAX_STEPS_PER_RUN } from '../device/device.js';
import {
  ArgumentError,
  checkNotRevoked,
  DeviceLostError,
  DisposedError,
  describe,
  NonFiniteLossError,
} from '../errors.js';
import { Net } from '../net/net.js';
import type { NetCheckpoint, StepHyperparameters, TrainStepResult } from '../net/types.js';
import { evaluate } from './evaluate.js';
import { enrol, PauseController, waitAtPause, yieldToEventLoop } from './pause.js';
import {
  checkRamp,
  checkSchedule,
  type LrSchedule,
  type MomentumRamp,
  rampedMomentum,
  scheduledLr,
} from './schedule.js';
import { epochOrder } from './shuffle.js';

/** Options of `fit`. */
export interface FitOptions {
  /** Epochs to run (an integer ≥ 1). */
  epochs: number;
  /** Evaluated after every epoch (no dropout): loss and accuracy. Needed by early stopping. */
  validation?: Dataset;
  /** Seed of the per-epoch shuffle. Default: the model's seed. */
  seed?: number;
  /** Shuffle each epoch (default true); false keeps the data's order. */
  shuffle?: boolean;
  lrSchedule?: LrSchedule;
  /** SGD with momentum only. */
  momentumRamp?: MomentumRamp;
  /** Steps between progress reports (each one device readback). Default: about 10 per epoch. */
  reportEvery?: number;
  /** Called every `reportEvery` steps and after every epoch. */
  onProgress?: (progress: FitProgress) => void;
  /**
   * Stops training after the current run of steps (at most 32); `fit` then resolves with stopReason
   * 'aborted'. Aborting while paused ends a paused fit too.
   */
  signal?: AbortSignal;
  /**
   * Pauses and resumes training: while `pause.paused`, `fit` finishes the run of steps in flight (at most
   * 32 steps, one GPU submission) and then waits, submitting nothing, until `pause.resume()` (or an
   * abort). A paused-then-resumed fit ends with the same parameters as an uninterrupted one. One
   * controller may pause several fits at once (e.g. two nets trained side by side).
   */
  pause?: PauseController;
  /** Stop when the validation loss has not improved by `minDelta` for `patience` epochs. */
  earlyStopping?: { patience: number; minDelta?: number; restoreBest?: boolean };
  /**
   * Steps between checkpoints: copies of the whole training state on the CPU (one readback each),
   * taken at the start, every this many steps and after every epoch. Default: after every epoch.
   * If the GPU device is lost, `fit` throws a `DeviceLostError` whose `checkpoint` is the last one.
   */
  checkpointEvery?: number;
  /** Continue from a checkpoint (a `DeviceLostError`'s, or `onCheckpoint`'s), at the step it was taken. */
  resume?: FitCheckpoint;
  /** Called with each checkpoint, e.g. to save it somewhere durable. */
  onCheckpoint?: (checkpoint: FitCheckpoint) => void;
}

/** A net's training state and where in `fit` it was taken (0-based epoch, steps done in that epoch). */
export interface FitCheckpoint extends NetCheckpoint {
  readonly epoch: number;
  readonly stepInEpoch: number;
}

/** What `fit` reports to `onProgress`: during an epoch (phase "step") and after it (phase "epoch"). */
export interface FitProgress {
  /** 'step' during an epoch, 'epoch' once its validation is done. */
  readonly phase: 'step' | 'epoch';
  /** 1-based. */
  readonly epoch: number;
  readonly epochs: number;
  /** Steps done in this fit call. */
  readonly step: number;
  readonly totalSteps: number;
  /** Mean training loss and accuracy (with dropout) since the last report. */
  readonly loss: number;
  readonly accuracy: number;
  readonly samplesPerSecond: number;
  /** Seconds left at the current speed. */
  readonly etaSeconds: number;
  readonly lr: number;
  readonly momentum: number;
  readonly validation?: { readonly loss: number; readonly accuracy: number };
}

/** What `fit` records after each epoch. */
export interface EpochRecord {
  /** 1-based. */
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
  /** At the epoch's last step. */
  readonly lr: number;
  readonly momentum: number;
  readonly seconds: number;
}

/** What `fit` returns: one record per epoch and why it stopped. */
export interface FitHistory {
  readonly epochs: EpochRecord[];
  readonly stopReason: 'completed' | 'early-stopping' | 'aborted';
  /** With early stopping: the epoch whose parameters the net holds at the end (if restoreBest). */
  readonly bestEpoch?: number;
}

/** The fit running on each net: a second fit on the same net waits for it (see `fit`). */
const fitting = new WeakMap<Net, Promise<unknown>>();

/**
 * Trains `net` on `data` for `options.epochs` epochs (see the module comment for how batches are formed).
 * Resolves with the history; stops early on `signal` or early stopping; throws `NonFiniteLossError`
 * at a NaN/Infinity loss and `DeviceLostError` (with a checkpoint) when the GPU device is lost. Two fits
 * of one net run one after the other, in call order (their steps and metrics would otherwise mix).
 */
export function fit(net: Net, data: Dataset, options: FitOptions): Promise<FitHistory> {
  if (!(net instanceof Net)) {
    return Promise.reject(new ArgumentError('net', 'a compiled Net (from backend.compile)', describe(net)));
  }
  const before = fitting.get(net) ?? Promise.resolve();
  const run = before.then(
    () => fitNow(net, data, options),
    () => fitNow(net, data, options),
  );
  fitting.set(net, run);
  return run;
}

async function fitNow(net: Net, data: Dataset, given: FitOptions): Promise<FitHistory> {
  if (net.disposed) throw new DisposedError('this net');
  checkNotRevoked('options', given);
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new ArgumentError('options', 'an object with epochs', describe(given));
  }
  const options = readOnce(given);
  const { batchSize, spec, optimizer } = net.info;
  checkDataset('data', data, spec.sizes);
  // Evaluated after every epoch: its labels and values are checked now, before the first step.
  if (options.validation !== undefined)
    checkDatasetValues('validation', checkDataset('validation', options.validation, spec.sizes));
  const { epochs } = options;
  if (!Number.isSafeInteger(epochs) || epochs < 1)
    throw new ArgumentError('epochs', 'an integer ≥ 1', describe(epochs));
  if (data.n < batchSize) {
    throw new ArgumentError('data', `at least batchSize = ${batchSize} examples`, `${data.n} examples`);
  }
  checkSchedule(options.lrSchedule, optimizer.lr);
  checkRamp(options.momentumRamp);
  if (options.momentumRamp && !(optimizer.kind === 'sgd' && optimizer.momentum > 0)) {
    throw new ArgumentError('momentumRamp', 'an optimizer made by sgd() with momentum > 0', optimizer.kind);
  }
  checkEarlyStopping(options.earlyStopping);
  if (options.earlyStopping && !options.validation) {
    throw new ArgumentError('earlyStopping', 'a validation set to watch', 'no validation option');
  }
  if (options.seed !== undefined && !(Number.isSafeInteger(options.seed) && options.seed >= 0)) {
    throw new ArgumentError('seed', 'an integer in [0, 2^53)', describe(options.seed));
  }
  if (options.shuffle !== undefined && typeof options.shuffle !== 'boolean') {
    throw new ArgumentError('shuffle', 'a boolean', describe(options.shuffle));
  }
  for (const name of ['onProgress', 'onCheckpoint'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new ArgumentError(name, 'a function', describe(options[name]));
    }
  }
  if (options.pause !== undefined && !(options.pause instanceof PauseController)) {
    throw new ArgumentError('pause', 'a PauseController', describe(options.pause));
  }
  const { signal } = options;
  if (signal !== undefined && !(typeof AbortSignal !== 'undefined' && signal instanceof AbortSignal)) {
    throw new ArgumentError('signal', 'nothing, or an AbortSignal', describe(signal));
  }

  const stepsPerEpoch = Math.floor(data.n / batchSize);
  const totalSteps = stepsPerEpoch * epochs;
  const reportEvery =
    options.reportEvery === undefined ? Math.max(1, Math.round(stepsPerEpoch / 10)) : options.reportEvery;
  if (!Number.isSafeInteger(reportEvery) || reportEvery < 1) {
    throw new ArgumentError('reportEvery', 'an integer ≥ 1', describe(reportEvery));
  }
  const checkpointEvery = options.checkpointEvery === undefined ? stepsPerEpoch : options.checkpointEvery;
  if (!Number.isSafeInteger(checkpointEvery) || checkpointEvery < 1) {
    throw new ArgumentError('checkpointEvery', 'an integer ≥ 1', describe(checkpointEvery));
  }
  const { resume } = options;
  if (resume !== undefined) {
    if (!(Number.isInteger(resume?.epoch) && resume.epoch >= 0 && resume.epoch < epochs)) {
      throw new ArgumentError('resume.epoch', `an integer in [0, ${epochs})`, describe(resume?.epoch));
    }
    if (
      !(Number.isInteger(resume.stepInEpoch) && resume.stepInEpoch >= 0 && resume.stepInEpoch < stepsPerEpoch)
    ) {
      throw new ArgumentError(
        'resume.stepInEpoch',
        `an integer in [0, ${stepsPerEpoch})`,
        describe(resume.stepInEpoch),
      );
    }
    net.restore(resume);
  }
  const seed = options.seed ?? spec.seed;
  const history: EpochRecord[] = [];
  let best: { loss: number; epoch: number; params: Awaited<ReturnType<Net['getParams']>> } | undefined;
  let sinceBest = 0;
  let done = resume ? resume.epoch * stepsPerEpoch + resume.stepInEpoch : 0;
  const started = performance.now();
  await net.takeMetrics(); // start from zero, and resume updates after an earlier non-finite loss

  // Steps since the last report, kept so a non-finite loss can be traced to its step.
  let interval: TrainStepResult[] = [];
  let lr = optimizer.lr;
  let momentum = optimizer.kind === 'sgd' ? optimizer.momentum : 0;

  const report = async (
    phase: 'step' | 'epoch',
    epoch: number,
    validation?: { loss: number; accuracy: number },
  ) => {
    const metrics = await net.takeMetrics();
    if (metrics.nonFiniteSteps > 0) {
      for (const result of interval) {
        if (!Number.isFinite(await result.loss)) throw new NonFiniteLossError(result.step);
      }
    }
    interval = [];
    const seconds = (performance.now() - started) / 1000;
    const samplesPerSecond = (done * batchSize) / seconds;
    const progress: FitProgress = {
      phase,
      epoch: epoch + 1,
      epochs,
      step: done,
      totalSteps,
      loss: metrics.loss,
      accuracy: metrics.accuracy,
      samplesPerSecond,
      etaSeconds: ((totalSteps - done) * batchSize) / samplesPerSecond,
      lr,
      momentum,
      ...(validation ? { validation } : {}),
    };
    options.onProgress?.(progress);
    return metrics;
  };

  let last: FitCheckpoint | undefined = resume;
  const takeCheckpoint = async (epoch: number, stepInEpoch: number) => {
    last = { ...(await net.checkpoint()), epoch, stepInEpoch };
    options.onCheckpoint?.(last);
  };
  const leave = options.pause ? enrol(options.pause) : () => {};
  try {
    if (!last) await takeCheckpoint(0, 0);
    for (let epoch = resume?.epoch ?? 0; epoch < epochs; epoch++) {
      const epochStart = performance.now();
      const order = options.shuffle === false ? null : epochOrder(data.n, seed, epoch);
      let epochLoss = 0;
      let epochCorrect = 0;
      let epochSteps = 0;
      const firstStep = epoch === resume?.epoch ? resume.stepInEpoch : 0;
      // Steps go to the net in runs that end at the next report, checkpoint or epoch end (at most
      // MAX_STEPS_PER_RUN each, one GPU submission): the data stays on the device, and a run uploads
      // only its row indices.
      for (let s = firstStep; s < stepsPerEpoch; ) {
        await yieldToEventLoop();
        if (options.pause) await waitAtPause(options.pause, options.signal);
        if (options.signal?.aborted) return { epochs: history, stopReason: 'aborted', ...bestOf(best) };
        const nextReport = (Math.floor(s / reportEvery) + 1) * reportEvery;
        const nextCheckpoint = (Math.floor(s / checkpointEvery) + 1) * checkpointEvery;
        const end = Math.min(stepsPerEpoch, nextReport, nextCheckpoint, s + MAX_STEPS_PER_RUN);
        const rows = order
          ? order.subarray(s * batchSize, end * batchSize)
          : Uint32Array.from({ length: (end - s) * batchSize }, (_, i) => s * batchSize + i);
        const settings: StepHyperparameters[] = [];
        for (let step = s; step < end; step++) {
          const at = {
            epoch,
            epochs: epoch + step / stepsPerEpoch,
            progress: (done + step - s) / totalSteps,
          };
          lr = scheduledLr(optimizer.lr, options.lrSchedule, at);
          if (options.momentumRamp) momentum = rampedMomentum(options.momentumRamp, at);
          settings.push({ lr, momentum });
        }
        interval.push(...(await net.trainRows(data, rows, settings)));
        done += end - s;
        s = end;
        if (s % checkpointEvery === 0 && s < stepsPerEpoch) await takeCheckpoint(epoch, s);
        if (s % reportEvery === 0 || s === stepsPerEpoch) {
          const metrics = await report('step', epoch);
          epochLoss += metrics.loss * metrics.steps;
          epochCorrect += metrics.accuracy * metrics.examples;
          epochSteps += metrics.steps;
        }
      }
      if (epoch + 1 < epochs) await takeCheckpoint(epoch + 1, 0);
      const validation = options.validation ? await evaluate(net, options.validation) : undefined;
      history.push({
        epoch: epoch + 1,
        trainLoss: epochLoss / epochSteps,
        trainAccuracy: epochCorrect / (epochSteps * batchSize),
        ...(validation ? { validationLoss: validation.loss, validationAccuracy: validation.accuracy } : {}),
        lr,
        momentum,
        seconds: (performance.now() - epochStart) / 1000,
      });
      const record = history[history.length - 1] as EpochRecord;
      options.onProgress?.({
        phase: 'epoch',
        epoch: epoch + 1,
        epochs,
        step: done,
        totalSteps,
        loss: record.trainLoss,
        accuracy: record.trainAccuracy,
        samplesPerSecond: (done * batchSize) / ((performance.now() - started) / 1000),
        etaSeconds:
          ((totalSteps - done) * batchSize) / ((done * batchSize) / ((performance.now() - started) / 1000)),
        lr,
        momentum,
        ...(validation ? { validation } : {}),
      });
      if (validation && options.earlyStopping) {
        const minDelta = options.earlyStopping.minDelta ?? 0;
        if (!best || validation.loss < best.loss - minDelta) {
          best = { loss: validation.loss, epoch: epoch + 1, params: await net.getParams() };
          sinceBest = 0;
        } else if (++sinceBest >= options.earlyStopping.patience) {
          if (options.earlyStopping.restoreBest !== false) net.setParams(best.params);
          return { epochs: history, stopReason: 'early-stopping', bestEpoch: best.epoch };
        }
      }
    }
  } catch (error) {
    if (error instanceof DeviceLostError) error.checkpoint = last;
    throw error;
  } finally {
    leave();
  }
  return { epochs: history, stopReason: 'completed', ...bestOf(best) };
}

/**
 * The options, each read once, and the schedule, ramp, early stopping and resume objects copied: a
 * getter cannot pass the checks and then hand over something else in the middle of training.
 */
function readOnce(given: FitOptions): FitOptions {
  const copy = (value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...value } : value;
  const { lrSchedule, momentumRamp, earlyStopping, resume, ...rest } = given;
  const nested = { lrSchedule, momentumRamp, earlyStopping, resume };
  return {
    ...rest,
    ...Object.fromEntries(Object.entries(nested).map(([k, v]) => [k, copy(v)])),
  } as FitOptions;
}

function checkEarlyStopping(earlyStopping: FitOptions['earlyStopping']): void {
  if (earlyStopping === undefined) return;
  if (typeof earlyStopping !== 'object' || earlyStopping === null) {
    throw new ArgumentError('earlyStopping', 'an object with patience', describe(earlyStopping));
  }
  const { patience, minDelta, restoreBest } = earlyStopping;
  if (!(Number.isSafeInteger(patience) && patience >= 1)) {
    throw new ArgumentError('earlyStopping.patience', 'an integer ≥ 1', describe(patience));
  }
  if (minDelta !== undefined && !(Number.isFinite(minDelta) && minDelta >= 0)) {
    throw new ArgumentError('earlyStopping.minDelta', 'a finite number ≥ 0', describe(minDelta));
  }
  if (restoreBest !== undefined && typeof restoreBest !== 'boolean') {
    throw new ArgumentError('earlyStopping.restoreBest', 'a boolean', describe(restoreBest));
  }
}

function bestOf(best: { epoch: number } | undefined): { bestEpoch?: number } {
  return best ? { bestEpoch: best.epoch } : {};
}
