/**
 * Opening the WebGPU backend: an adapter and device of the caller's entry point (`navigator.gpu`, or
 * Dawn's in Node), or a device the caller lends, with the limits the library's buffers need.
 */
import { WebGpuUnavailableError } from '../errors.js';
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
  /** Picks the kernel of nodes that several kernels can run, before the autotuner (see `KernelChoice`). */
  kernelChoice?: KernelChoice;
}

export async function openWebGpu(options: WebGpuOptions = {}): Promise<WebGpuDevice> {
  const policy = { autotune: options.autotune ?? true, kernelChoice: options.kernelChoice };
  if (options.device) return new WebGpuDevice(options.device, 'WebGPU (caller’s device)', false, policy);
  const gpu = options.gpu ?? (typeof navigator !== 'undefined' ? navigator.gpu : undefined);
  if (!gpu) throw new WebGpuUnavailableError('WebGPU is not available here: navigator.gpu is missing');
  const adapter = await gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : {},
  );
  if (!adapter)
    throw new WebGpuUnavailableError('WebGPU is not available here: requestAdapter() returned null');
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
