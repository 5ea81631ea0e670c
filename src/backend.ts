/**
 * `createBackend`: the entry point that picks where work runs and compiles models there.
 */

import { CpuDevice, type CpuPrecision } from './device/cpu.js';
import type { BackendKind, Device } from './device/device.js';
import { ArgumentError, checkNotRevoked, DisposedError, describe } from './errors.js';
import { Net } from './net/net.js';
import type { CompileOptions, ResolvedCompileOptions } from './net/types.js';
import { type MlpOptions, type MlpSpec, mlp } from './nn/mlp.js';
import { checkOptimizer, sgd } from './nn/optim.js';
import { openWasm, type WasmOptions } from './wasm/open.js';
import { isSoftwareAdapter, openWebGpu, requestAdapter, type WebGpuOptions } from './webgpu/open.js';

export interface BackendOptions extends WebGpuOptions, WasmOptions {
  /** CPU only: 'f64' runs the reference in double precision (for gradient checks). Default 'f32'. */
  precision?: CpuPrecision;
}

export interface Backend {
  readonly kind: BackendKind;
  /** What runs the work, e.g. the GPU adapter's description. */
  readonly description: string;
  /** Compiles `spec` for one batch size: every buffer and kernel is created here, once. */
  compile(spec: MlpSpec, options: CompileOptions): Promise<Net>;
  /**
   * Buffers this backend holds and their bytes (GPU memory on WebGPU). Flat while a net trains; back
   * to what it was before `compile` once the net is disposed.
   */
  memory(): { buffers: number; bytes: number };
  /** Releases the device. Nets compiled on it must not be used afterwards. */
  dispose(): void;
}

/**
 * A backend of the given kind. Without one: WebGPU on a hardware GPU adapter (or the device passed as
 * `options.device`); Wasm (SIMD, threads where the page is cross-origin isolated) when the only
 * adapter is a software one (SwiftShader, llvmpipe, lavapipe, a fallback adapter) or there is none;
 * the CPU reference only if WebAssembly itself is unavailable. 'cpu' is always the plain-loop
 * reference. Throws `WebGpuUnavailableError` when 'webgpu' is asked for and cannot be had.
 */
export async function createBackend(kind?: BackendKind, options: BackendOptions = {}): Promise<Backend> {
  if (kind !== undefined && kind !== 'cpu' && kind !== 'wasm' && kind !== 'webgpu') {
    throw new ArgumentError('kind', "'cpu', 'wasm', 'webgpu' or nothing", describe(kind));
  }
  checkBackendOptions(options);
  if (kind === 'webgpu') return wrapDevice(await openWebGpu(options));
  if (kind === 'wasm') return wrapDevice(await openWasm(options));
  if (kind === undefined) {
    if (options.device) return wrapDevice(await openWebGpu(options));
    const found = await requestAdapter(options).catch(() => ({ missing: 'requestAdapter() failed' }));
    if ('adapter' in found && !isSoftwareAdapter(found.adapter)) {
      try {
        return wrapDevice(await openWebGpu(options, found));
      } catch {
        // The adapter gave no device: the Wasm backend does the same work.
      }
    }
    try {
      return wrapDevice(await openWasm(options));
    } catch {
      // No WebAssembly SIMD here: the CPU reference does the same work, more slowly.
    }
  }
  return wrapDevice(new CpuDevice(options.precision ?? 'f32'));
}

/** A backend over any device: validates compile options, then builds a `Net`. */
export function wrapDevice<Buffer>(device: Device<Buffer>): Backend {
  let disposed = false;
  return {
    kind: device.kind,
    description: device.description,
    async compile(spec, options) {
      if (disposed) throw new DisposedError('this backend');
      const checked = checkSpec(spec);
      const net = await Net.create(device, checked, checkCompileOptions(options));
      if (disposed) {
        // The backend went away while the net was being made.
        net.dispose();
        throw new DisposedError('this backend');
      }
      return net as Net;
    },
    memory: () => device.memory(),
    dispose() {
      if (disposed) return;
      disposed = true;
      device.destroy();
    },
  };
}

function checkSpec(spec: MlpSpec): MlpSpec {
  checkNotRevoked('spec', spec);
  // Each field read once (a getter cannot pass the check and then change), and nothing copied before
  // its length is checked (a sparse array of 2^32 − 1 entries is one allocation too many).
  const { sizes, keepProb, activation, seed } =
    typeof spec === 'object' && spec !== null ? spec : ({} as Partial<MlpSpec>);
  if (!Array.isArray(keepProb)) {
    throw new ArgumentError('spec', 'a model spec made by mlp()', describe(spec));
  }
  const sites = keepProb.length;
  if (Array.isArray(sizes) && sizes.length >= 2 && sites !== sizes.length - 1) {
    throw new ArgumentError(
      'spec.keepProb',
      `${sizes.length - 1} keep probabilities (one per dropout site)`,
      describe(keepProb),
    );
  }
  // mlp checks sizes (holes, length) and each keep probability (holes included) itself.
  const hidden: unknown[] = [];
  for (let i = 1; i < sites && i <= 1024; i++) hidden.push(keepProb[i]);
  return mlp({
    sizes,
    activation,
    keepProb: { input: keepProb[0], hidden: hidden as number[] },
    seed,
  } as MlpOptions);
}

function checkCompileOptions(options: CompileOptions): ResolvedCompileOptions {
  checkNotRevoked('options', options);
  if (typeof options !== 'object' || options === null) {
    throw new ArgumentError('options', 'an object with batchSize', describe(options));
  }
  const { batchSize, maxNorm } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new ArgumentError('batchSize', 'an integer ≥ 1', describe(batchSize));
  }
  if (maxNorm !== undefined && !(Number.isFinite(maxNorm) && maxNorm > 0)) {
    throw new ArgumentError('maxNorm', 'a number > 0, or undefined for no constraint', describe(maxNorm));
  }
  const optimizer = options.optimizer === undefined ? sgd({ lr: 0.1 }) : checkOptimizer(options.optimizer);
  const { validate = false } = options;
  if (typeof validate !== 'boolean') {
    throw new ArgumentError('validate', 'true or false, or nothing', describe(validate));
  }
  return { batchSize, optimizer, maxNorm, validate };
}

/** Each option has the type it is documented with: nothing is read as a default but `undefined`. */
function checkBackendOptions(options: BackendOptions): void {
  checkNotRevoked('options', options);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ArgumentError('options', 'an object of backend options, or nothing', describe(options));
  }
  const { precision, gpu, device, powerPreference, autotune, kernelChoice, threads, relaxedSimd } = options;
  const bad = (field: string, expected: string, got: unknown) =>
    new ArgumentError(`options.${field}`, expected, describe(got));
  if (precision !== undefined && precision !== 'f32' && precision !== 'f64') {
    throw bad('precision', "'f32' or 'f64' (CPU only), or nothing", precision);
  }
  if (gpu !== undefined && !hasMethod(gpu, 'requestAdapter')) {
    throw bad('gpu', "a WebGPU entry point (navigator.gpu, or nodeGpu() from 'dropgpu/node')", gpu);
  }
  if (device !== undefined && !(hasMethod(device, 'createBuffer') && hasMethod(device, 'destroy'))) {
    throw bad('device', 'a GPUDevice', device);
  }
  if (
    powerPreference !== undefined &&
    powerPreference !== 'low-power' &&
    powerPreference !== 'high-performance'
  ) {
    throw bad('powerPreference', "'low-power' or 'high-performance', or nothing", powerPreference);
  }
  if (autotune !== undefined && typeof autotune !== 'boolean') {
    throw bad('autotune', 'true or false, or nothing', autotune);
  }
  if (kernelChoice !== undefined && typeof kernelChoice !== 'function') {
    throw bad('kernelChoice', 'a function, or nothing', kernelChoice);
  }
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw bad('threads', 'an integer from 1 to 256', threads);
  }
  if (relaxedSimd !== undefined && typeof relaxedSimd !== 'boolean') {
    throw bad('relaxedSimd', 'true or false, or nothing', relaxedSimd);
  }
}

function hasMethod(value: unknown, name: string): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)[name] === 'function'
  );
}
