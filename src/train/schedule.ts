/**
 * Learning-rate schedules and the dropout paper's momentum ramp, as plain data a `fit` call takes.
 * Every schedule is a pure function of where training is (epoch, step), so a run resumed at step t
 * uses exactly the values an uninterrupted run would have.
 */
import { ArgumentError, describe } from '../errors.js';

/** A learning-rate schedule, applied to the optimizer's `lr` at every step. */
export type LrSchedule =
  /** lr · factor^floor(epoch / every): e.g. halve every 10 epochs. */
  | { readonly kind: 'step'; readonly every: number; readonly factor: number }
  /** lr · gamma^epoch. */
  | { readonly kind: 'exponential'; readonly gamma: number }
  /** From lr down to `min` (default 0) along a half cosine over the whole run, step by step. */
  | { readonly kind: 'cosine'; readonly min?: number };

/** Momentum rising linearly from `from` to `to` over the first `epochs` epochs, then held (Srivastava et al. 2014). */
export interface MomentumRamp {
  readonly from: number;
  readonly to: number;
  readonly epochs: number;
}

/** Where training is: `epoch` counts from 0; `progress` ∈ [0, 1] is the fraction of the whole run done. */
export interface Position {
  readonly epoch: number;
  /** Epochs done, fractional: epoch + step-in-epoch / steps-per-epoch. */
  readonly epochs: number;
  readonly progress: number;
}

export function scheduledLr(base: number, schedule: LrSchedule | undefined, at: Position): number {
  if (!schedule) return base;
  switch (schedule.kind) {
    case 'step':
      return base * schedule.factor ** Math.floor(at.epoch / schedule.every);
    case 'exponential':
      return base * schedule.gamma ** at.epoch;
    case 'cosine': {
      const min = schedule.min ?? 0;
      return min + ((base - min) * (1 + Math.cos(Math.PI * at.progress))) / 2;
    }
    default:
      return schedule satisfies never;
  }
}

export function rampedMomentum(ramp: MomentumRamp, at: Position): number {
  return ramp.from + (ramp.to - ramp.from) * Math.min(1, at.epochs / ramp.epochs);
}

/** A finite number (not a string, bigint or anything else a comparison would coerce) that `ok` accepts. */
function isNumber(value: unknown, ok: (v: number) => boolean): boolean {
  return typeof value === 'number' && Number.isFinite(value) && ok(value);
}

/** `lrSchedule` is left out or a schedule of finite numbers in range. @throws ArgumentError naming the field. */
export function checkSchedule(schedule: LrSchedule | undefined, lr: number): void {
  if (schedule === undefined) return;
  if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule)) {
    throw new ArgumentError(
      'lrSchedule',
      "an object like { kind: 'cosine' }, or nothing",
      describe(schedule),
    );
  }
  const bad = (field: string, expected: string, got: unknown) =>
    new ArgumentError(`lrSchedule.${field}`, expected, describe(got));
  switch (schedule.kind) {
    case 'step':
      if (!isNumber(schedule.every, (v) => Number.isInteger(v) && v >= 1))
        throw bad('every', 'an integer ≥ 1', schedule.every);
      if (!isNumber(schedule.factor, (v) => v > 0 && v <= 1))
        throw bad('factor', 'a number in (0, 1]', schedule.factor);
      return;
    case 'exponential':
      if (!isNumber(schedule.gamma, (v) => v > 0 && v <= 1))
        throw bad('gamma', 'a number in (0, 1]', schedule.gamma);
      return;
    case 'cosine':
      // The schedule goes from lr down to min: a min above lr would make it climb (and past 2^53·lr
      // its arithmetic rounds the learning rate to 0).
      if (schedule.min !== undefined && !isNumber(schedule.min, (v) => v >= 0 && v <= lr))
        throw bad('min', `a number from 0 to the optimizer's lr (${lr}), or nothing`, schedule.min);
      return;
    default:
      throw new ArgumentError(
        'lrSchedule.kind',
        "'step', 'exponential' or 'cosine'",
        describe((schedule as { kind?: unknown }).kind),
      );
  }
}

/** `momentumRamp` is left out or a ramp of finite numbers in range. @throws ArgumentError naming the field. */
export function checkRamp(ramp: MomentumRamp | undefined): void {
  if (ramp === undefined) return;
  if (typeof ramp !== 'object' || ramp === null || Array.isArray(ramp)) {
    throw new ArgumentError('momentumRamp', 'an object { from, to, epochs }, or nothing', describe(ramp));
  }
  for (const field of ['from', 'to'] as const) {
    const value = ramp[field];
    if (!isNumber(value, (v) => v >= 0 && v < 1))
      throw new ArgumentError(`momentumRamp.${field}`, 'a number in [0, 1)', describe(value));
  }
  if (!isNumber(ramp.epochs, (v) => v > 0))
    throw new ArgumentError('momentumRamp.epochs', 'a finite number > 0', describe(ramp.epochs));
}
