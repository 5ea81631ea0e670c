// Moved to src/kernels/dropout-words.ts; kept while the Wasm kernels land.
export * from '../kernels/dropout-words.js';
