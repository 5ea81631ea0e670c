/// <reference types="node" />
/**
 * `createBackend` for Node: dropgpu's, with Dawn (the optional `webgpu` package) as the WebGPU entry
 * point and the autotuner's choices kept in a cache file.
 */
import { type Backend, type BackendOptions, createBackend as createAnyBackend } from '../backend.js';
import type { BackendKind } from '../device/device.js';
import { WebGpuUnavailableError } from '../errors.js';
import { nodeGpu } from './gpu.js';
import { fileTuningStore } from './tuning-store.js';

const NO_DRIVER =
  "WebGPU in Node (Dawn) found no adapter: it needs a Vulkan driver. Without a GPU, install Mesa's " +
  'lavapipe (Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1; Fedora: mesa-vulkan-drivers), ' +
  "or use createBackend('wasm'), which is faster than WebGPU emulated on a CPU";

/**
 * A backend, as `createBackend` from `dropgpu` picks it, in Node: without `options.gpu` or
 * `options.device`, WebGPU comes from Dawn (`nodeGpu()`) when the `webgpu` package is installed, and
 * is chosen on a hardware GPU adapter (else the Wasm backend, as in a browser). The autotuner's
 * choices persist in {@link defaultTuningFile} unless `options.tuningStore` says otherwise.
 *
 * @throws WebGpuUnavailableError for 'webgpu' when the `webgpu` package is missing (install it) or
 * Dawn finds no adapter (install a Vulkan driver: the message says which).
 */
export async function createBackend(kind?: BackendKind, options: BackendOptions = {}): Promise<Backend> {
  if (
    (kind !== undefined && kind !== 'webgpu') ||
    typeof options !== 'object' ||
    options === null ||
    options.gpu !== undefined ||
    options.device !== undefined
  ) {
    return createAnyBackend(kind, options);
  }
  const withStore: BackendOptions =
    options.tuningStore === undefined ? { ...options, tuningStore: fileTuningStore() } : options;
  let gpu: GPU;
  try {
    gpu = await nodeGpu();
  } catch (error) {
    if (kind === 'webgpu') throw error; // its message says to install `webgpu`
    return createAnyBackend(kind, options); // no Dawn: the Wasm backend
  }
  try {
    return await createAnyBackend(kind, { ...withStore, gpu });
  } catch (error) {
    if (error instanceof WebGpuUnavailableError && /requestAdapter\(\) returned null/.test(error.message)) {
      throw Object.defineProperty(new WebGpuUnavailableError(NO_DRIVER), 'cause', { value: error });
    }
    throw error;
  }
}
