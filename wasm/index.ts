// The Wasm backend's kernels (AssemblyScript, compiled by scripts/wasm-kernels.ts). Every kernel
// works on raw pointers into the one shared memory and computes part `part` of `parts` of its output.
export { philox_test } from './philox';
