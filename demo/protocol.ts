/**
 * The messages between the page (main.ts, through trainer-client.ts) and the training worker
 * (trainer.worker.ts). The page sends commands; requests that need an answer carry an `id`, and the
 * worker answers each with a `reply` of the same id. Everything else the worker sends is an event.
 * Only structured-cloneable data crosses: specs and optimizers are plain objects, errors travel as
 * their name and message.
 */
import type { BackendKind, MlpSpec, Optimizer } from '../src/index.js';
import type { EpochFigures } from './figures.js';

export interface Member {
  /** 'dropout' / 'no dropout' in the comparison, 'model' otherwise. */
  readonly label: string;
  readonly spec: MlpSpec;
}

/** One training run as the page asks for it. */
export interface RunSettings {
  readonly backend: BackendKind;
  readonly members: readonly Member[];
  readonly batchSize: number;
  readonly optimizer: Optimizer;
  readonly maxNorm: number | undefined;
  readonly epochs: number;
  readonly seed: number;
  readonly trainSize: number;
  readonly testSize: number;
  /** Also evaluate each net on the training set without dropout after every epoch (the comparison). */
  readonly evaluateTrain: boolean;
}

/** The keep-probability sweep (paper Fig. 9): small nets, a few epochs each. */
export interface SweepSettings {
  readonly backend: BackendKind;
  readonly hidden: readonly number[];
  readonly keeps: readonly number[];
  readonly epochs: number;
  readonly trainSize: number;
  readonly testSize: number;
  readonly batchSize: number;
  readonly seed: number;
}

/** An error as it crosses to the page. */
export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
  /** NonFiniteLossError and the library's own errors are expected; others are logged. */
  readonly expected: boolean;
}

export type SessionState = 'training' | 'paused' | 'stopped' | 'done' | 'lost' | 'failed';

export interface SessionProgress {
  readonly member: number;
  /** Fractional epochs done by this member. */
  readonly epoch: number;
  /** Mean training loss and accuracy (with dropout) since the last report. */
  readonly loss: number;
  readonly accuracy: number;
  /** Over all members and epochs, in [0, 1]. */
  readonly fraction: number;
  readonly samplesPerSecond: number;
  readonly etaSeconds: number;
}

/** After an epoch of one member: loss and accuracy without dropout (train only with evaluateTrain). */
export interface EpochResult {
  readonly member: number;
  /** Epochs done; 0 is the evaluation before training. */
  readonly epoch: number;
  readonly train?: { loss: number; accuracy: number };
  readonly test: { loss: number; accuracy: number };
}

export interface Mistake {
  readonly index: number;
  readonly guess: number;
  readonly label: number;
  readonly confidence: number;
  readonly pixels: Float32Array;
}

export interface PredictionResult {
  /** Per class: mean and standard deviation over the MC-dropout passes, and the plain prediction. */
  readonly mean: Float64Array;
  readonly std: Float64Array;
  readonly plain: Float32Array;
  readonly passes: number;
  readonly dropout: boolean;
}

export interface SweepPoint {
  readonly keep: number;
  readonly trainError: number;
  readonly testError: number;
}

/** Commands from the page. */
export type ToWorker =
  | { readonly type: 'init'; readonly mnistBase: string; readonly webGpu: boolean }
  | { readonly type: 'start'; readonly id: number; readonly settings: RunSettings }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' }
  | { readonly type: 'continue-after-loss'; readonly id: number }
  | { readonly type: 'predict'; readonly id: number; readonly pixels: Float32Array }
  | { readonly type: 'save'; readonly id: number }
  | {
      readonly type: 'load';
      readonly id: number;
      readonly bytes: ArrayBuffer;
      readonly backend: BackendKind;
      readonly testSize: number;
    }
  | { readonly type: 'sweep'; readonly id: number; readonly settings: SweepSettings };

/** What requests answer with, by request type. */
export interface Replies {
  start: { readonly description: string; readonly kind: BackendKind };
  'continue-after-loss': { readonly description: string };
  predict: PredictionResult | null;
  save: { readonly bytes: Uint8Array; readonly name: string } | null;
  load: { readonly spec: MlpSpec; readonly step: number; readonly description: string };
  sweep: readonly SweepPoint[];
}

/** Events and replies from the worker. */
export type FromWorker =
  | { readonly type: 'mnist-progress'; readonly received: number; readonly total: number }
  | { readonly type: 'ready'; readonly adapter: string | null; readonly webGpuProblem: string | null }
  | { readonly type: 'init-failed'; readonly error: ErrorInfo }
  | { readonly type: 'progress'; readonly progress: SessionProgress }
  | { readonly type: 'epoch'; readonly result: EpochResult }
  | {
      readonly type: 'state';
      readonly state: SessionState;
      readonly error?: ErrorInfo;
      /** With 'done': a hash of every net's parameters (FNV-1a of their bits), to compare runs. */
      readonly checksum?: string;
    }
  | { readonly type: 'resumed'; readonly epochs: number; readonly description: string }
  | { readonly type: 'figures'; readonly figures: EpochFigures }
  | {
      readonly type: 'mistakes';
      readonly mistakes: readonly Mistake[];
      readonly wrong: number;
      readonly n: number;
    }
  | { readonly type: 'sweep-progress'; readonly done: number; readonly total: number }
  | { readonly type: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: ErrorInfo };

/** What the worker sends that is not a reply. */
export type WorkerEvent = Exclude<FromWorker, { type: 'reply' }>;
