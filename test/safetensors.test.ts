/** docs/contracts.md, "Parameters" and "Errors": safetensors model files round-trip exactly, interoperate, and refuse every lie. */
import { describe, expect, it } from 'vitest';
import { ArgumentError, DisposedError, ModelFileError } from '../src/errors.js';
import { createBackend, mlp, sgd } from '../src/index.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
} from '../src/io/safetensors.js';
import type { ParamMap } from '../src/nn/init.js';

const spec = mlp({
  sizes: [3, 5, 4, 2],
  activation: 'relu',
  keepProb: { input: 0.8, hidden: [0.5, 0.7] },
  seed: 7,
});
const x = Float32Array.of(0.1, -0.2, 0.3, 1, 0.5, -2, 0.25, 0.75, -1.5, 2, -0.1, 0.4);
const y = Uint8Array.of(1, 0, 1, 0);

async function trainedNet(steps = 3) {
  const backend = await createBackend('cpu');
  const net = await backend.compile(spec, { batchSize: 4, optimizer: sgd({ lr: 0.1, momentum: 0.9 }) });
  for (let i = 0; i < steps; i++) await net.trainStep(x, y);
  return net;
}

function bits(data: Float32Array): Uint32Array {
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
}

function expectSameBits(actual: ParamMap, expected: ParamMap): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [name, tensor] of Object.entries(expected)) {
    const got = actual[name];
    expect(got?.shape, name).toEqual(tensor.shape);
    expect(bits(got?.data ?? new Float32Array()), name).toEqual(bits(tensor.data));
  }
}

/** The test's own reading of a file's header (independent of the library): length, JSON, data. */
function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { header, data: bytes.subarray(8 + n) };
}

/** Reassembles a file by hand: u64 LE length, the JSON text (unpadded unless `pad`), then `data`. */
function assemble(json: string, data: Uint8Array, pad = false): Uint8Array {
  let text = new TextEncoder().encode(json);
  if (pad && text.length % 8 !== 0) text = new TextEncoder().encode(json + ' '.repeat(8 - (text.length % 8)));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** A copy of `bytes` whose header has been changed by `edit` (the data region is kept, or replaced). */
function rewrite(
  bytes: Uint8Array,
  edit: (header: Record<string, Record<string, unknown>>) => void,
  data?: Uint8Array,
): Uint8Array {
  const parts = split(bytes);
  const header = parts.header as Record<string, Record<string, unknown>>;
  edit(header);
  return assemble(JSON.stringify(header), data ?? parts.data);
}

function expectFileError(action: () => unknown, part: string | RegExp, message?: RegExp): ModelFileError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ModelFileError);
  const error = caught as ModelFileError;
  if (typeof part === 'string') expect(error.part).toBe(part);
  else expect(error.part).toMatch(part);
  expect(error.message).toMatch(/^safetensors .+: expected .+, got .+/);
  if (message) expect(error.message).toMatch(message);
  return error;
}

describe('saveSafetensors / loadSafetensors', () => {
  it('round-trips a trained CPU net exactly: spec, step and every bit of every parameter', async () => {
    const net = await trainedNet();
    const params = await net.getParams();
    const file = await saveSafetensors(net);
    const loaded = loadSafetensors(file);
    expect(loaded.spec).toEqual(spec);
    expect(loaded.step).toBe(3);
    expect(loaded.metadata.format).toBe('pt');
    expectSameBits(loaded.params, params);

    // The documented use: compile the spec anywhere, setParams, and it predicts exactly the same.
    const copy = await (await createBackend('cpu')).compile(loaded.spec, { batchSize: 4 });
    copy.setParams(loaded.params);
    expectSameBits(await copy.getParams(), params);
    expect(bits(await copy.predict(x))).toEqual(bits(await net.predict(x)));
  });

  it('accepts an ArrayBuffer and a Uint8Array at an offset into a larger buffer', async () => {
    const file = await saveSafetensors(await trainedNet(1));
    const padded = new Uint8Array(file.length + 5);
    padded.set(file, 3);
    const fromView = loadSafetensors(padded.subarray(3, 3 + file.length));
    const fromBuffer = loadSafetensors(file.slice().buffer);
    expectSameBits(fromView.params, fromBuffer.params);
  });

  it('writes byte-identical files for equal parameters, whichever net holds them', async () => {
    const net = await trainedNet();
    const first = await saveSafetensors(net);
    expect(await saveSafetensors(net)).toEqual(first);
    const other = await (await createBackend('cpu')).compile(spec, { batchSize: 2 });
    for (let i = 0; i < 3; i++) await other.trainStep(x.subarray(0, 6), y.subarray(0, 2)); // a different history
    other.setParams(await net.getParams());
    const otherFile = await saveSafetensors(other);
    // Same parameters and spec; only dropgpu.step could differ, and both nets took 3 steps.
    expect(otherFile).toEqual(first);
  });

  it('puts the spec and step in __metadata__ as strings, and the tensors in layer order', async () => {
    const file = await saveSafetensors(await trainedNet(2));
    const { header } = split(file);
    expect(Object.keys(header)).toEqual([
      '__metadata__',
      'layers.0.weight',
      'layers.0.bias',
      'layers.1.weight',
      'layers.1.bias',
      'layers.2.weight',
      'layers.2.bias',
    ]);
    expect(header.__metadata__).toEqual({
      format: 'pt',
      'dropgpu.spec': '{"sizes":[3,5,4,2],"activation":"relu","keepProb":[0.8,0.5,0.7],"seed":7}',
      'dropgpu.step': '2',
    });
    expect(header['layers.0.weight']).toEqual({ dtype: 'F32', shape: [5, 3], data_offsets: [0, 60] });
  });

  it('refuses a disposed net and a non-net', async () => {
    const net = await trainedNet(0);
    net.dispose();
    await expect(saveSafetensors(net)).rejects.toBeInstanceOf(DisposedError);
    await expect(saveSafetensors({} as never)).rejects.toBeInstanceOf(ArgumentError);
  });
});

describe('interoperability with the reference implementation (Hugging Face safetensors)', () => {
  // The layout, as huggingface/safetensors writes it (safetensors/src/tensor.rs, `prepare` and
  // `serialize`): 8 bytes N as a little-endian u64; N bytes of compact JSON with "__metadata__" first
  // (left out when there is none), then each tensor as {"dtype","shape","data_offsets"} in data order,
  // padded with spaces (0x20) to a multiple of 8 so the data starts 8-aligned; then the data, little-endian.
  // These two vectors are the expected outputs of that file's tests `test_serialization_forced_alignement`
  // and `test_empty`.
  it('writes the same bytes as the reference for its own test vectors', () => {
    const tensor = { shape: [1, 1, 2, 3], data: Float32Array.of(0, 1, 2, 3, 4, 5) };
    // biome-ignore format: the reference's byte listing, kept as it is written there
    const attn0 = [
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
      121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
      91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
      115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
      32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
      160, 64,
    ];
    expect([...encodeSafetensors({ attn0: tensor }, {})]).toEqual(attn0);
    expectSameBits(decodeSafetensors(Uint8Array.from(attn0)).tensors, { attn0: tensor });

    // biome-ignore format: the reference's byte listing, kept as it is written there
    const empty = [
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
      95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
      116, 34, 125, 125, 32, 32, 32, 32, 32,
    ];
    expect([...encodeSafetensors({}, { framework: 'pt' })]).toEqual(empty);
    expect(decodeSafetensors(Uint8Array.from(empty))).toEqual({ tensors: {}, metadata: { framework: 'pt' } });
  });

  // Written by Python safetensors 0.8.0: `safetensors.numpy.save(tensors, metadata={"dropgpu.spec": ...})`
  // with four float32 arrays (the reference sorts tensors by name, so biases come before weights).
  const pythonFile =
    '88010000000000007b225f5f6d657461646174615f5f223a7b2264726f706770752e73706563223a227b5c2273697a65735c223a5b33' +
    '2c322c325d2c5c2261637469766174696f6e5c223a5c2274616e685c222c5c226b65657050726f625c223a5b302e382c302e355d2c5c' +
    '22736565645c223a357d227d2c226c61796572732e302e62696173223a7b226474797065223a22463332222c227368617065223a5b32' +
    '5d2c22646174615f6f666673657473223a5b302c385d7d2c226c61796572732e302e776569676874223a7b226474797065223a224633' +
    '32222c227368617065223a5b322c335d2c22646174615f6f666673657473223a5b382c33325d7d2c226c61796572732e312e62696173' +
    '223a7b226474797065223a22463332222c227368617065223a5b325d2c22646174615f6f666673657473223a5b33322c34305d7d2c22' +
    '6c61796572732e312e776569676874223a7b226474797065223a22463332222c227368617065223a5b322c325d2c22646174615f6f66' +
    '6673657473223a5b34302c35365d7d7d2020202020200000803e000040bf0000003f0000a0bf00000040000000000000604000000' +
    '0be000040c0000000410000803f000000c0000080400000803d';
  const pythonParams: ParamMap = {
    'layers.0.bias': { shape: [2], data: Float32Array.of(0.25, -0.75) },
    'layers.0.weight': { shape: [2, 3], data: Float32Array.of(0.5, -1.25, 2, 0, 3.5, -0.125) },
    'layers.1.bias': { shape: [2], data: Float32Array.of(-3, 8) },
    'layers.1.weight': { shape: [2, 2], data: Float32Array.of(1, -2, 4, 0.0625) },
  };
  const pythonSpec = '{"sizes":[3,2,2],"activation":"tanh","keepProb":[0.8,0.5],"seed":5}';

  it('loads a file written by Python safetensors, and writes it byte for byte given the same order', () => {
    const bytes = Uint8Array.from(pythonFile.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
    const loaded = loadSafetensors(bytes);
    expect(loaded.spec).toEqual(
      mlp({ sizes: [3, 2, 2], activation: 'tanh', keepProb: { input: 0.8, hidden: 0.5 }, seed: 5 }),
    );
    expect(loaded.step).toBe(0);
    // Returned in layer order, whatever the file's order.
    expect(Object.keys(loaded.params)).toEqual([
      'layers.0.weight',
      'layers.0.bias',
      'layers.1.weight',
      'layers.1.bias',
    ]);
    for (const [name, tensor] of Object.entries(pythonParams)) {
      expect(loaded.params[name]?.shape).toEqual(tensor.shape);
      expect(bits(loaded.params[name]?.data ?? new Float32Array())).toEqual(bits(tensor.data));
    }
    expect(encodeSafetensors(pythonParams, { 'dropgpu.spec': pythonSpec })).toEqual(bytes);
  });

  it('loads a file written by hand from the format description, with an unpadded header', () => {
    // Tensors out of order in the header, data in yet another order, header length not a multiple of 8
    // (so the f32 data is misaligned in the buffer).
    const data = new Uint8Array(16);
    const view = new DataView(data.buffer);
    view.setFloat32(0, 1.5, true); // layers.0.bias [1] at [0, 4)
    view.setFloat32(4, -2, true); // layers.0.weight [1, 3] at [4, 16)
    view.setFloat32(8, 0.5, true);
    view.setFloat32(12, 3, true);
    const json =
      '{"layers.0.weight": {"shape": [1, 3], "data_offsets": [4, 16], "dtype": "F32"},' +
      ' "__metadata__": {"dropgpu.spec": "{\\"sizes\\": [3, 1], \\"activation\\": \\"sigmoid\\", \\"keepProb\\": [1], \\"seed\\": 9}", "dropgpu.step": "12", "note": "hi"},' +
      ' "layers.0.bias": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}';
    const file = assemble(json, data);
    expect((file.length - 16) % 8).not.toBe(0);
    const loaded = loadSafetensors(file);
    expect(loaded.spec).toEqual({ sizes: [3, 1], activation: 'sigmoid', keepProb: [1], seed: 9 });
    expect(loaded.step).toBe(12);
    expect(loaded.metadata.note).toBe('hi');
    expect(loaded.params).toEqual({
      'layers.0.weight': { shape: [1, 3], data: Float32Array.of(-2, 0.5, 3) },
      'layers.0.bias': { shape: [1], data: Float32Array.of(1.5) },
    });
  });

  it('decode keeps non-finite values and NaN payloads bit for bit', () => {
    const data = new Uint32Array([0x7fc00001, 0xff800000, 0x3f800000]);
    const tensor = { shape: [3], data: new Float32Array(data.buffer) };
    const file = encodeSafetensors({ t: tensor }, {});
    expect(bits(decodeSafetensors(file).tensors.t?.data ?? new Float32Array())).toEqual(data);
  });
});

describe('malformed, truncated and lying files', () => {
  let good: Uint8Array;
  const goodFile = async () => {
    good ??= await saveSafetensors(await trainedNet(1));
    return good;
  };
  const setLength = (bytes: Uint8Array, n: bigint) => {
    const copy = bytes.slice();
    new DataView(copy.buffer).setBigUint64(0, n, true);
    return copy;
  };

  it('a file shorter than the 8-byte length', () => {
    expectFileError(() => loadSafetensors(new Uint8Array(5)), 'header length', /file of 5 bytes/);
    expectFileError(() => loadSafetensors(new Uint8Array(0)), 'header length');
  });

  it('a header length past the end of the file', async () => {
    const file = await goodFile();
    expectFileError(
      () => loadSafetensors(setLength(file, BigInt(file.length))),
      'header length',
      /past the end/,
    );
    expectFileError(() => loadSafetensors(file.subarray(0, 40)), 'header length', /past the end/);
  });

  it('a huge declared header, refused before anything is read or allocated', async () => {
    const file = await goodFile();
    for (const n of [2n ** 64n - 1n, 2n ** 32n, 100_000_001n]) {
      expectFileError(
        () => loadSafetensors(setLength(file, n)),
        'header length',
        new RegExp(`at most 100000000 bytes, got ${n}`),
      );
    }
    expectFileError(() => loadSafetensors(file, { maxHeaderBytes: 64 }), 'header length', /at most 64 bytes/);
    expect(() => loadSafetensors(file, { maxHeaderBytes: -1 })).toThrow(ArgumentError);
  });

  it('a header that is not UTF-8, not JSON, or not an object', async () => {
    const file = await goodFile();
    const badUtf8 = file.slice();
    badUtf8[20] = 0xff;
    expectFileError(() => loadSafetensors(badUtf8), 'header', /UTF-8/);
    const badJson = file.slice();
    badJson[8] = '#'.charCodeAt(0);
    expectFileError(() => loadSafetensors(badJson), 'header', /not valid JSON/);
    expectFileError(
      () => loadSafetensors(assemble('[1, 2]', new Uint8Array())),
      'header',
      /a JSON object, got \[1,2\]/,
    );
    expectFileError(() => loadSafetensors(assemble('\uFEFF{}', new Uint8Array())), 'header', /JSON/);
  });

  it('a truncated data region', async () => {
    const file = await goodFile();
    expectFileError(
      () => loadSafetensors(file.subarray(0, file.length - 3)),
      'tensor "layers.2.bias" data_offsets',
      /within the data region.*past its end/,
    );
  });

  it('trailing bytes after the last tensor', async () => {
    const file = await goodFile();
    const longer = new Uint8Array(file.length + 4);
    longer.set(file);
    expectFileError(() => loadSafetensors(longer), 'data region', /4 not covered/);
  });

  it('overlapping tensors', async () => {
    const file = await goodFile();
    const lie = rewrite(file, (h) => {
      // layers.0.bias [5] claims the last 20 bytes of layers.0.weight [5, 3] ([0, 60)).
      (h['layers.0.bias'] as Record<string, unknown>).data_offsets = [40, 60];
    });
    expectFileError(
      () => loadSafetensors(lie),
      'tensor "layers.0.bias" data_offsets',
      /must not overlap.*got \[40, 60\], overlapping/,
    );
  });

  it('a gap between tensors', async () => {
    const file = await goodFile();
    const { header, data } = split(file);
    const lie = rewrite(
      file,
      (h) => {
        for (const [name, entry] of Object.entries(h)) {
          if (name === '__metadata__') continue;
          const [begin, end] = entry.data_offsets as number[];
          if (name !== 'layers.0.weight') entry.data_offsets = [(begin as number) + 8, (end as number) + 8];
        }
      },
      Uint8Array.from([...data.subarray(0, 60), ...new Uint8Array(8), ...data.subarray(60)]),
    );
    expect(Object.keys(header).length).toBe(7);
    expectFileError(
      () => loadSafetensors(lie),
      'tensor "layers.0.bias" data_offsets',
      /contiguous.*a gap of 8 bytes/,
    );
  });

  it('offsets out of range, reversed, of the wrong length, or of the wrong type', async () => {
    const file = await goodFile();
    const withOffsets = (offsets: unknown) =>
      rewrite(file, (h) => {
        (h['layers.1.bias'] as Record<string, unknown>).data_offsets = offsets;
      });
    const part = 'tensor "layers.1.bias" data_offsets';
    const { header } = split(file);
    const [begin, end] = (header['layers.1.bias'] as { data_offsets: number[] }).data_offsets as [
      number,
      number,
    ];
    expectFileError(() => loadSafetensors(withOffsets([begin + 1000, end + 1000])), part, /past its end/);
    expectFileError(() => loadSafetensors(withOffsets([end, begin])), part, /begin ≤ end/);
    expectFileError(
      () => loadSafetensors(withOffsets([begin, end + 4])),
      part,
      /16 bytes for F32 of shape \[4\]/,
    );
    expectFileError(() => loadSafetensors(withOffsets([begin])), part, /two integers/);
    expectFileError(() => loadSafetensors(withOffsets([-4, end])), part, /≥ 0/);
    expectFileError(() => loadSafetensors(withOffsets([begin + 0.5, end])), part);
    expectFileError(() => loadSafetensors(withOffsets('0,16')), part);
  });

  it('a dtype other than F32, a bad shape, a missing or unknown field', async () => {
    const file = await goodFile();
    const entry = (edit: (e: Record<string, unknown>) => void) =>
      rewrite(file, (h) => edit(h['layers.0.bias'] as Record<string, unknown>));
    const part = 'tensor "layers.0.bias"';
    expectFileError(
      () => loadSafetensors(entry((e) => (e.dtype = 'F16'))),
      `${part} dtype`,
      /"F32".*got "F16"/,
    );
    expectFileError(() => loadSafetensors(entry((e) => (e.dtype = 'F64'))), `${part} dtype`);
    expectFileError(
      () => loadSafetensors(entry((e) => (e.shape = [-5]))),
      `${part} shape[0]`,
      /integer ≥ 0, got -5/,
    );
    expectFileError(() => loadSafetensors(entry((e) => (e.shape = [2.5, 2]))), `${part} shape[0]`);
    expectFileError(() => loadSafetensors(entry((e) => (e.shape = '5'))), `${part} shape`);
    expectFileError(() => loadSafetensors(entry((e) => delete e.dtype)), part, /"dtype" entry/);
    expectFileError(() => loadSafetensors(entry((e) => delete e.data_offsets)), part, /"data_offsets" entry/);
    expectFileError(() => loadSafetensors(entry((e) => (e.offsets = [0, 1]))), part, /"offsets"/);
    expectFileError(() => loadSafetensors(rewrite(file, (h) => (h['layers.0.bias'] = [1] as never))), part);
  });

  it('tensors whose shapes do not match the spec, or missing or extra tensors', async () => {
    const file = await goodFile();
    // Transposed: same byte count, so only the spec can tell.
    const transposed = rewrite(
      file,
      (h) => ((h['layers.0.weight'] as Record<string, unknown>).shape = [3, 5]),
    );
    expectFileError(
      () => loadSafetensors(transposed),
      'tensor "layers.0.weight" shape',
      /expected \[5, 3\] \(spec sizes \[3,5,4,2\]\), got \[3, 5\]/,
    );
    // The spec says fewer layers than the file has.
    const fewer = rewrite(file, (h) => {
      const meta = h.__metadata__ as Record<string, string>;
      meta['dropgpu.spec'] = '{"sizes":[3,5,4],"activation":"relu","keepProb":[0.8,0.5],"seed":7}';
    });
    expectFileError(
      () => loadSafetensors(fewer),
      'tensor "layers.2.weight"',
      /only .* for k < 2 .*extra tensor/,
    );
    // The spec says a different output width.
    const wider = rewrite(file, (h) => {
      const meta = h.__metadata__ as Record<string, string>;
      meta['dropgpu.spec'] = '{"sizes":[3,5,4,3],"activation":"relu","keepProb":[0.8,0.5,0.7],"seed":7}';
    });
    expectFileError(
      () => loadSafetensors(wider),
      'tensor "layers.2.weight" shape',
      /expected \[3, 4\].*got \[2, 4\]/,
    );
    // Drop the last tensor (and its bytes).
    const { data } = split(file);
    const missing = rewrite(file, (h) => delete h['layers.2.bias'], data.subarray(0, data.length - 8));
    expectFileError(() => loadSafetensors(missing), 'tensor "layers.2.bias"', /shape \[2\].*got none/);
    // An extra tensor after the data.
    const extra = rewrite(
      file,
      (h) =>
        (h['layers.3.bias'] = { dtype: 'F32', shape: [1], data_offsets: [data.length, data.length + 4] }),
      Uint8Array.from([...data, 0, 0, 0, 0]),
    );
    expectFileError(() => loadSafetensors(extra), 'tensor "layers.3.bias"', /extra tensor/);
  });

  it('missing or malformed metadata', async () => {
    const file = await goodFile();
    const meta = (edit: (m: Record<string, unknown>) => void) =>
      rewrite(file, (h) => edit(h.__metadata__ as Record<string, unknown>));
    const specPart = '__metadata__["dropgpu.spec"]';
    expectFileError(
      () => loadSafetensors(rewrite(file, (h) => delete h.__metadata__)),
      specPart,
      /got no metadata/,
    );
    expectFileError(
      () => loadSafetensors(meta((m) => delete m['dropgpu.spec'])),
      specPart,
      /got only "format"/,
    );
    expectFileError(() => loadSafetensors(meta((m) => (m['dropgpu.spec'] = '{sizes'))), specPart, /JSON/);
    expectFileError(() => loadSafetensors(meta((m) => (m['dropgpu.spec'] = '[1]'))), specPart);
    expectFileError(
      () => loadSafetensors(meta((m) => (m['dropgpu.step'] = 3))),
      '__metadata__["dropgpu.step"]',
      /a string, got 3/,
    );
    expectFileError(
      () => loadSafetensors(meta((m) => (m['dropgpu.step'] = '-1'))),
      '__metadata__["dropgpu.step"]',
    );
    expectFileError(
      () => loadSafetensors(meta((m) => (m['dropgpu.step'] = '1e3'))),
      '__metadata__["dropgpu.step"]',
    );
    expectFileError(
      () => loadSafetensors(rewrite(file, (h) => (h.__metadata__ = 'x' as never))),
      '__metadata__',
    );
    const withSpec = (value: Record<string, unknown>) =>
      meta((m) => {
        m['dropgpu.spec'] = JSON.stringify({
          sizes: [3, 5, 4, 2],
          activation: 'relu',
          keepProb: [0.8, 0.5, 0.7],
          seed: 7,
          ...value,
        });
      });
    expectFileError(
      () => loadSafetensors(withSpec({ keepProb: [0.8, 0.5] })),
      `${specPart}.keepProb`,
      /array of 3 keep/,
    );
    expectFileError(() => loadSafetensors(withSpec({ keepProb: [0.8, 0, 0.7] })), `${specPart}.keepProb[1]`);
    expectFileError(
      () => loadSafetensors(withSpec({ keepProb: [0.8, null, 0.7] })),
      `${specPart}.keepProb[1]`,
    );
    expectFileError(
      () => loadSafetensors(withSpec({ activation: 'gelu' })),
      `${specPart}.activation`,
      /one of relu/,
    );
    expectFileError(() => loadSafetensors(withSpec({ activation: null })), `${specPart}.activation`);
    expectFileError(() => loadSafetensors(withSpec({ seed: -1 })), `${specPart}.seed`);
    expectFileError(() => loadSafetensors(withSpec({ seed: undefined })), `${specPart}.seed`);
    expectFileError(() => loadSafetensors(withSpec({ sizes: [3, 0, 4, 2] })), `${specPart}.sizes[1]`);
    expectFileError(() => loadSafetensors(withSpec({ sizes: 'big' })), `${specPart}.sizes`);
  });

  it('non-finite parameter values, named by tensor and index', async () => {
    const file = await goodFile();
    const { data } = split(file);
    const patched = data.slice();
    new DataView(patched.buffer).setFloat32(60 + 4 * 2, Number.NaN, true); // layers.0.bias[2]
    expectFileError(
      () => loadSafetensors(rewrite(file, () => {}, patched)),
      'tensor "layers.0.bias"[2]',
      /finite number, got NaN/,
    );
    new DataView(patched.buffer).setFloat32(4, Number.NEGATIVE_INFINITY, true); // layers.0.weight[1]
    expectFileError(
      () => loadSafetensors(rewrite(file, () => {}, patched)),
      'tensor "layers.0.weight"[1]',
      /-Infinity/,
    );
  });

  it('a tensor named __proto__ is an ordinary name, not a prototype', () => {
    const json = '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const { tensors } = decodeSafetensors(assemble(json, new Uint8Array(4)));
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
  });

  it('bytes that are not bytes', () => {
    expect(() => loadSafetensors('file' as never)).toThrow(ArgumentError);
    expect(() => loadSafetensors(null as never)).toThrow(ArgumentError);
  });

  it('encodeSafetensors refuses what it cannot write faithfully', () => {
    const t = { shape: [2], data: Float32Array.of(1, 2) };
    expect(() => encodeSafetensors({ t: { shape: [3], data: t.data } }, {})).toThrow(ArgumentError);
    expect(() => encodeSafetensors({ t: { shape: [2], data: [1, 2] as never } }, {})).toThrow(ArgumentError);
    expect(() => encodeSafetensors({ t: { shape: [-2], data: t.data } }, {})).toThrow(ArgumentError);
    expect(() => encodeSafetensors({ __metadata__: t }, {})).toThrow(ArgumentError);
    expect(() => encodeSafetensors({ t }, { n: 1 as never })).toThrow(ArgumentError);
  });
});
