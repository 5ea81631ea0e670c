/**
 * A 3-class toy problem: three interleaved spiral arms in 2-D (the classic CS231n example), with
 * Philox noise so a seed fixes the data. Not linearly separable: a net must learn it.
 */
import { ArgumentError, describe } from '../errors.js';
import { philox4x32 } from '../rng/philox.js';
import type { Dataset } from './dataset.js';

/** x [n, 2], y [n] in {0, 1, 2}. */
export type ToyData = Dataset;

/** The most points per arm `spirals` makes (3 million points in all, 24 MB of features). */
export const MAX_SPIRAL_POINTS = 1_000_000;

/**
 * `pointsPerClass` (an integer from 1 to MAX_SPIRAL_POINTS) points on each of three arms; `seed` (an
 * integer in [0, 2^32), default 0) fixes the noise. Throws ArgumentError naming either.
 */
export function spirals(pointsPerClass: number, seed = 0): ToyData {
  if (!(Number.isInteger(pointsPerClass) && pointsPerClass >= 1 && pointsPerClass <= MAX_SPIRAL_POINTS)) {
    throw new ArgumentError(
      'pointsPerClass',
      `an integer from 1 to ${MAX_SPIRAL_POINTS}`,
      describe(pointsPerClass),
    );
  }
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) {
    throw new ArgumentError('seed', 'an integer in [0, 2^32)', describe(seed));
  }
  const n = 3 * pointsPerClass;
  const x = new Float32Array(n * 2);
  const y = new Uint8Array(n);
  for (let c = 0; c < 3; c++) {
    for (let j = 0; j < pointsPerClass; j++) {
      const i = c * pointsPerClass + j;
      const radius = j / Math.max(1, pointsPerClass - 1);
      const noise = ((philox4x32([i, 0, 0, 0], [seed, 0x70f])[0] as number) / 2 ** 32 - 0.5) * 0.4;
      const angle = c * ((2 * Math.PI) / 3) + radius * 3 + noise;
      x[2 * i] = radius * Math.sin(angle);
      x[2 * i + 1] = radius * Math.cos(angle);
      y[i] = c;
    }
  }
  return { x, y, n, features: 2, classes: 3 };
}

/** The subset of `Net` the toy loop needs. */
interface Trainable {
  readonly info: { readonly batchSize: number };
  trainStep(x: ArrayLike<number>, y: ArrayLike<number>): Promise<{ readonly loss: Promise<number> }>;
}

/**
 * One epoch over `data` in a seeded order (Fisher–Yates driven by Philox words of [epoch, i, 0, 2]),
 * dropping the last partial batch. Returns the mean training loss (with dropout) of its steps.
 */
export async function trainToyEpoch(net: Trainable, data: ToyData, epoch: number, seed = 0): Promise<number> {
  const { batchSize } = net.info;
  const order = Array.from({ length: data.n }, (_, i) => i);
  for (let i = data.n - 1; i > 0; i--) {
    const j = Math.floor(((philox4x32([epoch, i, 0, 2], [seed, 0x70f])[0] as number) / 2 ** 32) * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const steps = Math.floor(data.n / batchSize);
  const x = new Float32Array(batchSize * 2);
  const y = new Uint8Array(batchSize);
  let total = 0;
  for (let s = 0; s < steps; s++) {
    for (let r = 0; r < batchSize; r++) {
      const row = order[s * batchSize + r] as number;
      x.set(data.x.subarray(row * 2, row * 2 + 2), r * 2);
      y[r] = data.y[row] as number;
    }
    total += await (await net.trainStep(x, y)).loss;
  }
  return total / steps;
}

/** Mean cross-entropy and accuracy of predicted class probabilities [n, 3]. */
export function toyMetrics(probs: Float32Array, data: ToyData): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < data.n; i++) {
    const row = Array.from(probs.subarray(i * 3, i * 3 + 3));
    loss -= Math.log(row[data.y[i] as number] as number);
    if (row.indexOf(Math.max(...row)) === data.y[i]) correct++;
  }
  return { loss: loss / data.n, accuracy: correct / data.n };
}
