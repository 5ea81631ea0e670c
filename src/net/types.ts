/**
 * The types a compiled net takes and returns: compile options, step results, metrics, checkpoints,
 * MC-dropout predictions, and what the net was compiled from.
 */
import type { BackendKind } from '../device/device.js';
import type { ParamMap } from '../nn/init.js';
import type { MlpSpec } from '../nn/mlp.js';
import type { Optimizer } from '../nn/optim.js';

/** How `backend.compile` builds a net: batch size, optimizer, max-norm, validate mode. */
export interface CompileOptions {
  /**
   * Check every node of every training step against the CPU reference, given the same inputs, and
   * throw `ValidationError` at the first that differs beyond its op's tolerance. Slow: for debugging.
   */
  validate?: boolean;
  /** Rows per training step. A positive integer. */
  batchSize: number;
  /** Default `sgd({ lr: 0.1 })`. */
  optimizer?: Optimizer;
  /** Max-norm constraint c on every unit's incoming weights (> 0). Default: none. */
  maxNorm?: number;
}

/** What `trainStep` returns. Reading `loss` is what triggers a readback (on WebGPU). */
export interface TrainStepResult {
  /** The step's index t (0 for the net's first step). */
  readonly step: number;
  /** Mean cross-entropy of the batch before this step's update. */
  readonly loss: Promise<number>;
}

/** What the loss kernel accumulated on the device over some training steps (see `takeMetrics`). */
export interface TrainingMetrics {
  readonly steps: number;
  readonly examples: number;
  /** Mean of the steps' losses (with dropout, before each step's update). NaN when no steps. */
  readonly loss: number;
  /** Fraction of examples whose highest logit (the first, on ties) was the label. NaN when no steps. */
  readonly accuracy: number;
  /** Steps whose loss was NaN or infinite. From the first of them on, updates were skipped. */
  readonly nonFiniteSteps: number;
}

/** A net's whole training state on the CPU (see `Net.checkpoint`). */
export interface NetCheckpoint {
  readonly params: ParamMap;
  /** Momentum or Adam moments, by `<parameter>:<state>` name. */
  readonly optimizerState: ParamMap;
  readonly step: number;
}

/** What `net.predict` takes besides its inputs. */
export interface PredictOptions {
  /**
   * MC-dropout passes: an integer from 1 to 10,000 (`MAX_MC_SAMPLES`). The mean's error falls as
   * 1/√n: at 10,000 passes it is 1% of one pass's spread, and each pass costs a whole forward run.
   */
  mcSamples: number;
}

/** MC-dropout predictions: per row and class, the mean probability and its variance over the passes. */
export interface McPrediction {
  readonly mean: Float32Array;
  readonly variance: Float32Array;
}

/** Per-step overrides of the optimizer's hyperparameters (learning-rate schedules, momentum ramps). */
export interface StepHyperparameters {
  lr?: number;
  momentum?: number;
}

/** Compile options with every default filled in and every value checked. */
export interface ResolvedCompileOptions {
  readonly batchSize: number;
  readonly optimizer: Optimizer;
  readonly maxNorm: number | undefined;
  readonly validate: boolean;
}

/** What a net was compiled from: its spec, batch size, optimizer, max-norm and backend kind. */
export interface NetInfo {
  readonly spec: MlpSpec;
  readonly batchSize: number;
  readonly optimizer: Optimizer;
  readonly maxNorm: number | undefined;
  readonly backend: BackendKind;
}

/** A deep-frozen copy of the net's description. */
export function frozenInfo(info: NetInfo): NetInfo {
  const spec = Object.freeze({
    ...info.spec,
    sizes: Object.freeze([...info.spec.sizes]),
    keepProb: Object.freeze([...info.spec.keepProb]),
  });
  return Object.freeze({ ...info, spec, optimizer: Object.freeze({ ...info.optimizer }) }) as NetInfo;
}
