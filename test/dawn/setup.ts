/**
 * The `dawn` test project (`npm run test:lavapipe`): the GPU conformance files of test/browser run in
 * Node through the `webgpu` package (Dawn) on whatever Vulkan driver VK_ICD_FILENAMES names — Mesa's
 * lavapipe in CI — so every kernel candidate is checked on a second software implementation besides
 * Chromium's SwiftShader. The files ask `navigator.gpu` for an adapter, as in a page.
 */
import { nodeGpu } from '../../src/node/gpu.js';

const gpu = await nodeGpu();
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
