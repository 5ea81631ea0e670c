/// <reference types="node" />
/**
 * WebGPU in Node through the `webgpu` npm package (Dawn), an optional dependency. Dawn needs a Vulkan
 * driver; without a GPU, Mesa's lavapipe or the SwiftShader driver that ships with Chromium
 * (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json) will do.
 */
import { WebGpuUnavailableError } from '../errors.js';

/** The `navigator.gpu` of Node: pass it as `createBackend('webgpu', { gpu })`. */
export async function nodeGpu(): Promise<GPU> {
  let dawn: { create(flags: string[]): GPU; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (error) {
    throw new WebGpuUnavailableError(
      `WebGPU in Node needs the package "webgpu" (Dawn, an optional peer dependency of dropgpu): npm install webgpu (${(error as Error).message})`,
    );
  }
  // Dawn's objects check their arguments against these constructors and enums (GPUBufferUsage, …).
  Object.assign(globalThis, dawn.globals);
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  return dawn.create([]);
}
