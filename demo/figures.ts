/**
 * The numbers behind the page's views of the dropout paper (Srivastava et al. 2014), computed in the
 * training worker after every epoch:
 *
 * - Features (Fig. 7): the first layer's incoming weights of up to 100 hidden units (28×28 each).
 * - Sparsity (Fig. 8): per hidden layer, on a batch of test digits without dropout, the histogram of
 *   each unit's mean activation and the histogram of all activations. The hidden activations are
 *   computed here from `getParams` with plain loops (the library's API returns class probabilities
 *   only); the library's dropout is inverted, so the parameters as they are give the test-time net.
 * - Inference rule (Fig. 11): test error of MC-dropout averaging over k stochastic passes
 *   (`predict(…, { mcSamples: k })`, k from 1 to 50), and of the weight-scaling rule (`predict`
 *   without dropout). Pass p's masks are the same in every call, so the k-pass means are nested.
 */
import type { Dataset, HiddenActivation, Net, ParamMap } from '../src/index.js';

const SIDE = 784;
const CLASSES = 10;
/** Units shown as feature tiles. */
export const FEATURE_UNITS = 100;
/** Bins of the sparsity histograms. */
export const BINS = 30;
/** The numbers of MC-dropout passes of the inference-rule figure (91 passes in all). */
export const MC_PASSES: readonly number[] = [1, 2, 3, 5, 10, 20, 50];

export interface HiddenLayerSparsity {
  /** Counts of units by mean activation, BINS bins over [0, meanMax]. */
  readonly meanHistogram: readonly number[];
  readonly meanMax: number;
  /** Counts of all activations (units × digits), BINS bins over [0, activationMax]. */
  readonly activationHistogram: readonly number[];
  readonly activationMax: number;
  /** The mean over units of their mean activation (the paper's Fig. 8 captions). */
  readonly meanActivation: number;
}

export interface MemberFigures {
  readonly label: string;
  /** Units × 784 first-layer weights (row k: unit k's incoming weights), units ≤ FEATURE_UNITS. */
  readonly features: Float32Array;
  readonly units: number;
  readonly sparsity: readonly HiddenLayerSparsity[];
  /** Test error with MC-dropout averaging over `passes[i]` passes, at index i; and with `predict`. */
  readonly passes: readonly number[];
  readonly mcError: readonly number[];
  readonly weightScalingError: number;
  /** Digits the errors are measured on. */
  readonly digits: number;
}

export interface EpochFigures {
  /** Epochs done. */
  readonly epoch: number;
  readonly members: readonly MemberFigures[];
}

/** The first layer's weights of the first `FEATURE_UNITS` units, copied out of the parameters. */
export function features(params: ParamMap): { features: Float32Array; units: number } {
  const weight = params['layers.0.weight'];
  if (!weight) return { features: new Float32Array(0), units: 0 };
  const units = Math.min(FEATURE_UNITS, weight.shape[0] as number);
  return { features: Float32Array.from(weight.data.subarray(0, units * SIDE)), units };
}

const activate: Record<HiddenActivation, (v: number) => number> = {
  relu: (v) => Math.max(v, 0),
  tanh: Math.tanh,
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
};

/** The hidden layers' activations (no dropout) for `rows` digits of `x`: one rows × units array each. */
export function hiddenActivations(
  params: ParamMap,
  sizes: readonly number[],
  activation: HiddenActivation,
  x: Float32Array,
  rows: number,
): Float32Array[] {
  const f = activate[activation];
  const layers: Float32Array[] = [];
  let input = x;
  for (let layer = 0; layer < sizes.length - 2; layer++) {
    const inputs = sizes[layer] as number;
    const units = sizes[layer + 1] as number;
    const weight = params[`layers.${layer}.weight`]?.data as Float32Array;
    const bias = params[`layers.${layer}.bias`]?.data as Float32Array;
    const out = new Float32Array(rows * units);
    for (let r = 0; r < rows; r++) {
      const row = r * inputs;
      for (let u = 0; u < units; u++) {
        let sum = bias[u] as number;
        const w = u * inputs;
        for (let i = 0; i < inputs; i++) sum += (weight[w + i] as number) * (input[row + i] as number);
        out[r * units + u] = f(sum);
      }
    }
    layers.push(out);
    input = out;
  }
  return layers;
}

function histogram(values: ArrayLike<number>, max: number): number[] {
  const counts = new Array<number>(BINS).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = Math.max(0, values[i] as number);
    const bin = Math.min(BINS - 1, Math.floor((v / max) * BINS));
    counts[bin] = (counts[bin] as number) + 1;
  }
  return counts;
}

/** Fig. 8's two histograms for one hidden layer's activations (rows × units). */
export function sparsity(activations: Float32Array, rows: number): HiddenLayerSparsity {
  const units = activations.length / rows;
  const means = new Float32Array(units);
  let activationMax = 0;
  for (let r = 0; r < rows; r++) {
    for (let u = 0; u < units; u++) {
      const v = activations[r * units + u] as number;
      means[u] = (means[u] as number) + v / rows;
      if (v > activationMax) activationMax = v;
    }
  }
  let meanMax = 0;
  let meanActivation = 0;
  for (const m of means) {
    meanMax = Math.max(meanMax, m);
    meanActivation += m / units;
  }
  meanMax ||= 1;
  activationMax ||= 1;
  return {
    meanHistogram: histogram(means, meanMax),
    meanMax,
    activationHistogram: histogram(activations, activationMax),
    activationMax,
    meanActivation,
  };
}

function argmax(values: ArrayLike<number>, offset: number): number {
  let best = 0;
  for (let c = 1; c < CLASSES; c++) {
    if ((values[offset + c] as number) > (values[offset + best] as number)) best = c;
  }
  return best;
}

/** Fig. 11: MC-dropout test error for each number of passes, and the weight-scaling rule's. */
export async function inferenceRule(
  net: Net,
  test: Dataset,
  digits: number,
  passes: readonly number[],
): Promise<{ passes: readonly number[]; mcError: number[]; weightScalingError: number }> {
  const x = test.x.subarray(0, digits * SIDE);
  const errorOf = (probs: Float32Array) => {
    let wrong = 0;
    for (let d = 0; d < digits; d++) if (argmax(probs, d * CLASSES) !== test.y[d]) wrong++;
    return wrong / digits;
  };
  const weightScalingError = errorOf(await net.predict(x));
  const mcError: number[] = [];
  for (const k of passes) mcError.push(errorOf((await net.predict(x, { mcSamples: k })).mean));
  return { passes, mcError, weightScalingError };
}

/** Everything of one net's figures after an epoch. */
export async function memberFigures(
  label: string,
  net: Net,
  test: Dataset,
  options: { sparsityDigits: number; mcDigits: number; mcPasses: readonly number[] },
): Promise<MemberFigures> {
  const params = await net.getParams();
  const { sizes, activation } = net.info.spec;
  const rows = Math.min(options.sparsityDigits, test.n);
  const layers = hiddenActivations(params, sizes, activation, test.x.subarray(0, rows * SIDE), rows);
  const digits = Math.min(options.mcDigits, test.n);
  const inference = await inferenceRule(net, test, digits, options.mcPasses);
  return {
    label,
    ...features(params),
    sparsity: layers.map((layer) => sparsity(layer, rows)),
    ...inference,
    digits,
  };
}

/** FNV-1a (32 bits) over the bits of every parameter, in name order: equal hashes, equal parameters. */
export function parameterChecksum(all: readonly ParamMap[]): string {
  let hash = 0x811c9dc5;
  for (const params of all) {
    for (const name of Object.keys(params).sort()) {
      const data = params[name]?.data as Float32Array;
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    }
  }
  return hash.toString(16).padStart(8, '0');
}
