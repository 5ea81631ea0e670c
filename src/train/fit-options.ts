/**
 * The checks of `fit`'s arguments, each read once, before anything trains: every bad option is an
 * ArgumentError naming it, thrown before the first step.
 */
import { checkDataset, checkDatasetValues, type Dataset } from '../data/dataset.js';
import { ArgumentError, checkNotRevoked, describe } from '../errors.js';
import type { Net } from '../net/net.js';
import type { NetCheckpoint } from '../net/types.js';
import type { FitProgress } from './fit.js';
import { PauseController } from './pause.js';
import { checkRamp, checkSchedule, type LrSchedule, type MomentumRamp } from './schedule.js';

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
  /**
   * Called every `reportEvery` steps and after every epoch. A step report comes once the next run of
   * steps is queued (the device trains while its metrics are read back), so a pause or abort made in it
   * takes effect after that run.
   */
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

/** The options checked, with the step counts they imply. Throws before anything changes. */
export function checkFitOptions(
  net: Net,
  data: Dataset,
  given: FitOptions,
): {
  options: FitOptions;
  stepsPerEpoch: number;
  totalSteps: number;
  reportEvery: number;
  checkpointEvery: number;
} {
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
  }
  return { options, stepsPerEpoch, totalSteps, reportEvery, checkpointEvery };
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
