/**
 * `evaluate`: loss and accuracy of a net on a dataset, without dropout (the net's `predict`).
 */
import { checkDataset, checkDatasetValues, type Dataset } from '../data/dataset.js';
import { ArgumentError, describe } from '../errors.js';
import type { Net } from '../net/net.js';

/** Loss, accuracy and confusion matrix of a net on a dataset. */
export interface Evaluation {
  /** Mean cross-entropy. */
  readonly loss: number;
  readonly accuracy: number;
  /** confusion[true · classes + predicted]: counts, over the net's classes. */
  readonly confusion: Uint32Array;
}

/**
 * Rows are predicted `chunkRows` at a time (an integer ≥ 1; the net runs them batchSize at a time).
 * `data` must be a Dataset the net can take: at least one row, `features` equal to the net's inputs,
 * `classes` at most its outputs (as for training), every label below `classes`, every value finite.
 *
 * @throws ArgumentError naming `net`, `data`, `data.features`, `data.n`, `data.classes`, `data.y[i]`,
 *   `data.x[i]` or `chunkRows`, before anything is predicted.
 */
export async function evaluate(net: Net, data: Dataset, chunkRows?: number): Promise<Evaluation> {
  const sizes = netSizes(net);
  const checked = checkDataset('data', data, sizes);
  checkDatasetValues('data', checked);
  const { x, y, n, features } = checked;
  const chunk = chunkRows === undefined ? 4096 : chunkRows;
  if (!Number.isSafeInteger(chunk) || chunk < 1) {
    throw new ArgumentError('chunkRows', 'nothing, or an integer ≥ 1', describe(chunkRows));
  }
  const classes = sizes[sizes.length - 1] as number;
  const confusion = new Uint32Array(classes * classes);
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const probs = await net.predict(x.subarray(start * features, (start + rows) * features));
    for (let r = 0; r < rows; r++) {
      const label = y[start + r] as number;
      let predicted = 0;
      for (let c = 1; c < classes; c++)
        if ((probs[r * classes + c] as number) > (probs[r * classes + predicted] as number)) predicted = c;
      // Probabilities can underflow to 0 in f32: clamp so one sure mistake costs ~87, not Infinity.
      loss -= Math.log(Math.max(probs[r * classes + label] as number, 1e-38));
      if (predicted === label) correct++;
      confusion[label * classes + predicted] = (confusion[label * classes + predicted] as number) + 1;
    }
  }
  return { loss: loss / n, accuracy: correct / n, confusion };
}

/** The layer sizes of a compiled net, or ArgumentError naming `net`. */
function netSizes(net: Net): readonly number[] {
  const sizes = typeof net === 'object' && net !== null ? net.info?.spec?.sizes : undefined;
  if (!Array.isArray(sizes) || typeof net.predict !== 'function') {
    throw new ArgumentError('net', 'a compiled Net (from backend.compile)', describe(net));
  }
  return sizes;
}
