/**
 * The control panel's form, read into one checked run configuration. A bad field is reported by name
 * next to the Start button; the library checks everything again (and would say the same).
 */
import { adam, type HiddenActivation, type MlpSpec, mlp, sgd } from '../src/index.js';
import { TEST_SIZE, TRAIN_SIZE } from './data.js';
import type { RunSettings } from './protocol.js';

/** A run as the form describes it: the worker's settings, and whether it is the comparison. */
export interface RunConfig extends Omit<RunSettings, 'evaluateTrain'> {
  readonly compare: boolean;
}

/** A field that does not hold what it should; `field` is the input's name. */
export class FieldError extends Error {
  override name = 'FieldError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Settings for "dropout vs no dropout": a small subset and enough epochs to overfit it. */
export const COMPARE_PRESET = { trainSize: 1000, epochs: 40 } as const;
export const SINGLE_PRESET = { trainSize: 10_000, epochs: 5 } as const;

export function readConfig(form: HTMLFormElement): RunConfig {
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? '').trim();
  const number = (name: string, label: string, ok: (v: number) => boolean, expected: string) => {
    const value = Number(text(name));
    if (text(name) === '' || !Number.isFinite(value) || !ok(value)) {
      throw new FieldError(name, `${label}: expected ${expected}, got "${text(name)}"`);
    }
    return value;
  };
  const integer = (name: string, label: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
    number(
      name,
      label,
      (v) => Number.isInteger(v) && v >= min && v <= max,
      `an integer from ${min} to ${max}`,
    );
  const probability = (name: string, label: string) =>
    number(name, label, (v) => v > 0 && v <= 1, 'a keep probability in (0, 1]');

  const hiddenText = text('hidden');
  const hidden = hiddenText === '' ? [] : hiddenText.split(/[\s,]+/).map(Number);
  if (!hidden.every((h) => Number.isInteger(h) && h >= 1 && h <= 8192)) {
    throw new FieldError(
      'hidden',
      `Hidden sizes: expected integers from 1 to 8192, e.g. "256, 256"; got "${hiddenText}"`,
    );
  }
  const activation = text('activation') as HiddenActivation;
  const keepInput = probability('keepInput', 'Keep probability (input)');
  const keepHidden = probability('keepHidden', 'Keep probability (hidden)');
  const seed = integer('seed', 'Seed', 0, 2 ** 32 - 1);
  const lr = number('lr', 'Learning rate', (v) => v > 0 && v <= 10, 'a number in (0, 10]');
  const optimizer =
    text('optimizer') === 'adam'
      ? adam({ lr })
      : sgd({ lr, momentum: number('momentum', 'Momentum', (v) => v >= 0 && v < 1, 'a number in [0, 1)') });
  const maxNorm =
    text('maxNorm') === ''
      ? undefined
      : number('maxNorm', 'Max-norm', (v) => v > 0, 'a number > 0, or empty');
  const trainSize = integer('trainSize', 'Training subset', 1, TRAIN_SIZE);
  const batchSize = integer('batchSize', 'Batch size', 1, trainSize);
  const compare = text('mode') === 'compare';
  const sizes = [784, ...hidden, 10];
  const spec = (input: number, hiddenKeep: number): MlpSpec =>
    mlp({ sizes, activation, keepProb: { input, hidden: hiddenKeep }, seed });
  const withDropout = spec(keepInput, keepHidden);
  return {
    compare,
    backend: (['cpu', 'wasm'] as const).find((kind) => kind === text('backend')) ?? 'webgpu',
    // Same sizes, activation and seed, hence the same initial weights: only dropout differs.
    members: compare
      ? [
          { label: 'dropout', spec: withDropout },
          { label: 'no dropout', spec: spec(1, 1) },
        ]
      : [{ label: 'model', spec: withDropout }],
    batchSize,
    optimizer,
    maxNorm,
    epochs: integer('epochs', 'Epochs', 1, 10_000),
    seed,
    trainSize,
    testSize: integer('testSize', 'Test examples', 1, TEST_SIZE),
  };
}

/** Puts a loaded model's spec into the form (so Start trains that architecture again). */
export function writeSpec(form: HTMLFormElement, spec: MlpSpec): void {
  const set = (name: string, value: string) => {
    const input = form.elements.namedItem(name);
    if (input instanceof HTMLInputElement || input instanceof HTMLSelectElement) input.value = value;
  };
  set('hidden', spec.sizes.slice(1, -1).join(', '));
  set('activation', spec.activation);
  set('keepInput', String(spec.keepProb[0] ?? 1));
  set('keepHidden', String(spec.keepProb[1] ?? 1));
  set('seed', String(spec.seed));
}
