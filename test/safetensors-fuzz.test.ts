/**
 * docs/contracts.md, "Errors": a malformed, truncated or lying safetensors file gives the library's own error, never a
 * RangeError, TypeError or SyntaxError from inside, and never a hang. 10,000 seeded mutations of small
 * valid files; every one must either load into a self-consistent model or throw a DropgpuError.
 */
import { describe, expect, it } from 'vitest';
import { DropgpuError } from '../src/errors.js';
import { createBackend, mlp } from '../src/index.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  type LoadedModel,
  loadSafetensors,
  type SafetensorsContents,
  saveSafetensors,
} from '../src/io/safetensors.js';
import { philox4x32 } from '../src/rng/philox.js';

const CASES = 10_000;

/** Seeded words from Philox: word i is lane i mod 4 of philox4x32([floor(i / 4), stream, 0, 0], [seed, 0]). */
class Rng {
  #index = 0;
  #block: Uint32Array = new Uint32Array(4);
  constructor(
    readonly seed: number,
    readonly stream: number,
  ) {}
  u32(): number {
    if (this.#index % 4 === 0) this.#block = philox4x32([this.#index / 4, this.stream, 0, 0], [this.seed, 0]);
    return this.#block[this.#index++ % 4] as number;
  }
  /** Uniform integer in [0, n) for n ≤ 2^32 (the tiny modulo bias does not matter here). */
  int(n: number): number {
    return Math.floor((this.u32() / 2 ** 32) * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } | null {
  if (bytes.length < 8) return null;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (8 + n > bytes.length) return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return null;
    return { header, data: bytes.subarray(8 + n) };
  } catch {
    return null;
  }
}

function assemble(json: string, data: Uint8Array, pad: boolean): Uint8Array {
  const padding = pad ? ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8) : '';
  const text = new TextEncoder().encode(json + padding);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const NUMBERS = [
  0,
  1,
  2,
  3,
  4,
  5,
  8,
  12,
  24,
  60,
  -1,
  -4,
  0.5,
  1.5,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 60,
  1e300,
];
const ODD_VALUES = [null, true, 'x', '', [], {}, [1, 2], -0, 'F32'];

function randomValue(rng: Rng): unknown {
  return rng.int(3) === 0 ? rng.pick(ODD_VALUES) : rng.pick(NUMBERS);
}

function randomInts(rng: Rng, limit: number): number[] {
  return Array.from({ length: rng.int(4) }, () => (rng.int(4) === 0 ? rng.pick(NUMBERS) : rng.int(limit)));
}

/** Lies told in the header, each with the length rewritten to match so they get past the framing. */
function lieInHeader(rng: Rng, bytes: Uint8Array): Uint8Array {
  const parts = split(bytes);
  if (!parts) return flipBytes(rng, bytes);
  const { header } = parts;
  let { data } = parts;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names.length > 0 ? rng.pick(names) : 'layers.0.weight';
  const entry = header[name];
  const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
  const size = data.length;
  switch (rng.int(12)) {
    case 0:
      e.data_offsets = rng.int(2) ? [rng.int(size + 16), rng.int(size + 16)] : randomValue(rng);
      break;
    case 1: {
      const offsets = Array.isArray(e.data_offsets) ? (e.data_offsets as number[]) : [0, 0];
      const shift = rng.pick([-8, -4, -1, 1, 4, 8]);
      e.data_offsets = [(offsets[0] ?? 0) + (rng.int(2) ? shift : 0), (offsets[1] ?? 0) + shift];
      break;
    }
    case 2:
      e.shape = rng.int(2) ? randomInts(rng, 7) : randomValue(rng);
      break;
    case 3:
      // A consistent lie: same element count, different shape (transposed or flattened).
      if (Array.isArray(e.shape)) {
        const shape = e.shape as number[];
        e.shape = rng.int(2) ? [...shape].reverse() : [shape.reduce((a, b) => a * b, 1)];
      }
      break;
    case 4:
      e.dtype = rng.pick(['F16', 'BF16', 'F64', 'I32', 'U8', 'f32', 'F32 ', null, 4]);
      break;
    case 5:
      delete e[rng.pick(['dtype', 'shape', 'data_offsets'])];
      break;
    case 6:
      e[rng.pick(['offsets', 'dtype2', '__proto__'])] = randomValue(rng);
      break;
    case 7:
      delete header[name];
      break;
    case 8: {
      const extra = rng.pick(['layers.9.weight', 'layers.0.weight ', '__proto__', 'constructor', '']);
      header[extra] = { dtype: 'F32', shape: [1], data_offsets: [size, size + 4] };
      data = Uint8Array.from([...data, 0, 0, 128, 63]);
      break;
    }
    case 9:
      header[rng.pick(['layers.7.bias', 'toString', name.toUpperCase()])] = header[name];
      delete header[name];
      break;
    case 10:
      header.__metadata__ = lieInMetadata(rng, header.__metadata__);
      break;
    default:
      header[name] = randomValue(rng);
  }
  return assemble(JSON.stringify(header), data, rng.int(2) === 0);
}

function lieInMetadata(rng: Rng, metadata: unknown): unknown {
  if (rng.int(8) === 0) return randomValue(rng);
  const m = { ...(typeof metadata === 'object' && metadata !== null ? metadata : {}) } as Record<
    string,
    unknown
  >;
  if (rng.int(4) === 0) {
    m['dropgpu.step'] = rng.pick(['0', '7', '-1', '1.5', '1e3', ' 1', '', '99999999999999999', 3]);
    return m;
  }
  let spec: Record<string, unknown> = {};
  try {
    spec = JSON.parse(String(m['dropgpu.spec']));
  } catch {}
  const key = rng.pick(['sizes', 'activation', 'keepProb', 'seed']);
  const current = spec[key];
  if (rng.int(3) === 0) spec[key] = randomValue(rng);
  else if (Array.isArray(current) && current.length > 0) current[rng.int(current.length)] = randomValue(rng);
  else if (rng.int(2) === 0) delete spec[key];
  else spec[key] = rng.pick(['relu', 'tanh', 'gelu', 2 ** 53, 1.5, -3]);
  m['dropgpu.spec'] = rng.int(16) === 0 ? '{"sizes":' : JSON.stringify(spec);
  return m;
}

function flipBytes(rng: Rng, bytes: Uint8Array, from = 0, to = bytes.length): Uint8Array {
  const out = bytes.slice();
  if (to <= from) return out;
  for (let k = 1 + rng.int(4); k > 0; k--) {
    const at = from + rng.int(to - from);
    out[at] = (out[at] as number) ^ (1 + rng.int(255));
  }
  return out;
}

function mutate(rng: Rng, bytes: Uint8Array): Uint8Array {
  const headerEnd = Math.min(
    bytes.length,
    8 + (bytes.length >= 8 ? new DataView(bytes.buffer).getUint32(0, true) : 0),
  );
  switch (rng.int(11)) {
    case 0:
      return bytes.slice(0, rng.int(bytes.length));
    case 1:
      return flipBytes(rng, bytes);
    case 2:
      return flipBytes(rng, bytes, 8, headerEnd);
    case 3: {
      if (bytes.length < 8) return flipBytes(rng, bytes);
      const out = bytes.slice();
      const view = new DataView(out.buffer);
      const declared = headerEnd - 8;
      const choice = rng.int(5);
      if (choice === 0) view.setBigUint64(0, 2n ** 64n - 1n, true);
      else if (choice === 1) view.setBigUint64(0, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()), true);
      else if (choice === 2) view.setUint32(0, rng.u32(), true);
      else if (choice === 3) view.setUint32(4, 1 + rng.int(255), true);
      else view.setUint32(0, Math.max(0, declared + rng.pick([-9, -8, -1, 1, 2, 8, 100])), true);
      return out;
    }
    case 4:
    case 5:
      return lieInHeader(rng, bytes);
    case 6: {
      const at = rng.int(bytes.length + 1);
      const inserted = Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
      return Uint8Array.from([...bytes.subarray(0, at), ...inserted, ...bytes.subarray(at)]);
    }
    case 7: {
      const at = rng.int(bytes.length);
      const count = 1 + rng.int(Math.min(16, bytes.length - at));
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + count)]);
    }
    case 8:
      // Flips in the data region: usually still a valid file, with other (sometimes non-finite) values.
      return flipBytes(rng, bytes, headerEnd);
    case 9: {
      // Truths told differently: keys reordered, whitespace, padding or not. Should still load.
      const parts = split(bytes);
      if (!parts) return bytes;
      // Now and then, a header that is JSON but not an object.
      if (rng.int(16) === 0) return assemble(JSON.stringify(randomValue(rng)), parts.data, true);
      const keys = Object.keys(parts.header);
      if (rng.int(2)) keys.reverse();
      const meta = parts.header.__metadata__;
      const metaKeys = typeof meta === 'object' && meta !== null ? Object.keys(meta) : [];
      const json = JSON.stringify(
        parts.header,
        [...keys, 'dtype', 'shape', 'data_offsets', ...metaKeys],
        rng.int(3),
      );
      return assemble(json, parts.data, rng.int(2) === 0);
    }
    default: {
      // Non-finite values in the data region.
      const out = bytes.slice();
      const words = Math.floor((out.length - headerEnd) / 4);
      if (words > 0) {
        const word = rng.pick([0x7fc00000, 0x7f800000, 0xff800000, 0x7f800001]);
        new DataView(out.buffer).setUint32(headerEnd + 4 * rng.int(words), word, true);
      }
      return out;
    }
  }
}

function checkDecoded({ tensors, metadata }: SafetensorsContents, size: number): void {
  let bytes = 0;
  for (const { shape, data } of Object.values(tensors)) {
    expect(data).toBeInstanceOf(Float32Array);
    expect(data.length).toBe(shape.reduce((a, b) => a * b, 1));
    bytes += data.byteLength;
  }
  expect(bytes).toBeLessThanOrEqual(size);
  for (const value of Object.values(metadata)) expect(typeof value).toBe('string');
}

function checkLoaded(model: LoadedModel): void {
  const { spec, params, step } = model;
  const { sizes } = spec;
  expect(
    mlp({ ...spec, keepProb: { input: spec.keepProb[0] ?? 1, hidden: spec.keepProb.slice(1) } }),
  ).toEqual(spec);
  expect(Number.isSafeInteger(step) && step >= 0).toBe(true);
  const names: string[] = [];
  for (let k = 0; k + 1 < sizes.length; k++) {
    names.push(`layers.${k}.weight`, `layers.${k}.bias`);
    expect(params[`layers.${k}.weight`]?.shape).toEqual([sizes[k + 1], sizes[k]]);
    expect(params[`layers.${k}.bias`]?.shape).toEqual([sizes[k + 1]]);
  }
  expect(Object.keys(params)).toEqual(names);
  for (const { data } of Object.values(params)) expect(data.every(Number.isFinite)).toBe(true);
  // What loaded saves and loads back to the same bits.
  const again = loadSafetensors(encodeSafetensors(params, model.metadata));
  for (const [name, { data }] of Object.entries(params)) {
    expect(new Uint32Array(again.params[name]?.data.buffer ?? new ArrayBuffer(0))).toEqual(
      new Uint32Array(data.buffer),
    );
  }
}

describe('safetensors fuzz', () => {
  it(`${CASES} seeded mutations load consistently or throw DropgpuError`, { timeout: 30_000 }, async () => {
    const backend = await createBackend('cpu');
    const bases = [
      await saveSafetensors(
        await backend.compile(mlp({ sizes: [2, 3, 2], keepProb: { input: 0.9, hidden: 0.5 }, seed: 3 }), {
          batchSize: 2,
        }),
      ),
      await saveSafetensors(
        await backend.compile(mlp({ sizes: [1, 1], activation: 'tanh', seed: 2 ** 40 }), { batchSize: 1 }),
      ),
    ];
    const outcomes = new Map<string, number>();
    const started = performance.now();
    for (let i = 0; i < CASES; i++) {
      const rng = new Rng(20_240_601, i);
      let bytes = rng.pick(bases);
      for (let m = 1 + rng.int(3); m > 0; m--) bytes = mutate(rng, bytes);
      let outcome: string;
      try {
        checkDecoded(decodeSafetensors(bytes), bytes.length);
        checkLoaded(loadSafetensors(bytes));
        outcome = 'loaded';
      } catch (error) {
        if (!(error instanceof DropgpuError)) {
          const hex = Buffer.from(bytes).toString('hex');
          throw new Error(`case ${i}: ${String(error)}\nfile: ${hex}`, { cause: error });
        }
        outcome = `${error.name}: ${'part' in error ? String(error.part).replace(/"[^"]*"/g, '"…"') : ''}`;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    const elapsed = performance.now() - started;
    const table = [...outcomes].sort((a, b) => b[1] - a[1]);
    console.log(
      `${CASES} cases in ${elapsed.toFixed(0)} ms\n${table.map(([k, n]) => `${n}\t${k}`).join('\n')}`,
    );
    // The mutations must reach deep: loads, and errors from the framing, the header and the spec.
    expect(outcomes.get('loaded') ?? 0).toBeGreaterThan(100);
    for (const part of ['header length', 'header', '__metadata__["…"]']) {
      expect(outcomes.get(`ModelFileError: ${part}`) ?? 0, part).toBeGreaterThan(20);
    }
    expect(table.filter(([k]) => k.includes('data_offsets')).length).toBeGreaterThan(0);
  });
});
