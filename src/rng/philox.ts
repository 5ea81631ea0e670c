/**
 * Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3" (SC'11), bit-identical to Random123's `philox4x32_R(10, ctr, key)`.
 *
 * Only u32 arithmetic: `Math.imul` gives the low word of the 32×32 product and the high word is built
 * from 16-bit halves, the same way the WGSL twin does it (WGSL has no 64-bit integers).
 * WGSL twin: shaders/philox.wgsl.
 */

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product a·b, for u32 a and b. */
export function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const loHi = aLo * bHi;
  const hiLo = aHi * bLo;
  // Carry out of the low word: the three terms that land in bits 16..47, summed below 2^18.
  const carry = ((loLo >>> 16) + (loHi & 0xffff) + (hiLo & 0xffff)) >>> 16;
  return (aHi * bHi + (loHi >>> 16) + (hiLo >>> 16) + carry) >>> 0;
}

/**
 * Philox4x32-10 of a 4×u32 counter under a 2×u32 key. Pure: the same (counter, key) always gives the
 * same four words. Inputs are taken modulo 2^32.
 */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  let c0 = (counter[0] ?? 0) >>> 0;
  let c1 = (counter[1] ?? 0) >>> 0;
  let c2 = (counter[2] ?? 0) >>> 0;
  let c3 = (counter[3] ?? 0) >>> 0;
  let k0 = (key[0] ?? 0) >>> 0;
  let k1 = (key[1] ?? 0) >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** The Philox key of a user seed: [seed mod 2^32, floor(seed / 2^32)] (docs/contracts.md, "Dropout masks"). */
export function seedKey(seed: number): [number, number] {
  return [(seed % 2 ** 32) >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/**
 * Stream tags in counter word 3. Dropout masks use 0, as docs/contracts.md, "Dropout masks" fixes; other uses of the seed
 * take other tags so that no two ever draw the same numbers.
 */
export const STREAM = { dropout: 0, init: 1, shuffle: 2, mcDropout: 3 } as const;

/**
 * The keep threshold of docs/contracts.md, "Dropout masks": an element is kept iff its Philox word is below
 * floor(keepProb · 2^32). Returns `null` for keepProb = 1 (keep everything; 2^32 does not fit a u32).
 */
export function keepThreshold(keepProb: number): number | null {
  return keepProb >= 1 ? null : Math.floor(keepProb * 2 ** 32);
}

/**
 * The dropout mask of docs/contracts.md, "Dropout masks" for site `site` at training step `step`: 1 where the element at
 * row-major index i of the `[batch, width]` activation is kept, 0 where dropped. `length` = batch·width.
 */
export function dropoutMask(
  seed: number,
  step: number,
  site: number,
  keepProb: number,
  length: number,
): Uint8Array {
  const mask = new Uint8Array(length);
  const threshold = keepThreshold(keepProb);
  if (threshold === null) return mask.fill(1);
  const key = seedKey(seed);
  for (let block = 0; block * 4 < length; block++) {
    const words = philox4x32([block, step, site, STREAM.dropout], key);
    for (let lane = 0; lane < 4 && block * 4 + lane < length; lane++) {
      mask[block * 4 + lane] = (words[lane] as number) < threshold ? 1 : 0;
    }
  }
  return mask;
}

/**
 * Whether element `index` is kept (docs/contracts.md, "Dropout masks"; `stream` is counter word 3, STREAM.dropout in training)
 * under a key from `seedKey` and a threshold from `keepThreshold` (null: keep everything). One element
 * at a time, for the CPU references. WGSL twin: dropout_kept() in shaders/philox.wgsl.
 */
export function keptAt(
  key: readonly number[],
  step: number,
  site: number,
  stream: number,
  threshold: number | null,
  index: number,
): boolean {
  if (threshold === null) return true;
  const block = Math.floor(index / 4);
  const cached = lastBlock;
  if (
    cached.block !== block ||
    cached.step !== step ||
    cached.site !== site ||
    cached.stream !== stream ||
    cached.key0 !== key[0] ||
    cached.key1 !== key[1]
  ) {
    lastBlock = {
      block,
      step,
      site,
      stream,
      key0: key[0] ?? 0,
      key1: key[1] ?? 0,
      words: philox4x32([block, step, site, stream], key),
    };
  }
  return (lastBlock.words[index % 4] as number) < threshold;
}

// The words of the block keptAt drew last: elements come in index order, four to a block.
let lastBlock: {
  block: number;
  step: number;
  site: number;
  stream: number;
  key0: number;
  key1: number;
  words: Uint32Array;
} = { block: -1, step: -1, site: -1, stream: -1, key0: -1, key1: -1, words: new Uint32Array(4) };
