// Compile-time switches of the kernels. scripts/wasm-kernels.ts builds the module twice: as written
// here, and with RELAXED = true (relaxed-SIMD fused multiply-add), which the engine may not validate.
export const RELAXED: bool = false;
