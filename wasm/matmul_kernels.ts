// The matmul kernels (see wasm/index.ts).
export const MATMUL_KERNELS: i32 = 0;
