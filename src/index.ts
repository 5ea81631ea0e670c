// The declarations use WebGPU's types (GPUDevice, …): users get them from the @webgpu/types dependency.
/// <reference types="@webgpu/types" preserve="true" />
/**
 * dropgpu: train multilayer perceptrons with dropout on the GPU in the browser (WebGPU), with a
 * pure-TypeScript CPU reference backend. This file is the whole public API.
 */
export { type Backend, type BackendOptions, createBackend } from './backend.js';
export { type Dataset, dataset } from './data/dataset.js';
export {
  type IdxBytes,
  type LoadMnistOptions,
  loadMnist,
  MAX_INFLATED_BYTES,
  type MnistFile,
  type MnistIdxFiles,
  type MnistOptions,
  type MnistRole,
  type MnistScale,
  type MnistSource,
  mnistFromIdx,
} from './data/mnist.js';
export type { CpuPrecision } from './device/cpu.js';
export type { BackendKind } from './device/device.js';
export {
  ArgumentError,
  DataFormatError,
  DeviceLostError,
  DisposedError,
  DropgpuError,
  GpuValidationError,
  KernelCompileError,
  ModelFileError,
  NonFiniteLossError,
  ValidationError,
  WasmWorkerError,
  WebGpuUnavailableError,
} from './errors.js';
export {
  type LoadedModel,
  loadSafetensors,
  type SafetensorsLimits,
  saveSafetensors,
} from './io/safetensors.js';
export type { Activation } from './ir/ir.js';
export { MAX_MC_SAMPLES } from './net/infer.js';
export type { Net } from './net/net.js';
export type {
  CompileOptions,
  McPrediction,
  NetCheckpoint,
  NetInfo,
  PredictOptions,
  StepHyperparameters,
  TrainingMetrics,
  TrainStepResult,
} from './net/types.js';
export type { ParamMap, ParamTensor } from './nn/init.js';
export {
  type HiddenActivation,
  MAX_LAYER_WIDTH,
  MAX_LAYERS,
  type MlpOptions,
  type MlpSpec,
  mlp,
} from './nn/mlp.js';
export { type AdamOptions, adam, type Optimizer, type SgdOptions, sgd } from './nn/optim.js';
export { dropoutMask, keepThreshold, philox4x32 } from './rng/philox.js';
export { type Evaluation, evaluate } from './train/evaluate.js';
export {
  type EpochRecord,
  type FitCheckpoint,
  type FitHistory,
  type FitOptions,
  type FitProgress,
  fit,
} from './train/fit.js';
export { PauseController } from './train/pause.js';
export type { LrSchedule, MomentumRamp } from './train/schedule.js';
export type { TuningStore } from './webgpu/autotune.js';
export type { KernelChoice } from './webgpu/device.js';

declare global {
  /**
   * Declared (empty) so that @webgpu/types type-checks with `lib: ["WebWorker"]`, where it is missing
   * (gpuweb/types#151); merges with the DOM's where there is one.
   */
  interface HTMLImageElement {}
}
