/**
 * Inference over a net's parameters: the plain forward pass (no dropout), compiled with the net, and
 * MC-dropout (Gal & Ghahramani 2016), compiled on first use. Rows are run batchSize at a time; rows are
 * independent, so the last chunk is zero-padded.
 */
import { checkInputs } from '../check.js';
import type { Device } from '../device/device.js';
import { ArgumentError, checkNotRevoked, describe } from '../errors.js';
import { type CompiledGraph, compileGraph } from '../graph/executor.js';
import { plainStep, type StepContext } from '../ir/ir.js';
import { buildPredictGraph } from '../nn/graphs.js';
import type { McPrediction, NetInfo } from './types.js';

/** The most MC-dropout passes one `predict` call runs (`PredictOptions.mcSamples`). */
export const MAX_MC_SAMPLES = 10_000;

/**
 * The MC-dropout sample count of `predict`'s options, read once: undefined when there are none (a plain
 * prediction). Throws ArgumentError naming `options` or `options.mcSamples`.
 */
export function checkPredictOptions(options: unknown): number | undefined {
  checkNotRevoked('options', options);
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new ArgumentError('options', 'nothing, or { mcSamples } for MC-dropout', describe(options));
  }
  return checkMcSamples((options as { mcSamples?: unknown }).mcSamples);
}

/** `predict`'s arguments, checked and copied: x as f32 rows of `width`, and the MC sample count if any. */
export function checkPredict(
  width: number,
  x: ArrayLike<number>,
  options: unknown,
): { inputs: Float32Array; samples: number | undefined } {
  checkNotRevoked('x', x);
  const length = x?.length;
  if (length % width !== 0 || length === 0) {
    throw new ArgumentError('x', `a non-empty multiple of ${width} values (rows × inputs)`, describe(x));
  }
  const samples = checkPredictOptions(options);
  return { inputs: checkInputs('x', x, length / width, width, false), samples };
}

function checkMcSamples(samples: unknown): number {
  if (!(Number.isInteger(samples) && (samples as number) >= 1 && (samples as number) <= MAX_MC_SAMPLES)) {
    throw new ArgumentError('options.mcSamples', `an integer from 1 to ${MAX_MC_SAMPLES}`, describe(samples));
  }
  return samples as number;
}

export class Inference<Buffer> {
  readonly #device: Device<Buffer>;
  readonly #info: NetInfo;
  readonly #params: ReadonlyMap<string, Buffer>;
  readonly #plain: CompiledGraph<Buffer>;
  #mc: Promise<CompiledGraph<Buffer>> | undefined;
  #mcCompiled: CompiledGraph<Buffer> | undefined;
  #disposed = false;

  private constructor(
    device: Device<Buffer>,
    info: NetInfo,
    params: ReadonlyMap<string, Buffer>,
    plain: CompiledGraph<Buffer>,
  ) {
    this.#device = device;
    this.#info = info;
    this.#params = params;
    this.#plain = plain;
  }

  /** The plain inference program over `params` (the net's parameter buffers, by name). */
  static async create<Buffer>(
    device: Device<Buffer>,
    info: NetInfo,
    params: ReadonlyMap<string, Buffer>,
  ): Promise<Inference<Buffer>> {
    const { graph, probs } = buildPredictGraph(info.spec, info.batchSize, true);
    const plain = await compileGraph(device, 'predict', graph, { shared: params, keep: [probs] });
    return new Inference(device, info, params, plain);
  }

  /** Class probabilities [rows × classes] of checked inputs, without dropout. */
  predict(inputs: Float32Array, step: number): Promise<Float32Array> {
    return this.#run(this.#plain, inputs, [plainStep(step)], null);
  }

  /**
   * `samples` stochastic passes with dropout on: the mean class probabilities and their per-class
   * variance over the passes (divided by n). Pass p draws its masks from Philox counter
   * [i/4, p, site, 3], apart from every training mask and the same on every call.
   */
  async mc(inputs: Float32Array, samples: number): Promise<McPrediction> {
    checkMcSamples(samples);
    this.#mc ??= this.#compileMc().catch((error: unknown) => {
      // A compile that failed (out of memory, say) is tried again by the next MC call.
      this.#mc = undefined;
      throw error;
    });
    const program = await this.#mc;
    const passes = Array.from({ length: samples }, (_, pass) => plainStep(pass));
    const { spec } = this.#info;
    const rows = inputs.length / (spec.sizes[0] as number);
    const variance = new Float32Array(rows * (spec.sizes[spec.sizes.length - 1] as number));
    const mean = await this.#run(program, inputs, passes, variance);
    return { mean, variance };
  }

  /** Frees both programs (the MC one as soon as its compile finishes, if it is under way). */
  dispose(): void {
    this.#disposed = true;
    this.#plain.dispose();
    this.#mcCompiled?.dispose();
  }

  async #compileMc(): Promise<CompiledGraph<Buffer>> {
    const { graph, probs } = buildPredictGraph(this.#info.spec, this.#info.batchSize, true, 'mc');
    const compiled = await compileGraph(this.#device, 'predict (MC-dropout)', graph, {
      shared: this.#params,
      keep: [probs],
    });
    if (this.#disposed) compiled.dispose();
    else this.#mcCompiled = compiled;
    return compiled;
  }

  /**
   * Runs `compiled` over `inputs` batchSize rows at a time, once per context in `passes`, and returns
   * the mean of the probabilities over the passes (with their variance into `variance` if given).
   */
  async #run(
    compiled: CompiledGraph<Buffer>,
    inputs: Float32Array,
    passes: readonly StepContext[],
    variance: Float32Array | null,
  ): Promise<Float32Array> {
    const { batchSize, spec } = this.#info;
    const width = spec.sizes[0] as number;
    const classes = spec.sizes[spec.sizes.length - 1] as number;
    const rows = inputs.length / width;
    const xBuffer = compiled.bufferNamed('x');
    const probsBuffer = compiled.bufferNamed('probs');
    const mean = new Float32Array(rows * classes);
    const chunk = new Float32Array(batchSize * width);
    for (let start = 0; start < rows; start += batchSize) {
      const count = Math.min(batchSize, rows - start);
      chunk.fill(0);
      chunk.set(inputs.subarray(start * width, (start + count) * width));
      this.#device.write(xBuffer, chunk);
      const sum = new Float64Array(count * classes);
      const squares = new Float64Array(count * classes);
      for (const ctx of passes) {
        compiled.program.run(ctx);
        const values = await this.#device.read(probsBuffer, count * classes);
        for (let i = 0; i < values.length; i++) {
          const v = values[i] as number;
          sum[i] = (sum[i] as number) + v;
          squares[i] = (squares[i] as number) + v * v;
        }
      }
      for (let i = 0; i < sum.length; i++) {
        const m = (sum[i] as number) / passes.length;
        mean[start * classes + i] = m;
        if (variance)
          variance[start * classes + i] = Math.max(0, (squares[i] as number) / passes.length - m * m);
      }
    }
    return mean;
  }
}
