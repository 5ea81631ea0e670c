/**
 * `evaluate`: loss and accuracy of a net on a dataset, without dropout (the net's `predict`).
 */
import type { Dataset } from '../data/dataset.js';
import type { Net } from '../net/net.js';

/** Loss, accuracy and confusion matrix of a net on a dataset. */
export interface Evaluation {
  /** Mean cross-entropy. */
  readonly loss: number;
  readonly accuracy: number;
  /** confusion[true · classes + predicted]: counts. */
  readonly confusion: Uint32Array;
}

/** Rows are predicted `chunkRows` at a time (the net runs them batchSize at a time). */
export async function evaluate(net: Net, data: Dataset, chunkRows = 4096): Promise<Evaluation> {
  const classes = net.info.spec.sizes[net.info.spec.sizes.length - 1] as number;
  const confusion = new Uint32Array(classes * classes);
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < data.n; start += chunkRows) {
    const rows = Math.min(chunkRows, data.n - start);
    const probs = await net.predict(data.x.subarray(start * data.features, (start + rows) * data.features));
    for (let r = 0; r < rows; r++) {
      const label = data.y[start + r] as number;
      let predicted = 0;
      for (let c = 1; c < classes; c++)
        if ((probs[r * classes + c] as number) > (probs[r * classes + predicted] as number)) predicted = c;
      // Probabilities can underflow to 0 in f32: clamp so one sure mistake costs ~87, not Infinity.
      loss -= Math.log(Math.max(probs[r * classes + label] as number, 1e-38));
      if (predicted === label) correct++;
      confusion[label * classes + predicted] = (confusion[label * classes + predicted] as number) + 1;
    }
  }
  return { loss: loss / data.n, accuracy: correct / data.n, confusion };
}
