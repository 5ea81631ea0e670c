// The Wasm backend's kernels (AssemblyScript, compiled by scripts/wasm-kernels.ts into one module).
// Every kernel export follows the calling convention of src/kernels/wasm.ts.
export { philox_test } from './philox';
export * from './matmul_kernels';
export * from './op_kernels';

/** Where the module's static data (e.g. Mathf's lookup tables) ends: buffers go above it. */
export function heap_base(): usize {
  return __heap_base;
}
