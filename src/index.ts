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
export type { Net } from './net/net.js';
export type {
  CompileOptions,
  McPrediction,
  NetCheckpoint,
  NetInfo,
  StepHyperparameters,
  TrainingMetrics,
  TrainStepResult,
} from './net/types.js';
export type { ParamMap, ParamTensor } from './nn/init.js';
export { type HiddenActivation, type MlpOptions, type MlpSpec, mlp } from './nn/mlp.js';
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
  PauseController,
} from './train/fit.js';
export type { LrSchedule, MomentumRamp } from './train/schedule.js';
