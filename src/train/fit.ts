/**
 * `fit`: epochs of minibatch training with a seeded shuffle, schedules, validation, progress,
 * cancellation and early stopping. Loss and accuracy accumulate on the device (the loss kernel) and are
 * read once per reporting interval, not once per step.
 *
 * Reports overlap training: at a report inside an epoch, `fit` queues the metrics read, then the next
 * run of steps, and only then waits for the metrics and calls onProgress, so the device trains while
 * they come back (on WebGPU the readback would otherwise leave the GPU idle between runs). So a pause
 * or abort made in onProgress takes effect after that next run, the one in flight, on every backend;
 * it is reported before `fit` pauses or returns. A non-finite loss is seen one run late too: the
 * metrics' non-finite count is kept across that read, so the run in flight makes no update either.
 * Epoch ends and checkpoints are not overlapped: validation, early stopping and checkpoints see the
 * state there. The parameters are those of reports read one by one, bit for bit.
 *
 * Batches: each epoch visits the examples in the order of `epochOrder(n, seed, epoch)` and takes
 * floor(n / batchSize) full batches; the last n mod batchSize examples of that order are left out of
 * that epoch (a compiled net has one batch size). Shuffling makes the left-out examples differ from
 * epoch to epoch.
 */

import type { Dataset } from '../data/dataset.js';
import { ArgumentError, DeviceLostError, DisposedError, describe, NonFiniteLossError } from '../errors.js';
import { Net, takeReportMetrics } from '../net/net.js';
import type { StepHyperparameters, TrainingMetrics, TrainStepResult } from '../net/types.js';
import { evaluate } from './evaluate.js';
import { checkFitOptions, type FitCheckpoint, type FitOptions } from './fit-options.js';

export type { FitCheckpoint, FitOptions } from './fit-options.js';

import { enrol, waitAtPause, yieldToEventLoop } from './pause.js';
import { rampedMomentum, scheduledLr } from './schedule.js';
import { epochOrder } from './shuffle.js';

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

/**
 * Most steps of one `fit` run (one GPU submission): pause and abort take effect between runs, so this
 * bounds how long either waits (trainRows itself takes up to MAX_STEPS_PER_RUN = 1,024 per submission).
 */
export const FIT_STEPS_PER_RUN = 32;

/** The fit running on each net: a second fit on the same net waits for it (see `fit`). */
const fitting = new WeakMap<Net, Promise<unknown>>();

/**
 * Trains `net` on `data` for `options.epochs` epochs (see the module comment for how batches are formed).
 * Resolves with the history; stops early on `signal` or early stopping; throws `NonFiniteLossError`
 * at a NaN/Infinity loss (the parameters are those from before that step; the step counter has moved
 * past the run in flight) and `DeviceLostError` (with a checkpoint) when the GPU device is lost. Two fits
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
  const { options, stepsPerEpoch, totalSteps, reportEvery, checkpointEvery } = checkFitOptions(
    net,
    data,
    given,
  );
  const { batchSize, spec, optimizer } = net.info;
  const { epochs, resume } = options;
  if (resume) net.restore(resume);
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

  /**
   * Asks for the metrics of the steps since the last report now; the function returned reports them
   * (onProgress) once they are back. What it reports is fixed here: the loop may go on in between.
   */
  const report = (epoch: number): (() => Promise<TrainingMetrics>) => {
    const steps = interval;
    interval = [];
    const step = done;
    const at = { lr, momentum };
    const taking = takeReportMetrics(net);
    taking.catch(() => {}); // awaited when reported, unless training fails before that
    return async () => {
      const metrics = await taking;
      if (metrics.nonFiniteSteps > 0) {
        for (const result of steps) {
          if (Number.isFinite(await result.loss)) continue;
          // The count was kept so that the run queued after this interval made no update; reset now,
          // as a plain takeMetrics would have, so that the net's updates resume on its next step.
          await net.takeMetrics();
          throw new NonFiniteLossError(result.step);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      const samplesPerSecond = (step * batchSize) / seconds;
      options.onProgress?.({
        phase: 'step',
        epoch: epoch + 1,
        epochs,
        step,
        totalSteps,
        loss: metrics.loss,
        accuracy: metrics.accuracy,
        samplesPerSecond,
        etaSeconds: ((totalSteps - step) * batchSize) / samplesPerSecond,
        ...at,
      });
      return metrics;
    };
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
      const add = (metrics: TrainingMetrics) => {
        epochLoss += metrics.loss * metrics.steps;
        epochCorrect += metrics.accuracy * metrics.examples;
        epochSteps += metrics.steps;
      };
      // The report of the last run, made once the next run is queued (always then, on every backend,
      // so that a pause or abort from onProgress takes effect at the same step everywhere): the device
      // trains while the metrics are read back.
      let pending: (() => Promise<void>) | undefined;
      const settle = async () => {
        const publish = pending;
        pending = undefined;
        await publish?.();
      };
      // Steps go to the net in runs that end at the next report, checkpoint or epoch end (at most
      // FIT_STEPS_PER_RUN each, one GPU submission): the data stays on the device, and a run uploads
      // only its row indices.
      for (let s = firstStep; s < stepsPerEpoch; ) {
        await yieldToEventLoop();
        // onProgress covers every step trained, so a pause or abort first waits for the report in flight.
        if (options.pause?.paused || options.signal?.aborted) await settle();
        if (options.pause) await waitAtPause(options.pause, options.signal);
        if (options.signal?.aborted) return { epochs: history, stopReason: 'aborted', ...bestOf(best) };
        const nextReport = (Math.floor(s / reportEvery) + 1) * reportEvery;
        const nextCheckpoint = (Math.floor(s / checkpointEvery) + 1) * checkpointEvery;
        const end = Math.min(stepsPerEpoch, nextReport, nextCheckpoint, s + FIT_STEPS_PER_RUN);
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
        const results = await net.trainRows(data, rows, settings);
        await settle();
        interval.push(...results);
        done += end - s;
        s = end;
        const checkpoint = s % checkpointEvery === 0 && s < stepsPerEpoch;
        if (checkpoint) await takeCheckpoint(epoch, s);
        if (s % reportEvery === 0 || s === stepsPerEpoch) {
          const reporting = report(epoch);
          const publish = async () => add(await reporting());
          // Nothing is queued past an epoch's end or a checkpoint before its report is in: validation,
          // early stopping and the checkpoint's successors depend on the state there.
          if (checkpoint || s === stepsPerEpoch) await publish();
          else pending = publish;
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

function bestOf(best: { epoch: number } | undefined): { bestEpoch?: number } {
  return best ? { bestEpoch: best.epoch } : {};
}
