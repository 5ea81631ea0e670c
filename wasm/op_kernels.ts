// The kernels of every op but matmul (see wasm/index.ts).
export const OP_KERNELS: i32 = 0;
