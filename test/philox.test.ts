import { describe, expect, it } from 'vitest';
import { dropoutMask, keepThreshold, mulhi32, philox4x32, seedKey } from '../src/rng/philox.js';
import { PHILOX_KAT } from './kat.js';

describe('philox4x32', () => {
  it.each(PHILOX_KAT)('matches Random123 for counter %j key %j', (counter, key, expected) => {
    expect(Array.from(philox4x32(counter, key))).toEqual(expected);
  });

  it('mulhi32 equals the high word of the exact 64-bit product', () => {
    const values = [
      0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0xd2511f53, 0xcd9e8d57, 123456789,
    ];
    for (let i = 0; i < 2000; i++) values.push(philox4x32([i, 99, 0, 0], [1, 2])[0] as number);
    for (const a of values) {
      for (const b of values.slice(0, 40)) {
        const exact = Number((BigInt(a) * BigInt(b)) >> 32n);
        if (mulhi32(a, b) !== exact)
          throw new Error(`mulhi32(${a}, ${b}) = ${mulhi32(a, b)}, expected ${exact}`);
      }
    }
  });

  it('seedKey splits a 53-bit seed into two words', () => {
    expect(seedKey(5)).toEqual([5, 0]);
    expect(seedKey(2 ** 32 + 7)).toEqual([7, 1]);
    expect(seedKey(2 ** 53 - 1)).toEqual([0xffffffff, 0x1fffff]);
  });
});

describe('dropout mask (docs/contracts.md, "Dropout masks")', () => {
  it('keeps element i iff word i mod 4 of the counter [i/4, t, s, 0] is below floor(p·2^32)', () => {
    const seed = 2 ** 32 + 11;
    const mask = dropoutMask(seed, 3, 2, 0.5, 10);
    for (let i = 0; i < 10; i++) {
      const word = philox4x32([Math.floor(i / 4), 3, 2, 0], [11, 1])[i % 4] as number;
      expect(mask[i]).toBe(word < 2 ** 31 ? 1 : 0);
    }
  });

  it.each([0.1, 0.5, 0.8, 0.999])('keeps a fraction within 4σ of keepProb %f over 10^6 draws', (keepProb) => {
    const n = 1_000_000;
    const mask = dropoutMask(42, 0, 1, keepProb, n);
    let kept = 0;
    for (const bit of mask) kept += bit;
    const sigma = Math.sqrt(n * keepProb * (1 - keepProb));
    expect(Math.abs(kept - n * keepProb)).toBeLessThan(4 * sigma);
  });

  it('keepProb 1 keeps everything and has no threshold', () => {
    expect(keepThreshold(1)).toBeNull();
    expect(dropoutMask(1, 0, 0, 1, 33).every((bit) => bit === 1)).toBe(true);
    expect(keepThreshold(0.5)).toBe(2 ** 31);
  });

  it('differs across steps, sites and seeds, and repeats for the same (seed, step, site)', () => {
    const base = dropoutMask(7, 4, 1, 0.5, 4096);
    const same = (a: Uint8Array, b: Uint8Array) => a.every((bit, i) => bit === b[i]);
    expect(same(base, dropoutMask(7, 4, 1, 0.5, 4096))).toBe(true);
    expect(same(base, dropoutMask(7, 5, 1, 0.5, 4096))).toBe(false);
    expect(same(base, dropoutMask(7, 4, 2, 0.5, 4096))).toBe(false);
    expect(same(base, dropoutMask(8, 4, 1, 0.5, 4096))).toBe(false);
    // A prefix of a longer activation has the same mask: the mask depends on the index, not the shape.
    expect(same(base.subarray(0, 1000), dropoutMask(7, 4, 1, 0.5, 1000))).toBe(true);
  });
});
