/**
 * Initial parameters from the seed alone (docs/contracts.md, "Parameters"), computed once in TS so that every backend starts
 * from the same bits. Layer k's weight [O, I] is uniform in [−a, a] with
 *   a = √(6 / I)        (He-uniform) when the layer feeds a relu,
 *   a = √(6 / (I + O))  (Glorot-uniform) when it feeds tanh, sigmoid or the output softmax;
 * biases are 0. Element i of layer k's weight draws word (i mod 4) of
 *   philox4x32(counter = [floor(i / 4), k, 0, 1], key = [seed mod 2^32, floor(seed / 2^32)]),
 * mapped to u = (word >>> 8) / 2^24 ∈ [0, 1) and then to a·(2u − 1), rounded to f32.
 * (Counter word 3 = 1 keeps these draws apart from dropout masks, which use 0.)
 */
import { philox4x32, STREAM, seedKey } from '../rng/philox.js';
import { biasName, type MlpSpec, weightName } from './mlp.js';

/** One parameter: its shape (PyTorch layout) and row-major f32 values. */
export interface ParamTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Parameters by name: `layers.k.weight` [out, in] and `layers.k.bias` [out] (docs/contracts.md, "Parameters"). */
export type ParamMap = Record<string, ParamTensor>;

export function initParams(spec: MlpSpec): ParamMap {
  const key = seedKey(spec.seed);
  const params: ParamMap = {};
  const layers = spec.sizes.length - 1;
  for (let layer = 0; layer < layers; layer++) {
    const inputs = spec.sizes[layer] as number;
    const outputs = spec.sizes[layer + 1] as number;
    const feedsRelu = layer < layers - 1 && spec.activation === 'relu';
    const limit = feedsRelu ? Math.sqrt(6 / inputs) : Math.sqrt(6 / (inputs + outputs));
    const weight = new Float32Array(outputs * inputs);
    for (let block = 0; block * 4 < weight.length; block++) {
      const words = philox4x32([block, layer, 0, STREAM.init], key);
      for (let lane = 0; lane < 4 && block * 4 + lane < weight.length; lane++) {
        const u = ((words[lane] as number) >>> 8) / 2 ** 24;
        weight[block * 4 + lane] = limit * (2 * u - 1);
      }
    }
    params[weightName(layer)] = { shape: [outputs, inputs], data: weight };
    params[biasName(layer)] = { shape: [outputs], data: new Float32Array(outputs) };
  }
  return params;
}
