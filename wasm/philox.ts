// Philox4x32-10 (Salmon et al., SC'11), bit-identical to Random123's philox4x32_R(10, ctr, key).
// Port of philox4x32() in src/rng/philox.ts (and twin of shaders/philox.wgsl); Wasm has 64-bit
// integers, so the 32×32→64 multiply is one i64 product.

// The four output words of the last call: Wasm functions return one value, so they land here.
export let philoxWord0: u32 = 0;
export let philoxWord1: u32 = 0;
export let philoxWord2: u32 = 0;
export let philoxWord3: u32 = 0;

// @ts-ignore: decorator
@inline
export function philox4x32(c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): void {
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += 0x9e3779b9;
      k1 += 0xbb67ae85;
    }
    const p0 = <u64>0xd2511f53 * <u64>c0;
    const p1 = <u64>0xcd9e8d57 * <u64>c2;
    const n0 = <u32>(p1 >> 32) ^ c1 ^ k0;
    const n2 = <u32>(p0 >> 32) ^ c3 ^ k1;
    c1 = <u32>p1;
    c3 = <u32>p0;
    c0 = n0;
    c2 = n2;
  }
  philoxWord0 = c0;
  philoxWord1 = c1;
  philoxWord2 = c2;
  philoxWord3 = c3;
}

/**
 * The dropout mask of docs/contracts.md ("Dropout masks") for 4 elements of block `blockIndex`: bit
 * `lane` of the result is set iff element 4·blockIndex + lane is kept (word lane < threshold). Twin of
 * keptAt() in src/rng/philox.ts. `keepAll` (keepProb = 1) keeps everything without drawing.
 */
// @ts-ignore: decorator
@inline
export function keptBits(blockIndex: u32, step: u32, site: u32, stream: u32, k0: u32, k1: u32, threshold: u32, keepAll: bool): u32 {
  if (keepAll) return 0xf;
  philox4x32(blockIndex, step, site, stream, k0, k1);
  return (<u32>(philoxWord0 < threshold)) |
    (<u32>(philoxWord1 < threshold) << 1) |
    (<u32>(philoxWord2 < threshold) << 2) |
    (<u32>(philoxWord3 < threshold) << 3);
}

/** Test entry: Philox of (counter, key) written as 4 u32 at `out`. */
export function philox_test(out: usize, c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): void {
  philox4x32(c0, c1, c2, c3, k0, k1);
  store<u32>(out, philoxWord0);
  store<u32>(out, philoxWord1, 4);
  store<u32>(out, philoxWord2, 8);
  store<u32>(out, philoxWord3, 12);
}
