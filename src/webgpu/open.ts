/**
 * Opening the WebGPU backend: an adapter and device of the caller's entry point (`navigator.gpu`, or
 * Dawn's in Node), or a device the caller lends, with the limits the library's buffers need.
 */
import { WebGpuUnavailableError } from '../errors.js';
import { setTuningStore, type TuningStore } from './autotune.js';
import { type KernelChoice, WebGpuDevice } from './device.js';

export interface WebGpuOptions {
  /** Use this device instead of requesting one. It is not destroyed by `dispose()`. */
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
  return fallback || /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/.test(name);
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
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const { vendor, architecture, description } = adapter.info;
  const name = [vendor, architecture, description].filter(Boolean).join(' ');
  return new WebGpuDevice(device, `WebGPU: ${name || 'unknown adapter'}`, true, policy, [gpu, adapter]);
}
