// The Wasm backend's kernels (AssemblyScript, compiled by scripts/wasm-kernels.ts into one module).
// Every kernel export follows the calling convention of src/kernels/wasm.ts.
export { philox_test } from './philox';
export * from './matmul_kernels';
export * from './op_kernels';
