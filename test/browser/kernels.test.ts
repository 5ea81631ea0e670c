/**
 * The kernel conformance suite (test/conformance/kernels.ts) in the browser: on WebGPU, with the tests
 * of its own kernel variants, and on the Wasm backend as a page runs it (threads when the page is
 * cross-origin isolated).
 */
import { openWasm } from '../../src/wasm/open.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { kernelConformance } from '../conformance/kernels.js';
import { type GpuContext, requestTestDevice } from './gpu.js';

const gpu = await requestTestDevice();

if (typeof gpu !== 'string') {
  kernelConformance(
    'GPU kernels vs CPU reference',
    (forced) => openWebGpu({ device: (gpu as GpuContext).device, kernelChoice: forced }),
    true,
  );
}
kernelConformance('Wasm kernels vs CPU reference (browser)', () => openWasm(), false);
