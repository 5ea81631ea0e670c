/**
 * Opening the WebGPU backend: an adapter and device of the caller's entry point (`navigator.gpu`, or
 * Dawn's in Node), or a device the caller lends, with the limits the library's buffers need.
 */
import { WebGpuUnavailableError } from '../errors.js';
import { isSoftwareAdapterName, setTuningStore, type TuningStore } from './autotune.js';
import { type KernelChoice, WebGpuDevice } from './device.js';

export interface WebGpuOptions {
  /**
   * Use this device instead of requesting one. It is not destroyed by `dispose()`. Backends opened
   * on one device share its compiled pipelines: a second backend compiles a known net without
   * compiling pipelines again.
   */
  device?: GPUDevice;
  /** The WebGPU entry point, e.g. the `webgpu` npm package's `create([])` in Node. Default `navigator.gpu`. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /**
   * Time the interchangeable kernels of each large enough node at compile and keep the fastest, per
   * adapter and shape (src/webgpu/autotune.ts; they compute the same bits). Default true; false runs
   * the defaults.
   */
  autotune?: boolean;
  /**
   * Where the autotuner's choices persist (for the whole page or process: the last backend opened
   * with one sets it). Default `localStorage` where there is one; null keeps them in memory only.
   */
  tuningStore?: TuningStore | null;
  /** Picks the kernel of nodes that several kernels can run, before the autotuner (see `KernelChoice`). */
  kernelChoice?: KernelChoice;
}

/** The caller's WebGPU entry point and an adapter of it, or why there is none. */
export async function requestAdapter(
  options: WebGpuOptions = {},
): Promise<{ gpu: GPU; adapter: GPUAdapter } | { missing: string }> {
  const gpu = options.gpu ?? (typeof navigator !== 'undefined' ? navigator.gpu : undefined);
  if (!gpu) {
    const inNode = typeof process !== 'undefined' && Boolean(process.versions?.node);
    const hint = inNode
      ? " (in Node, use createBackend from 'dropgpu/node': it brings Dawn, npm install webgpu)"
      : '';
    return { missing: `navigator.gpu is missing${hint}` };
  }
  const adapter = await gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : {},
  );
  return adapter ? { gpu, adapter } : { missing: 'requestAdapter() returned null' };
}

/**
 * Whether an adapter emulates a GPU on the CPU (SwiftShader, llvmpipe, lavapipe, or any adapter that
 * says it is a fallback): there the Wasm backend runs the same work several times faster.
 */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback =
    (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    info?.isFallbackAdapter === true;
  const { vendor, architecture, device, description } = info ?? {};
  const name = [vendor, architecture, device, description].join(' ').toLowerCase();
  return fallback || isSoftwareAdapterName(name);
}

export async function openWebGpu(
  options: WebGpuOptions = {},
  found?: { gpu: GPU; adapter: GPUAdapter },
): Promise<WebGpuDevice> {
  if (options.tuningStore !== undefined) setTuningStore(options.tuningStore);
  const policy = { autotune: options.autotune ?? true, kernelChoice: options.kernelChoice };
  if (options.device) return new WebGpuDevice(options.device, 'WebGPU (caller’s device)', false, policy);
  const requested = found ?? (await requestAdapter(options));
  if ('missing' in requested)
    throw new WebGpuUnavailableError(`WebGPU is not available here: ${requested.missing}`);
  const { gpu, adapter } = requested;
  const device = await adapter.requestDevice({
    label: 'dropgpu',
    requiredLimits: deviceLimits(adapter),
    requiredFeatures: deviceFeatures(adapter),
  });
  const { vendor, architecture, description } = adapter.info;
  const name = [vendor, architecture, description].filter(Boolean).join(' ');
  return new WebGpuDevice(device, `WebGPU: ${name || 'unknown adapter'}`, true, policy, [gpu, adapter]);
}

/**
 * The limits requested of the device: the adapter's own for what the library's buffers and kernels
 * can use (buffer sizes; workgroup storage and invocations for the tiled matmul candidates; storage
 * buffers per stage for fused kernels). A kernel still checks what it gets (`GPUDevice.limits`).
 */
export function deviceLimits(adapter: GPUAdapter): Record<string, number> {
  const wanted = [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxStorageBuffersPerShaderStage',
  ] as const;
  const limits: Record<string, number> = {};
  for (const name of wanted) {
    const value = adapter.limits[name];
    if (typeof value === 'number') limits[name] = value;
  }
  return limits;
}

/**
 * The features requested where the adapter has them: `timestamp-query` (the autotuner times
 * dispatches on the GPU's clock) and `subgroups` (for kernels that may use it; none does yet).
 */
export function deviceFeatures(adapter: GPUAdapter): GPUFeatureName[] {
  const wanted = ['timestamp-query', 'subgroups'] as GPUFeatureName[];
  return wanted.filter((name) => adapter.features.has(name));
}
