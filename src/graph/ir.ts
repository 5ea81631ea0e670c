// Moved to src/ir/ir.ts; kept while the Wasm kernels land.
export * from '../ir/ir.js';
