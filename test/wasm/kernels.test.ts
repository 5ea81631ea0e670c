/** The kernel conformance suite (test/conformance/kernels.ts) on the Wasm backend in Node, 3 threads. */
import { openWasm } from '../../src/wasm/open.js';
import { kernelConformance } from '../conformance/kernels.js';

kernelConformance('Wasm kernels vs CPU reference', () => openWasm({ threads: 3 }), false);
