/**
 * The model family (docs/contracts.md, "Model"): input → [dense → activation → dropout] × H → dense → softmax, with
 * dropout on the input too. `mlp()` validates and normalizes a user's options into an `MlpSpec`;
 * `buildForward` turns a spec into graph nodes for a given batch size.
 */
import { ArgumentError, checkNotRevoked, describe } from '../errors.js';
import type { Activation, Graph } from '../ir/ir.js';
import { STREAM } from '../rng/philox.js';

/** The activation of the hidden layers. */
export type HiddenActivation = Exclude<Activation, 'identity'>;

/** What `mlp()` takes: layer widths, activation, keep probabilities, seed. */
export interface MlpOptions {
  /** Layer widths from input to output, e.g. [784, 800, 800, 10]: at least an input and an output. */
  sizes: readonly number[];
  /** Activation of every hidden layer. Default 'relu'. */
  activation?: HiddenActivation;
  /**
   * Keep probabilities (retain, not drop) of the dropout sites: the input, and after each hidden layer
   * (one number for all, or one per hidden layer). 1 switches a site off. Default: no dropout.
   */
  keepProb?: { input?: number; hidden?: number | readonly number[] };
  /** Drives initialization and every dropout mask. An integer in [0, 2^53). Default 0. */
  seed?: number;
}

/** A validated model description. `keepProb[s]` is the keep probability of dropout site s (docs/contracts.md, "Dropout masks"). */
export interface MlpSpec {
  readonly sizes: readonly number[];
  readonly activation: HiddenActivation;
  readonly keepProb: readonly number[];
  readonly seed: number;
}

const ACTIVATIONS: readonly HiddenActivation[] = ['relu', 'tanh', 'sigmoid'];

export function checkKeepProb(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new ArgumentError(argument, 'a keep probability in (0, 1]', describe(value));
  }
  return value;
}

/** The widest layer `mlp` accepts: 2^24 units, so that any layer's weight count (< 2^48) is exact. */
export const MAX_LAYER_WIDTH = 2 ** 24;

/** The most layers (weight matrices) `mlp` accepts: `sizes` holds at most this many + 1 widths. */
export const MAX_LAYERS = 1024;

/**
 * Builds the spec of an MLP. Throws `ArgumentError` naming the bad option. Every option is read once
 * (a getter cannot pass the check and then change), and `sizes` may not have holes.
 */
export function mlp(options: MlpOptions): MlpSpec {
  checkNotRevoked('options', options);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ArgumentError(
      'options',
      'an object { sizes, activation?, keepProb?, seed? }',
      describe(options),
    );
  }
  const { sizes: givenSizes, activation: givenActivation, keepProb, seed: givenSeed } = options;
  const sizes = checkSizes(givenSizes);
  const activation = givenActivation === undefined ? 'relu' : givenActivation;
  if (!ACTIVATIONS.includes(activation)) {
    throw new ArgumentError('activation', `one of ${ACTIVATIONS.join(', ')}`, describe(activation));
  }
  if (
    keepProb !== undefined &&
    (typeof keepProb !== 'object' || keepProb === null || Array.isArray(keepProb))
  ) {
    throw new ArgumentError('keepProb', 'nothing, or an object { input?, hidden? }', describe(keepProb));
  }
  const { input: givenInput, hidden: givenHidden } = keepProb ?? {};
  const hiddenLayers = sizes.length - 2;
  const input = checkKeepProb('keepProb.input', givenInput === undefined ? 1 : givenInput);
  const hiddenOption = givenHidden === undefined ? 1 : givenHidden;
  const hidden: number[] = [];
  if (typeof hiddenOption === 'number') {
    const p = checkKeepProb('keepProb.hidden', hiddenOption);
    for (let i = 0; i < hiddenLayers; i++) hidden.push(p);
  } else {
    const length = Array.isArray(hiddenOption) ? hiddenOption.length : undefined;
    if (length !== hiddenLayers) {
      throw new ArgumentError(
        'keepProb.hidden',
        `a number or an array of ${hiddenLayers}`,
        describe(hiddenOption),
      );
    }
    // An index loop, not map: map skips holes, which would leave a site without a keep probability.
    for (let i = 0; i < hiddenLayers; i++)
      hidden.push(checkKeepProb(`keepProb.hidden[${i}]`, hiddenOption[i]));
  }
  const seed = givenSeed === undefined ? 0 : givenSeed;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ArgumentError('seed', 'an integer in [0, 2^53)', describe(seed));
  }
  return { sizes, activation, keepProb: [input, ...hidden], seed };
}

/** `sizes` copied (each width read once), then checked: 2 to MAX_LAYERS + 1 integer widths, no holes. */
function checkSizes(given: unknown): number[] {
  checkNotRevoked('sizes', given);
  // The length read once too: a Proxy could change it between reads.
  const length = Array.isArray(given) ? given.length : 0;
  if (!Array.isArray(given) || !(length >= 2 && length <= MAX_LAYERS + 1)) {
    throw new ArgumentError(
      'sizes',
      `an array of 2 to ${MAX_LAYERS + 1} layer widths (input, hidden…, output)`,
      describe(given),
    );
  }
  const sizes: number[] = [];
  for (let i = 0; i < length; i++) sizes.push(given[i]);
  sizes.forEach((size, i) => {
    if (!(Number.isInteger(size) && size >= 1 && size <= MAX_LAYER_WIDTH)) {
      const got = size === undefined && !(i in given) ? 'a hole (nothing at this index)' : describe(size);
      throw new ArgumentError(`sizes[${i}]`, `an integer from 1 to ${MAX_LAYER_WIDTH} (2^24)`, got);
    }
  });
  return sizes;
}

export function weightName(layer: number): string {
  return `layers.${layer}.weight`;
}

export function biasName(layer: number): string {
  return `layers.${layer}.bias`;
}

/** Tensor ids of the forward graph. */
export interface ForwardTensors {
  readonly x: number;
  readonly logits: number;
  /** Weight and bias of each layer, in order: [w0, b0, w1, b1, …]. */
  readonly params: readonly number[];
}

/**
 * Appends the forward pass for `batch` rows: x [B, sizes[0]] → logits [B, C]. With `dropout` 'none'
 * the sites are left out (inference); 'mc' draws MC-dropout masks (the step counter then numbers the
 * stochastic pass). A site whose keep probability is 1 is always left out.
 */
export function buildForward(
  graph: Graph,
  spec: MlpSpec,
  batch: number,
  dropout: 'train' | 'mc' | 'none',
): ForwardTensors {
  // Training masks use stream 0 (docs/contracts.md, "Dropout masks"); MC-dropout's are drawn apart from them.
  const stream = dropout === 'mc' ? STREAM.mcDropout : STREAM.dropout;
  const { sizes } = spec;
  const x = graph.tensor('x', [batch, sizes[0] as number], 'input');
  const params: number[] = [];
  const dropoutSite = (h: number, site: number): number => {
    const keepProb = spec.keepProb[site] ?? 1;
    if (dropout === 'none' || keepProb >= 1) return h;
    const name = site === 0 ? 'x:dropout' : `layers.${site - 1}:dropout`;
    return graph.apply(
      'dropout',
      name,
      [h],
      { site, keepProb, seed: spec.seed, stream },
      graph.get(h).shape,
      'activation',
    );
  };
  let h = dropoutSite(x, 0);
  const layers = sizes.length - 1;
  for (let layer = 0; layer < layers; layer++) {
    const inputs = sizes[layer] as number;
    const outputs = sizes[layer + 1] as number;
    const w = graph.tensor(weightName(layer), [outputs, inputs], 'parameter');
    const b = graph.tensor(biasName(layer), [outputs], 'parameter');
    params.push(w, b);
    const last = layer === layers - 1;
    const z = graph.apply(
      'matmul',
      `layers.${layer}:matmul`,
      [h, w],
      { transA: false, transB: true },
      [batch, outputs],
      'activation',
    );
    const activation = last ? 'identity' : spec.activation;
    h = graph.apply(
      'bias_act',
      last ? 'logits' : `layers.${layer}:${activation}`,
      [z, b],
      { activation },
      [batch, outputs],
      'activation',
    );
    if (!last) h = dropoutSite(h, layer + 1);
  }
  return { x, logits: h, params };
}
