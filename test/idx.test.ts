/** The IDX parser: every element type parses from hand-built bytes; every kind of damage is a DataFormatError. */
import { describe, expect, it } from 'vitest';
import { MAX_IDX_DIMS, parseIdx } from '../src/data/idx.js';
import { ArgumentError, DataFormatError } from '../src/errors.js';
import { idxBytes, iota } from './idx-build.js';

describe('parseIdx reads valid files', () => {
  it('u8 [2, 3]: header 00 00 08 02 | 00000002 00000003, then the bytes as they are', () => {
    const bytes = Uint8Array.of(0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 10, 20, 30, 40, 50, 255);
    const parsed = parseIdx(bytes);
    expect(parsed.type).toBe('u8');
    expect(parsed.dims).toEqual([2, 3]);
    expect(Array.from(parsed.data)).toEqual([10, 20, 30, 40, 50, 255]);
    expect(parsed.data).toBeInstanceOf(Uint8Array);
  });

  it('accepts an ArrayBuffer and a Uint8Array that views the middle of a larger buffer', () => {
    const file = idxBytes(8, [4], [1, 2, 3, 4]);
    expect(Array.from(parseIdx(file.slice().buffer).data)).toEqual([1, 2, 3, 4]);
    const padded = new Uint8Array(file.length + 7);
    padded.set(file, 3);
    padded[0] = 0xff;
    padded[padded.length - 1] = 0xff;
    const parsed = parseIdx(padded.subarray(3, 3 + file.length));
    expect(parsed.dims).toEqual([4]);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4]);
  });

  it.each([
    [9, 'i8', Int8Array, [-128, -1, 0, 127]],
    [11, 'i16', Int16Array, [-32768, -2, 258, 32767]],
    [12, 'i32', Int32Array, [-(2 ** 31), -3, 65_538, 2 ** 31 - 1]],
    [13, 'f32', Float32Array, [-1.5, 0, 3.25, 1e-3]],
    [14, 'f64', Float64Array, [-1.5, Math.PI, 1e-300, -0]],
  ] as const)('type 0x%s is %s, converted from big-endian', (typeByte, type, Kind, values) => {
    const parsed = parseIdx(idxBytes(typeByte, [2, 2], values));
    expect(parsed.type).toBe(type);
    expect(parsed.data).toBeInstanceOf(Kind);
    expect(Array.from(parsed.data)).toEqual(Array.from(Kind.from(values)));
  });

  it('reads the 2-byte i16 value 0x0102 as 258 (big-endian), not 513', () => {
    const bytes = Uint8Array.of(0, 0, 0x0b, 1, 0, 0, 0, 1, 0x01, 0x02);
    expect(Array.from(parseIdx(bytes).data)).toEqual([258]);
  });

  it(`reads 1 to ${MAX_IDX_DIMS} dimensions`, () => {
    expect(parseIdx(idxBytes(8, [1], [7])).dims).toEqual([1]);
    const four = parseIdx(idxBytes(8, [2, 3, 1, 2], iota(12)));
    expect(four.dims).toEqual([2, 3, 1, 2]);
    expect(Array.from(four.data)).toEqual(iota(12));
  });
});

describe('parseIdx rejects malformed files with a DataFormatError naming the file', () => {
  const good = idxBytes(8, [2, 3], iota(6));
  const edit = (at: number, byte: number): Uint8Array => {
    const copy = good.slice();
    copy[at] = byte;
    return copy;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty input', new Uint8Array(0), /at least 4 bytes, got 0 bytes/],
    ['header cut inside the magic', good.subarray(0, 3), /at least 4 bytes, got 3 bytes/],
    ['bad magic (first byte)', edit(0, 1), /magic starting with 0x00 0x00, got 0x01 0x00/],
    ['bad magic (second byte)', edit(1, 0x80), /magic starting with 0x00 0x00, got 0x00 0x80/],
    ['gzip-compressed input', Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0), /gzip-compressed/],
    ['unsupported type 0x07', edit(2, 7), /type byte .*, got 0x07/],
    ['unsupported type 0x0a', edit(2, 0x0a), /type byte .*, got 0x0a/],
    ['zero dimensions', idxBytes(8, [], []), /1 to 4 dimensions, got 0/],
    ['too many dimensions', idxBytes(8, [1, 1, 1, 1, 1], [9]), /1 to 4 dimensions, got 5/],
    ['a dimension of 0', idxBytes(8, [2, 0, 3], []), /dimension 1 ≥ 1, got 0/],
    ['header shorter than declared', edit(3, 4).subarray(0, 14), /20-byte header .*, got 14 bytes/],
    ['truncated data', good.subarray(0, good.length - 1), /at least 6 data bytes .*, got 5 \(truncated/],
    ['trailing bytes', idxBytes(8, [2, 2], iota(5)), /4 data bytes .*, got 5 \(1 trailing bytes\)/],
    ['truncated multi-byte data', idxBytes(12, [3], [1, 2, 3]).subarray(0, 19), /at least 12 data bytes/],
    ['a part of an element left over', idxBytes(11, [1], [1, 2]).subarray(0, 11), /2 data bytes .*, got 3/],
    [
      'dims whose product overflows 2^32',
      idxBytes(8, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [1]),
      /./,
    ],
    ['dims whose product is 2^32 (wraps to 0 in u32)', idxBytes(8, [0x10000, 0x10000], [1]), /./],
    ['a huge first dim', idxBytes(14, [0x7fffffff, 1], [1]), /at most|truncated/],
  ];

  it.each(cases)('%s', (_case, bytes, message) => {
    let caught: unknown;
    try {
      parseIdx(bytes, 'images.idx');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DataFormatError);
    const error = caught as DataFormatError;
    expect(error.file).toBe('images.idx');
    expect(error.message).toMatch(/^images\.idx: expected .+, got .+/);
    expect(error.message).toMatch(message);
  });

  it('a lying header fails before allocating: 2^31 − 1 elements claimed in a 20-byte file', () => {
    const bytes = idxBytes(14, [0x7fffffff], [1]);
    expect(() => parseIdx(bytes)).toThrow(/truncated data/);
  });

  it('rejects a non-buffer with an ArgumentError', () => {
    expect(() => parseIdx([0, 0, 8, 1] as never)).toThrow(ArgumentError);
    expect(() => parseIdx('0008' as never)).toThrow(
      /bytes: expected an ArrayBuffer or Uint8Array, got "0008"/,
    );
  });
});
