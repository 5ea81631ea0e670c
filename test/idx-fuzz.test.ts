/**
 * Seeded mutations of valid IDX files (truncation, byte flips, lying dimension counts and dims,
 * insertions, deletions). Every result must either parse to something the bytes really hold (re-encoding
 * it gives the input back) or throw the library's own error; never a RangeError or TypeError from a
 * typed-array constructor, and never an allocation larger than the input.
 */
import { describe, expect, it } from 'vitest';
import { parseIdx } from '../src/data/idx.js';
import { type Dataset, mnistFromIdx } from '../src/data/mnist.js';
import { DropgpuError } from '../src/errors.js';
import { philox4x32 } from '../src/rng/philox.js';
import { IDX_SIZES, idxBytes, iota } from './idx-build.js';

const CASES = 10_000;
const TYPE_BYTES: Record<string, number> = { u8: 8, i8: 9, i16: 11, i32: 12, f32: 13, f64: 14 };

/** Uniform integers in [0, n) from Philox words of (case, draw); the case number alone fixes a case. */
function generator(caseIndex: number, seed: number): (n: number) => number {
  let draw = 0;
  return (n) => {
    const word = philox4x32([caseIndex, draw++, 0, 0], [seed, 0x1d3]);
    return Math.floor(((word[0] as number) / 2 ** 32) * n);
  };
}

const INTERESTING_U32 = [0, 1, 2, 3, 27, 28, 255, 256, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

function mutate(input: Uint8Array, rand: (n: number) => number): Uint8Array {
  let bytes = input.slice();
  const setU32 = (at: number, value: number) => {
    if (at + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(at, value >>> 0, false);
  };
  const edits = 1 + rand(3);
  for (let e = 0; e < edits; e++) {
    switch (rand(8)) {
      case 0:
        bytes = bytes.slice(0, rand(bytes.length + 1));
        break;
      case 1:
        if (bytes.length > 0) bytes[rand(bytes.length)] = rand(256);
        break;
      case 2:
        if (bytes.length > 3) bytes[3] = rand(4) === 0 ? rand(256) : rand(7);
        break;
      case 3:
        setU32(
          4 + 4 * rand(4),
          rand(2) ? (INTERESTING_U32[rand(INTERESTING_U32.length)] as number) : rand(2 ** 32),
        );
        break;
      case 4:
        if (bytes.length > 2) bytes[2] = rand(2) ? rand(256) : ([8, 9, 11, 12, 13, 14][rand(6)] as number);
        break;
      case 5: {
        const at = rand(bytes.length + 1);
        const extra = Array.from({ length: 1 + rand(8) }, () => rand(256));
        bytes = Uint8Array.of(...bytes.subarray(0, at), ...extra, ...bytes.subarray(at));
        break;
      }
      case 6: {
        const at = rand(bytes.length + 1);
        bytes = Uint8Array.of(...bytes.subarray(0, at), ...bytes.subarray(at + 1 + rand(8)));
        break;
      }
      default:
        // Keep the header and the byte count, but let dims trade sizes (a header that lies consistently).
        setU32(4, rand(64));
        setU32(8, rand(64));
    }
  }
  return bytes;
}

/** The IDX file a parse result describes: equal to the input iff the parser read exactly what was there. */
function reencode(parsed: ReturnType<typeof parseIdx>): Uint8Array {
  return idxBytes(TYPE_BYTES[parsed.type] as number, parsed.dims, parsed.data);
}

/**
 * Re-encoding the result gives the input back, byte for byte, except inside float elements that are NaN:
 * a NaN's payload bits need not survive a round trip through a JS number.
 */
function expectSameFile(parsed: ReturnType<typeof parseIdx>, bytes: Uint8Array, size: number): void {
  const again = reencode(parsed);
  expect(again.length).toBe(bytes.length);
  const header = 4 + 4 * parsed.dims.length;
  for (let i = 0; i < bytes.length; i++) {
    if (again[i] === bytes[i]) continue;
    const element = Math.floor((i - header) / size);
    if (i < header || !Number.isNaN(parsed.data[element])) {
      throw new Error(`byte ${i} re-encodes as ${again[i]}, input has ${bytes[i]} (dims [${parsed.dims}])`);
    }
  }
}

function expectOwnError(error: unknown, bytes: Uint8Array): void {
  if (!(error instanceof DropgpuError)) {
    throw new Error(`foreign error ${String(error)} for bytes [${Array.from(bytes.subarray(0, 24))}…]`);
  }
}

describe('parseIdx under seeded mutations', () => {
  const bases = [
    idxBytes(8, [3, 4, 5], iota(60)),
    idxBytes(
      9,
      [7],
      iota(7).map((i) => i * 37 - 128),
    ),
    idxBytes(11, [2, 3], [-1, 2, -300, 400, 5, 32767]),
    idxBytes(
      12,
      [2, 2, 2],
      iota(8).map((i) => i * 1e8),
    ),
    idxBytes(13, [5], [0.5, -1, 3, 1e-7, 1e30]),
    idxBytes(14, [1, 2, 1, 2], [Math.E, -0.25, 1e-300, 4]),
  ];

  it(`${CASES} cases parse consistently or throw a DropgpuError`, () => {
    let parsed = 0;
    const outcomes = new Map<string, number>();
    for (let c = 0; c < CASES; c++) {
      const rand = generator(c, 2024);
      const base = bases[rand(bases.length)] as Uint8Array;
      const bytes = mutate(base, rand);
      let result: ReturnType<typeof parseIdx>;
      try {
        result = parseIdx(bytes, `case ${c}`);
      } catch (error) {
        expectOwnError(error, bytes);
        const key = (error as Error).message.replace(/^case \d+: /, '').replace(/\d+/g, 'N');
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        continue;
      }
      parsed++;
      const size = IDX_SIZES[TYPE_BYTES[result.type] as number] as number;
      expect(result.data.byteLength).toBeLessThanOrEqual(bytes.length);
      expect(result.data.length).toBe(result.dims.reduce((a, b) => a * b, 1));
      expect(4 + 4 * result.dims.length + result.data.length * size).toBe(bytes.length);
      expectSameFile(result, bytes, size);
    }
    // The mutations must reach both outcomes and most kinds of rejection, or the fuzzing proves little.
    expect(parsed).toBeGreaterThan(CASES / 50);
    const kinds = [...outcomes.keys()].join('\n');
    for (const kind of [
      'magic',
      'type byte',
      'dimensions, got',
      'header',
      'truncated data',
      'trailing',
      '≥ N',
    ]) {
      expect(kinds).toContain(kind);
    }
  });

  it('mnistFromIdx on mutated files: a Dataset that matches the bytes, or a DropgpuError', () => {
    const images = idxBytes(
      8,
      [3, 28, 28],
      iota(3 * 784).map((i) => (i * 7) % 256),
    );
    const labels = idxBytes(8, [3], [5, 0, 9]);
    let built = 0;
    for (let c = 0; c < 500; c++) {
      const rand = generator(c, 7);
      const which = rand(3);
      const mutatedImages = which !== 1 ? mutate(images, rand) : images;
      const mutatedLabels = which !== 0 ? mutate(labels, rand) : labels;
      let data: Dataset;
      try {
        data = mnistFromIdx({ images: mutatedImages, labels: mutatedLabels });
      } catch (error) {
        expectOwnError(error, mutatedImages);
        continue;
      }
      expect(data.x.length).toBe(data.n * 784);
      expect(data.y.length).toBe(data.n);
      expect(8 + data.n).toBe(mutatedLabels.length);
      expect(16 + 784 * data.n).toBe(mutatedImages.length);
      for (const label of data.y) expect(label).toBeLessThan(10);
      built++;
    }
    expect(built).toBeGreaterThan(10);
  });
});
