declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}

/** The Wasm kernels (wasm/), compiled by scripts/wasm-kernels.ts: base64 modules, each importing env.memory. */
declare module 'virtual:wasm-kernels' {
  /** 128-bit SIMD. */
  export const simd: string;
  /** The same with relaxed-SIMD fused multiply-add. */
  export const relaxed: string;
  /** The two builds above with an unshared memory (no threads). */
  export const simdUnshared: string;
  export const relaxedUnshared: string;
  /** The shared memory's declared maximum, in 64 KiB pages. */
  export const maximumPages: number;
}
