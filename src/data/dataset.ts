/**
 * Datasets: labelled rows of features, in the layout `Net.trainStep` takes, made from the user's own
 * arrays (`dataset`) or by the MNIST loaders (mnist.ts), and checked against a model's sizes.
 */
import { checkFinite, toCheckedF32 } from '../check.js';
import { ArgumentError, checkNotRevoked, describe } from '../errors.js';

/** The most rows `dataset` takes: a typed array holds at most 2^31 − 1 bytes on some engines. */
const MAX_DATASET_ROWS = 2 ** 31 - 1;

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
 * every label is an integer in [0, classes). Arrays of the right type are used as they are, not copied;
 * anything else is copied, each value read once (a getter cannot pass the check and then change).
 *
 * @throws ArgumentError naming `features`, `classes`, `x`, `x[i]`, `y` or `y[i]`.
 */
export function dataset(
  x: Float32Array | ArrayLike<number>,
  y: Uint8Array | ArrayLike<number>,
  features: number,
  classes: number,
): Dataset {
  if (!Number.isSafeInteger(features) || features < 1) {
    throw new ArgumentError('features', 'an integer ≥ 1', describe(features));
  }
  // Labels are stored as bytes.
  if (!Number.isInteger(classes) || classes < 2 || classes > 256) {
    throw new ArgumentError('classes', 'an integer from 2 to 256', describe(classes));
  }
  checkNotRevoked('x', x);
  checkNotRevoked('y', y);
  const xLength = arrayLength(x);
  if (xLength === undefined) throw new ArgumentError('x', 'a Float32Array or array of numbers', describe(x));
  const n = arrayLength(y);
  if (n === undefined) throw new ArgumentError('y', 'a Uint8Array or array of labels', describe(y));
  if (xLength !== n * features) {
    throw new ArgumentError(
      'x',
      `${n} × ${features} = ${n * features} values (one row per label)`,
      describe(x),
    );
  }
  if (n > MAX_DATASET_ROWS) {
    throw new ArgumentError('y', `at most ${MAX_DATASET_ROWS} labels (2^31 − 1)`, `${n} labels`);
  }
  const labels = y instanceof Uint8Array ? y : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = y[i] as number;
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new ArgumentError(`y[${i}]`, `an integer in [0, ${classes})`, describe(label));
    }
    labels[i] = label;
  }
  return { x: toF32('x', x, xLength), y: labels, n, features, classes };
}

/**
 * Throws ArgumentError naming `argument` unless `data` is a Dataset that a model with these layer
 * sizes can train on: at least one row, features = its inputs, classes ≤ its outputs, x and y of n rows.
 * Reads each property once and returns what it read, so a getter cannot pass the check and then change.
 */
export function checkDataset(argument: string, data: Dataset, sizes: readonly number[]): Dataset {
  checkNotRevoked(argument, data);
  if (typeof data !== 'object' || data === null) {
    throw new ArgumentError(argument, 'a Dataset (see dataset())', describe(data));
  }
  const { x, y, n, features, classes, bytes } = data;
  if (!(x instanceof Float32Array) || !(y instanceof Uint8Array)) {
    throw new ArgumentError(
      argument,
      'a Dataset (see dataset()): x a Float32Array, y a Uint8Array',
      describe(data),
    );
  }
  const inputs = sizes[0] as number;
  const outputs = sizes[sizes.length - 1] as number;
  if (features !== inputs) {
    throw new ArgumentError(`${argument}.features`, `${inputs} (the model's inputs)`, describe(features));
  }
  if (!Number.isInteger(n) || n < 1) {
    throw new ArgumentError(
      `${argument}.n`,
      'an integer ≥ 1 (a Dataset of at least one example)',
      describe(n),
    );
  }
  if (x.length !== n * inputs || y.length !== n) {
    throw new ArgumentError(
      argument,
      `x of ${n} × ${inputs} values and y of ${n} labels`,
      `x ${x.length}, y ${y.length}`,
    );
  }
  if (!Number.isInteger(classes) || classes < 1 || classes > outputs) {
    throw new ArgumentError(
      `${argument}.classes`,
      `an integer from 1 to ${outputs} (the model's outputs)`,
      describe(classes),
    );
  }
  return bytes === undefined ? { x, y, n, features, classes } : { x, y, n, features, classes, bytes };
}

/**
 * The values of a checked Dataset (see checkDataset): every label below `data.classes` and every x
 * finite. One pass over the set; throws ArgumentError naming `argument.y[i]` or `argument.x[i]`.
 */
export function checkDatasetValues(argument: string, data: Dataset): void {
  const { x, y, classes } = data;
  for (let i = 0; i < y.length; i++) {
    if ((y[i] as number) >= classes) {
      throw new ArgumentError(`${argument}.y[${i}]`, `a label in [0, ${classes})`, describe(y[i]));
    }
  }
  checkFinite(`${argument}.x`, x, x.length);
}

/** The length of an array or array-like, read once; undefined when `value` is neither. */
function arrayLength(value: unknown): number | undefined {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return (value as unknown as ArrayLike<number>).length;
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'object' && value !== null) {
    const { length } = value as { length?: unknown };
    if (Number.isSafeInteger(length) && (length as number) >= 0) return length as number;
  }
  return undefined;
}

/** `values` as a Float32Array (itself if it is one), each value read once and checked finite as an f32. */
function toF32(argument: string, values: ArrayLike<number>, length: number): Float32Array {
  if (values instanceof Float32Array) {
    checkFinite(argument, values, length);
    return values;
  }
  return toCheckedF32(argument, values, length);
}
