/**
 * Datasets: labelled rows of features, in the layout `Net.trainStep` takes, made from the user's own
 * arrays (`dataset`) or by the MNIST loaders (mnist.ts), and checked against a model's sizes.
 */
import { checkFinite } from '../check.js';
import { ArgumentError, describe } from '../errors.js';

/** Labelled examples: row `i` of `x` has label `y[i]`. */
export interface Dataset {
  /** [n, features] row-major. */
  readonly x: Float32Array;
  /** [n], integers in [0, classes). */
  readonly y: Uint8Array;
  readonly n: number;
  readonly features: number;
  readonly classes: number;
  /**
   * Where x came from, when every value is one of 256: x[i] === table[pixels[i]]. Lets a GPU keep the
   * set as bytes, a quarter of x's size (MNIST from `loadMnist` has it; `dataset()` does not).
   */
  readonly bytes?: { readonly pixels: Uint8Array; readonly table: Float32Array };
}

/**
 * A dataset from the user's own arrays, checked: `x` holds `y.length · features` finite numbers and
 * every label is an integer in [0, classes). Arrays of the right type are used as they are, not copied.
 *
 * @throws ArgumentError naming `features`, `classes`, `x`, `x[i]`, `y` or `y[i]`.
 */
export function dataset(
  x: Float32Array | ArrayLike<number>,
  y: Uint8Array | ArrayLike<number>,
  features: number,
  classes: number,
): Dataset {
  if (!Number.isInteger(features) || features < 1) {
    throw new ArgumentError('features', 'an integer ≥ 1', describe(features));
  }
  // Labels are stored as bytes.
  if (!Number.isInteger(classes) || classes < 2 || classes > 256) {
    throw new ArgumentError('classes', 'an integer from 2 to 256', describe(classes));
  }
  if (!isArrayLike(x)) throw new ArgumentError('x', 'a Float32Array or array of numbers', describe(x));
  if (!isArrayLike(y)) throw new ArgumentError('y', 'a Uint8Array or array of labels', describe(y));
  const n = y.length;
  if (x.length !== n * features) {
    throw new ArgumentError(
      'x',
      `${n} × ${features} = ${n * features} values (one row per label)`,
      describe(x),
    );
  }
  for (let i = 0; i < n; i++) {
    const label = y[i] as number;
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new ArgumentError(`y[${i}]`, `an integer in [0, ${classes})`, describe(label));
    }
  }
  checkFinite('x', x, x.length);
  const rows = x instanceof Float32Array ? x : Float32Array.from(x);
  return { x: rows, y: y instanceof Uint8Array ? y : Uint8Array.from(y), n, features, classes };
}

/**
 * Throws ArgumentError naming `argument` unless `data` is a Dataset that a model with these layer
 * sizes can train on: features = its inputs, classes ≤ its outputs, x and y of n rows.
 */
export function checkDataset(argument: string, data: Dataset, sizes: readonly number[]): void {
  if (
    typeof data !== 'object' ||
    data === null ||
    !(data.x instanceof Float32Array) ||
    !(data.y instanceof Uint8Array)
  ) {
    throw new ArgumentError(argument, 'a Dataset (see dataset())', describe(data));
  }
  const inputs = sizes[0] as number;
  const classes = sizes[sizes.length - 1] as number;
  if (data.features !== inputs)
    throw new ArgumentError(
      `${argument}.features`,
      `${inputs} (the model's inputs)`,
      describe(data.features),
    );
  if (data.x.length !== data.n * inputs || data.y.length !== data.n) {
    throw new ArgumentError(
      argument,
      `x of ${data.n} × ${inputs} values and y of ${data.n} labels`,
      `x ${data.x.length}, y ${data.y.length}`,
    );
  }
  if (data.classes > classes)
    throw new ArgumentError(
      `${argument}.classes`,
      `at most ${classes} (the model's outputs)`,
      describe(data.classes),
    );
}

function isArrayLike(value: unknown): value is ArrayLike<number> {
  return (
    ArrayBuffer.isView(value) ||
    Array.isArray(value) ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { length?: unknown }).length === 'number')
  );
}
