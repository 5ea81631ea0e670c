/**
 * Getting a WebGPU device in a browser test. Without an adapter the GPU tests skip and say why, except
 * under CI, where a missing adapter is a failure: a green run must mean the GPU code ran.
 */
import { inject } from 'vitest';

export interface GpuContext {
  device: GPUDevice;
  adapterInfo: GPUAdapterInfo;
}

export async function requestTestDevice(): Promise<GpuContext | string> {
  const gpu = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (!adapter) {
    const reason = gpu ? 'navigator.gpu.requestAdapter() returned null' : 'navigator.gpu is missing';
    if (inject('ci')) throw new Error(`CI requires a WebGPU adapter: ${reason}`);
    console.warn(`Skipping WebGPU tests: ${reason}`);
    return reason;
  }
  const device = await adapter.requestDevice({ label: 'dropgpu test device' });
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') console.error(`WebGPU device lost: ${info.message}`);
  });
  return { device, adapterInfo: adapter.info };
}

/**
 * A device with the adapter's own `maxStorageBuffersPerShaderStage` (as openWebGpu requests it), for
 * the kernels that bind more than the default 8 (matmul's fused Adam step needs 9); or why there is
 * none. An adapter that offers fewer skips those tests and says so, except under CI, where CI's
 * adapter (SwiftShader, 10) must run them.
 */
export async function requestWideDevice(needed: number): Promise<GpuContext | string> {
  const adapter = typeof navigator !== 'undefined' ? await navigator.gpu?.requestAdapter() : null;
  if (!adapter) return requestTestDevice();
  const offered = adapter.limits.maxStorageBuffersPerShaderStage;
  if (offered < needed) {
    const reason = `the adapter offers ${offered} storage buffers a shader stage, the kernel needs ${needed}`;
    if (inject('ci')) throw new Error(`CI requires ${needed} storage buffers a stage: ${reason}`);
    console.warn(`Skipping the tests of kernels with ${needed} storage buffers: ${reason}`);
    return reason;
  }
  const device = await adapter.requestDevice({
    label: 'dropgpu test device (adapter storage-buffer limit)',
    requiredLimits: { maxStorageBuffersPerShaderStage: offered },
  });
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') console.error(`WebGPU device lost: ${info.message}`);
  });
  return { device, adapterInfo: adapter.info };
}
