/**
 * The library's one validator for tensors handed in by callers: lengths, shapes, finiteness (as f32:
 * a double like 1e39 is finite but becomes Infinity in a Float32Array) and integer labels. Every check
 * throws `ArgumentError` naming the argument (and the first bad index) before any work starts.
 */
import { ArgumentError, checkNotRevoked, describe } from './errors.js';
import type { Optimizer } from './nn/optim.js';

/** Whether two shapes are the same list of dimensions. */
export function sameShape(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return Array.isArray(a) && a.length === b.length && b.every((d, i) => a[i] === d);
}

/** `data` holds exactly `length` numbers, each finite as an f32. */
export function checkFinite(argument: string, data: ArrayLike<number> | undefined, length: number): void {
  checkedF32(argument, data, length, false);
}

/**
 * A copy of `data` as f32, each value read once and checked as it is copied: a getter cannot pass the
 * check and then hand over something else, and a caller's later change to its array cannot reach a
 * queued call.
 */
export function toCheckedF32(
  argument: string,
  data: ArrayLike<number> | undefined,
  length: number,
): Float32Array {
  return checkedF32(argument, data, length, true) as Float32Array;
}

function checkedF32(
  argument: string,
  data: ArrayLike<number> | undefined,
  length: number,
  copy: boolean,
): Float32Array | undefined {
  checkNotRevoked(argument, data);
  if (!data || typeof data !== 'object' || typeof data.length !== 'number' || data.length !== length) {
    throw new ArgumentError(argument, `${length} numbers`, describe(data));
  }
  if (data instanceof Float32Array) {
    // Its values are f32 already and it has no getters: check, then copy it whole.
    for (let i = 0; i < length; i++) {
      if (!Number.isFinite(data[i]))
        throw new ArgumentError(`${argument}[${i}]`, 'a finite number', describe(data[i]));
    }
    return copy ? data.slice() : undefined;
  }
  const out = copy ? new Float32Array(length) : undefined;
  for (let i = 0; i < length; i++) {
    const value = data[i];
    // Anything but a Float32Array is rounded to f32 where it is used: 1e39 would become Infinity.
    if (typeof value !== 'number' || !Number.isFinite(Math.fround(value))) {
      const expected =
        typeof value === 'number' && Number.isFinite(value)
          ? 'a number within f32 range (|x| < 3.4e38)'
          : 'a finite number';
      throw new ArgumentError(`${argument}[${i}]`, expected, describe(value));
    }
    if (out) out[i] = value;
  }
  return out;
}

/** `x`: rows × width finite values (exactly that many when `exact`), as a Float32Array copy. */
export function checkInputs(
  argument: string,
  x: ArrayLike<number>,
  rows: number,
  width: number,
  exact: boolean,
): Float32Array {
  checkNotRevoked(argument, x);
  if (exact && x?.length !== rows * width) {
    throw new ArgumentError(argument, `${rows * width} values (${rows} rows × ${width} inputs)`, describe(x));
  }
  return toCheckedF32(argument, x, rows * width);
}

/** `y`: `rows` integer labels in [0, classes), as a Uint32Array. */
export function checkLabels(
  argument: string,
  y: ArrayLike<number>,
  rows: number,
  classes: number,
): Uint32Array {
  checkNotRevoked(argument, y);
  if (y?.length !== rows) throw new ArgumentError(argument, `${rows} labels`, describe(y));
  const labels = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) {
    const label = y[i];
    if (!Number.isInteger(label) || (label as number) < 0 || (label as number) >= classes) {
      throw new ArgumentError(`${argument}[${i}]`, `an integer class in [0, ${classes})`, describe(label));
    }
    labels[i] = label as number;
  }
  return labels;
}

/** `given` is a `{ shape, data }` tensor of `shape` with finite f32 values; returns its data as f32. */
export function checkTensor(
  argument: string,
  given: { shape?: readonly number[]; data?: ArrayLike<number> } | undefined,
  shape: readonly number[],
): Float32Array {
  checkNotRevoked(argument, given);
  if (typeof given !== 'object' || given === null) {
    throw new ArgumentError(
      argument,
      `a tensor of shape [${shape}]`,
      given === undefined ? 'nothing' : describe(given),
    );
  }
  // Read once: a getter must not be able to pass the check and then hand over something else.
  const { shape: givenShape, data } = given;
  if (!sameShape(givenShape, shape)) {
    throw new ArgumentError(
      `${argument}.shape`,
      `[${shape}]`,
      Array.isArray(givenShape) ? `[${givenShape}]` : describe(givenShape),
    );
  }
  return toCheckedF32(
    `${argument}.data`,
    data,
    shape.reduce((a, b) => a * b, 1),
  );
}

/** `rows`: a non-empty multiple of `batchSize` integer row indices in [0, n), as a Uint32Array. */
export function checkRows(rows: ArrayLike<number>, batchSize: number, n: number): Uint32Array {
  checkNotRevoked('rows', rows);
  const steps = rows?.length / batchSize;
  if (!(Number.isInteger(steps) && steps >= 1)) {
    throw new ArgumentError(
      'rows',
      `a non-empty multiple of batchSize = ${batchSize} row indices`,
      describe(rows),
    );
  }
  const indices = new Uint32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!(Number.isInteger(row) && (row as number) >= 0 && (row as number) < n)) {
      throw new ArgumentError(`rows[${i}]`, `an integer row index in [0, ${n})`, describe(row));
    }
    indices[i] = row as number;
  }
  return indices;
}

/**
 * The checked lr and momentum of one step of `optimizer`; `prefix` names where they came from ('' for
 * a call's own `hyperparameters`, `hyperparameters[s].` for step s of a list). Each field is left out
 * (undefined: the optimizer's own value) or a number in range: nothing is coerced. A momentum other
 * than 0 needs an optimizer with momentum state (sgd with momentum > 0): elsewhere it would be ignored.
 */
export function checkHyperparameters(
  optimizer: Optimizer,
  given: { lr?: number; momentum?: number } | undefined,
  prefix: string,
): { lr: number; momentum: number } {
  checkNotRevoked(prefix === '' ? 'hyperparameters' : prefix.slice(0, -1), given);
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    throw new ArgumentError(
      prefix === '' ? 'hyperparameters' : prefix.slice(0, -1),
      'an object like { lr, momentum }, or nothing',
      describe(given),
    );
  }
  // Each field read once: a getter cannot pass the check and then hand over something else.
  const givenLr = given?.lr;
  const givenMomentum = given?.momentum;
  const lr = givenLr === undefined ? optimizer.lr : givenLr;
  // Finite as an f32 too: the kernels read it as one (1e39 would be Infinity there).
  if (!(typeof lr === 'number' && Number.isFinite(Math.fround(lr)) && lr > 0)) {
    throw new ArgumentError(`${prefix}lr`, 'a number > 0 within f32 range (< 3.4e38)', describe(lr));
  }
  const own = optimizer.kind === 'sgd' ? optimizer.momentum : 0;
  const momentum = givenMomentum === undefined ? own : givenMomentum;
  if (!(typeof momentum === 'number' && momentum >= 0 && momentum < 1)) {
    throw new ArgumentError(`${prefix}momentum`, 'a number in [0, 1)', describe(momentum));
  }
  if (momentum !== 0 && own === 0) {
    throw new ArgumentError(
      `${prefix}momentum`,
      `0 or nothing: this net's optimizer (${optimizer.kind} without momentum) has no momentum to set`,
      describe(momentum),
    );
  }
  return { lr, momentum };
}
