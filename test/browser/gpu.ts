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
