/**
 * Model files in the safetensors format of Hugging Face's `safetensors` (docs/contracts.md, "Parameters"):
 *
 *   bytes [0, 8)       N, the header length, a little-endian u64
 *   bytes [8, 8+N)     the header, UTF-8 JSON: { "__metadata__": { string: string }, "<name>": { "dtype": "F32",
 *                      "shape": [...], "data_offsets": [begin, end] }, ... }, padded with spaces to a multiple of 8
 *   bytes [8+N, end)   the data region: tensor <name> is the little-endian, row-major values at [begin, end)
 *                      of this region, and the tensors cover the region exactly, contiguous, without overlap
 *
 * The reader trusts nothing in the file: every length and offset is checked against the bytes actually there
 * before anything is allocated or parsed, so a lying file costs at most its own size in memory and one pass.
 * The spec in the metadata cannot declare more layers than the file has tensors, so a header declaring
 * millions of layers is refused at once. Every problem is a `ModelFileError` that says which part of the
 * file is wrong, what was expected and what was found, in a message of bounded length (long names and
 * lists are cut), and a key given twice anywhere in the header (JSON.parse would keep the last) is one.
 *
 * Non-finite values: `decodeSafetensors` is a generic reader and keeps them bit for bit (PyTorch files may
 * hold them). `loadSafetensors` rejects them, naming the tensor and index: `setParams` would refuse them,
 * and a model with NaN or infinite weights cannot train or predict.
 */
import { ArgumentError, checkNotRevoked, describe, ModelFileError } from '../errors.js';
import type { Net } from '../net/net.js';
import type { ParamMap, ParamTensor } from '../nn/init.js';
import { biasName, type MlpSpec, mlp, weightName } from '../nn/mlp.js';
import { type DuplicateKey, findDuplicateKey } from './json-keys.js';

/** The reference reader's cap on the header (`MAX_HEADER_SIZE` in huggingface/safetensors). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Caps `loadSafetensors` applies before allocating anything. */
export interface SafetensorsLimits {
  /** Largest header accepted, in bytes. Default 100,000,000, the reference reader's cap. */
  maxHeaderBytes?: number;
}

/** Everything a safetensors file holds, for F32 tensors. */
export interface SafetensorsContents {
  /** By name, in the order of their data in the file. */
  readonly tensors: ParamMap;
  /** The `__metadata__` map (empty when the file has none). */
  readonly metadata: Record<string, string>;
}

/** What `loadSafetensors` returns: compile `spec` on any backend, then `net.setParams(params)`. */
export interface LoadedModel {
  readonly spec: MlpSpec;
  /** `layers.k.weight` [out, in] and `layers.k.bias` [out] for every layer k, in layer order. */
  readonly params: ParamMap;
  /** Training steps the saved net had taken (0 when the file does not say). */
  readonly step: number;
  readonly metadata: Record<string, string>;
}

/** Metadata keys written by `saveSafetensors`. Values are strings, as safetensors requires. */
const SPEC_KEY = 'dropgpu.spec';
const STEP_KEY = 'dropgpu.step';
const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'];
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * The file of a compiled net: its parameters, with its spec and step count in `__metadata__`
 * (`dropgpu.spec`: JSON of { sizes, activation, keepProb (one per dropout site), seed }; `dropgpu.step`;
 * `format`: `"pt"`). Equal parameters and spec give byte-identical files.
 */
export async function saveSafetensors(net: Net): Promise<Uint8Array> {
  if (typeof net !== 'object' || net === null || typeof net.getParams !== 'function') {
    throw new ArgumentError('net', 'a compiled Net', describe(net));
  }
  const params = await net.getParams();
  const { sizes, activation, keepProb, seed } = net.info.spec;
  return encodeSafetensors(params, {
    format: 'pt',
    [SPEC_KEY]: JSON.stringify({ sizes, activation, keepProb, seed }),
    [STEP_KEY]: String(net.step),
  });
}

/**
 * Reads a file written by `saveSafetensors` (or by anything else that follows the layout, e.g. PyTorch's
 * `safetensors.torch.save_file` with the same metadata). Checks the file, rebuilds the spec with `mlp()`,
 * and checks that the tensors are exactly the spec's parameters, with its shapes and finite values.
 */
export function loadSafetensors(bytes: ArrayBuffer | Uint8Array, options?: SafetensorsLimits): LoadedModel {
  const { tensors, metadata } = decodeSafetensors(bytes, options);
  const spec = readSpec(metadata, Object.keys(tensors).length);
  const step = readStep(metadata);
  return { spec, params: checkParams(spec, tensors), step, metadata };
}

/**
 * Writes F32 tensors and string metadata in the safetensors layout, tensors in `params`' key order.
 * `__metadata__` is left out when `metadata` is empty, as the reference writer does.
 */
export function encodeSafetensors(params: ParamMap, metadata: Record<string, string> = {}): Uint8Array {
  if (typeof params !== 'object' || params === null) {
    throw new ArgumentError('params', 'an object of { shape, data } by tensor name', describe(params));
  }
  if (typeof metadata !== 'object' || metadata === null) {
    throw new ArgumentError('metadata', 'an object of strings', describe(metadata));
  }
  // The JSON is assembled by hand so that key order is exactly the caller's and no name (not even
  // "__proto__") goes through an object's prototype machinery.
  const entries: string[] = [];
  const metaEntries = Object.entries(metadata).map(([key, value]) => {
    if (typeof value !== 'string') throw new ArgumentError(`metadata["${key}"]`, 'a string', describe(value));
    return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  });
  if (metaEntries.length > 0) entries.push(`"__metadata__":{${metaEntries.join(',')}}`);
  const tensors = Object.entries(params).map(([name, tensor]) => [name, checkTensor(name, tensor)] as const);
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    const info = `{"dtype":"F32","shape":[${shape.join(',')}],"data_offsets":[${offset},${offset + data.byteLength}]}`;
    entries.push(`${JSON.stringify(name)}:${info}`);
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  // Spaces up to a multiple of 8, as the reference writer pads, so the data starts 8-byte aligned.
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const [, { data }] of tensors) {
    writeLittleEndian(out, view, position, data);
    position += data.byteLength;
  }
  return out;
}

/**
 * Parses and checks a safetensors file of F32 tensors. Throws `ModelFileError` for anything that is not
 * exactly what the layout says, and for dtypes other than F32.
 */
export function decodeSafetensors(
  bytes: ArrayBuffer | Uint8Array,
  options?: SafetensorsLimits,
): SafetensorsContents {
  checkNotRevoked('bytes', bytes);
  checkNotRevoked('options', options);
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new ArgumentError('options', 'nothing, or { maxHeaderBytes }', describe(options));
  }
  const input = asBytes(bytes);
  // Read once; null is not "the default": leave the field out for that.
  const givenMax = options?.maxHeaderBytes;
  const maxHeader = givenMax === undefined ? MAX_HEADER_BYTES : givenMax;
  if (!Number.isSafeInteger(maxHeader) || maxHeader < 2) {
    throw new ArgumentError('options.maxHeaderBytes', 'an integer ≥ 2', describe(maxHeader));
  }
  if (input.length < 8) {
    throw new ModelFileError(
      'header length',
      'at least 8 bytes (a little-endian u64 header length)',
      `a file of ${input.length} bytes`,
    );
  }
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  if (high !== 0 || low > maxHeader) {
    throw new ModelFileError('header length', `at most ${maxHeader} bytes`, `${view.getBigUint64(0, true)}`);
  }
  const dataStart = 8 + low;
  if (dataStart > input.length) {
    throw new ModelFileError(
      'header length',
      `at most ${input.length - 8} bytes (what follows it in this ${input.length}-byte file)`,
      `${low}, past the end of the file`,
    );
  }
  const header = parseHeader(input.subarray(8, dataStart));
  const dataLength = input.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const name of Object.keys(header)) {
    const value = header[name];
    if (name === '__metadata__') metadata = readMetadata(value);
    else entries.push(readEntry(name, value, dataLength));
  }
  checkCoverage(entries, dataLength);
  const tensors: ParamMap = {};
  for (const { name, shape, begin, end } of entries) {
    const data = new Float32Array((end - begin) / 4);
    readLittleEndian(input, view, dataStart + begin, data);
    setOwn<ParamTensor>(tensors, name, { shape, data });
  }
  return { tensors, metadata };
}

interface Entry {
  readonly name: string;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

function asBytes(bytes: unknown): Uint8Array {
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // toString also recognizes an ArrayBuffer from another realm (an iframe, a worker's structured clone).
  if (bytes instanceof ArrayBuffer || Object.prototype.toString.call(bytes) === '[object ArrayBuffer]') {
    try {
      return new Uint8Array(bytes as ArrayBuffer);
    } catch {
      // A buffer transferred away (postMessage, structuredClone) cannot be viewed.
      throw new ArgumentError('bytes', 'an ArrayBuffer that is not detached', 'a detached ArrayBuffer');
    }
  }
  throw new ArgumentError('bytes', 'an ArrayBuffer or Uint8Array', describe(bytes));
}

function parseHeader(raw: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so it fails JSON.parse as it fails the reference.
    // Browsers' TextDecoder refuses views of shared memory: such a header is decoded from a copy.
    const own = raw.buffer instanceof ArrayBuffer ? raw : raw.slice();
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(own);
  } catch {
    throw new ModelFileError('header', 'UTF-8 text', 'bytes that are not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, 120) : String(error);
    throw new ModelFileError('header', 'JSON', `text that is not valid JSON (${reason})`);
  }
  if (!isPlainObject(header)) throw new ModelFileError('header', 'a JSON object', brief(header));
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    const { key, depth } = duplicate;
    const what = depth === 1 ? 'one entry per name' : `one ${quote(key)} entry`;
    throw new ModelFileError(
      duplicatePart(duplicate),
      `${what} (JSON.parse would keep only the last)`,
      `${quote(key)} twice`,
    );
  }
  return header;
}

/** Where in the header a key given twice is: a tensor's name or field, or a metadata key. */
function duplicatePart({ key, within, depth }: DuplicateKey): string {
  if (depth === 1) return key === '__metadata__' ? '__metadata__' : `tensor ${quote(key)}`;
  if (depth === 2 && within === '__metadata__') return `__metadata__[${quote(key)}]`;
  if (depth === 2 && within !== undefined) return `tensor ${quote(within)}`;
  return 'header';
}

function readMetadata(value: unknown): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (value === null) return metadata; // The reference reads null as "no metadata".
  if (!isPlainObject(value)) throw new ModelFileError('__metadata__', 'an object of strings', brief(value));
  for (const key of Object.keys(value)) {
    const entry = value[key];
    if (typeof entry !== 'string') {
      throw new ModelFileError(`__metadata__[${quote(key)}]`, 'a string', brief(entry));
    }
    setOwn(metadata, key, entry);
  }
  return metadata;
}

function readEntry(name: string, value: unknown, dataLength: number): Entry {
  const part = `tensor ${quote(name)}`;
  if (!isPlainObject(value)) {
    throw new ModelFileError(part, 'an object { dtype, shape, data_offsets }', brief(value));
  }
  for (const key of ENTRY_KEYS) {
    if (!Object.hasOwn(value, key)) throw new ModelFileError(part, `a "${key}" entry`, 'none');
  }
  for (const key of Object.keys(value)) {
    if (!ENTRY_KEYS.includes(key)) {
      throw new ModelFileError(part, 'only dtype, shape and data_offsets', `also ${quote(key)}`);
    }
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (dtype !== 'F32')
    throw new ModelFileError(`${part} dtype`, '"F32" (the only dtype dropgpu reads)', brief(dtype));
  if (!Array.isArray(shape))
    throw new ModelFileError(`${part} shape`, 'an array of integers ≥ 0', brief(shape));
  // Saturating product: exact while it matters (below 2^53), and never Infinity or NaN.
  let count = 1;
  shape.forEach((dim: unknown, i) => {
    if (!Number.isSafeInteger(dim) || (dim as number) < 0) {
      throw new ModelFileError(`${part} shape[${i}]`, 'an integer ≥ 0', brief(dim));
    }
    count = Math.min(count * (dim as number), Number.MAX_SAFE_INTEGER);
  });
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw new ModelFileError(`${part} data_offsets`, '[begin, end], two integers', brief(offsets));
  }
  const [begin, end] = offsets as unknown[];
  if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < 0) {
    throw new ModelFileError(`${part} data_offsets`, '[begin, end], two integers ≥ 0', brief(offsets));
  }
  const range = `[${begin}, ${end}]`;
  if ((end as number) < (begin as number)) {
    throw new ModelFileError(`${part} data_offsets`, '[begin, end] with begin ≤ end', range);
  }
  if ((end as number) > dataLength) {
    throw new ModelFileError(
      `${part} data_offsets`,
      `offsets within the data region, [0, ${dataLength}]`,
      `${range}, past its end (a truncated or lying file)`,
    );
  }
  const byteLength = (end as number) - (begin as number);
  if (count * 4 !== byteLength) {
    throw new ModelFileError(
      `${part} data_offsets`,
      `${count * 4} bytes for F32 of shape ${formatShape(shape)}`,
      `${range}, ${byteLength} bytes`,
    );
  }
  return { name, shape: shape as number[], begin: begin as number, end: end as number };
}

/** The tensors must tile the data region exactly: sorted by offset, each starts where the last ended. */
function checkCoverage(entries: Entry[], dataLength: number): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: Entry | undefined;
  for (const entry of entries) {
    const part = `tensor ${quote(entry.name)} data_offsets`;
    const got = `[${entry.begin}, ${entry.end}]`;
    const after = previous ? `where tensor ${quote(previous.name)} ends` : 'the data region';
    if (entry.begin < cursor) {
      throw new ModelFileError(
        part,
        `to start at ${cursor}, ${after} (tensors must not overlap)`,
        `${got}, overlapping it`,
      );
    }
    if (entry.begin > cursor) {
      throw new ModelFileError(
        part,
        `to start at ${cursor}, ${after} (the data must be contiguous)`,
        `${got}, a gap of ${entry.begin - cursor} bytes`,
      );
    }
    cursor = entry.end;
    previous = entry;
  }
  if (cursor !== dataLength) {
    throw new ModelFileError(
      'data region',
      `${cursor} bytes, exactly what the header's tensors cover`,
      `${dataLength} bytes (${dataLength - cursor} not covered by any tensor)`,
    );
  }
}

/** The spec in the metadata; `tensors` (how many the file holds) bounds its layers, one weight and bias each. */
function readSpec(metadata: Record<string, string>, tensors: number): MlpSpec {
  const part = `__metadata__["${SPEC_KEY}"]`;
  const text = Object.hasOwn(metadata, SPEC_KEY) ? metadata[SPEC_KEY] : undefined;
  if (text === undefined) {
    const keys = Object.keys(metadata);
    const got = keys.length === 0 ? 'no metadata' : `only ${formatList(keys.map(quote), 'keys')}`;
    throw new ModelFileError(part, 'the model spec as JSON (as saveSafetensors writes it)', got);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ModelFileError(part, 'JSON', brief(text));
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    throw new ModelFileError(
      part,
      'each key once (JSON.parse would keep only the last)',
      `${quote(duplicate.key)} twice`,
    );
  }
  if (!isPlainObject(raw))
    throw new ModelFileError(part, 'a JSON object { sizes, activation, keepProb, seed }', brief(raw));
  const { sizes, activation, keepProb, seed } = raw;
  // Every field must be present with its type here: mlp() would silently default a missing one.
  if (!Array.isArray(sizes))
    throw new ModelFileError(`${part}.sizes`, 'an array of layer widths', brief(sizes));
  // Before anything is built from it: a layer is a weight and a bias, so more layers than the file has
  // tensors cannot match it, and the work after this point stays proportional to the file.
  if (sizes.length - 1 > tensors) {
    throw new ModelFileError(
      `${part}.sizes`,
      `at most ${tensors + 1} widths, ${tensors} layers (one per weight and bias; the file holds ${tensors} tensors)`,
      brief(sizes),
    );
  }
  if (typeof activation !== 'string')
    throw new ModelFileError(`${part}.activation`, 'a string', brief(activation));
  if (typeof seed !== 'number') throw new ModelFileError(`${part}.seed`, 'a number', brief(seed));
  const sites = sizes.length - 1;
  if (!Array.isArray(keepProb) || keepProb.length !== sites) {
    throw new ModelFileError(
      `${part}.keepProb`,
      `an array of ${sites} keep ${sites === 1 ? 'probability' : 'probabilities'} (the input, then each hidden layer)`,
      brief(keepProb),
    );
  }
  keepProb.forEach((p: unknown, i) => {
    if (typeof p !== 'number' || !(p > 0 && p <= 1)) {
      throw new ModelFileError(`${part}.keepProb[${i}]`, 'a keep probability in (0, 1]', brief(p));
    }
  });
  try {
    return mlp({
      sizes,
      activation: activation as MlpSpec['activation'],
      keepProb: { input: keepProb[0], hidden: keepProb.slice(1) },
      seed,
    });
  } catch (error) {
    if (error instanceof ArgumentError)
      throw new ModelFileError(`${part}.${error.argument}`, error.expected, error.got);
    throw error;
  }
}

function readStep(metadata: Record<string, string>): number {
  if (!Object.hasOwn(metadata, STEP_KEY)) return 0;
  const text = metadata[STEP_KEY] as string;
  const step = /^(0|[1-9][0-9]{0,15})$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(step)) {
    throw new ModelFileError(
      `__metadata__["${STEP_KEY}"]`,
      'a step count, an integer ≥ 0 in decimal',
      brief(text),
    );
  }
  return step;
}

/** Exactly `layers.k.weight` [sizes[k+1], sizes[k]] and `layers.k.bias` [sizes[k+1]], all finite. */
function checkParams(spec: MlpSpec, tensors: ParamMap): ParamMap {
  const { sizes } = spec;
  const specSizes = `spec sizes ${formatSizes(sizes)}`;
  const expected = new Set<string>();
  const params: ParamMap = {};
  for (let k = 0; k + 1 < sizes.length; k++) {
    for (const [name, shape] of [
      [weightName(k), [sizes[k + 1] as number, sizes[k] as number]],
      [biasName(k), [sizes[k + 1] as number]],
    ] as const) {
      expected.add(name);
      checkParam(name, shape, tensors, specSizes);
      params[name] = tensors[name] as ParamTensor;
    }
  }
  for (const name of Object.keys(tensors)) {
    if (!expected.has(name)) {
      throw new ModelFileError(
        `tensor ${quote(name)}`,
        `only layers.k.weight and layers.k.bias for k < ${sizes.length - 1} (${specSizes})`,
        'an extra tensor',
      );
    }
  }
  return params;
}

/** `tensors[name]` exists, has `shape` and finite values. */
function checkParam(name: string, shape: readonly number[], tensors: ParamMap, specSizes: string): void {
  const part = `tensor ${quote(name)}`;
  const tensor = Object.hasOwn(tensors, name) ? tensors[name] : undefined;
  if (!tensor)
    throw new ModelFileError(part, `a tensor of shape ${formatShape(shape)} (${specSizes})`, 'none');
  const same = tensor.shape.length === shape.length && shape.every((d, i) => tensor.shape[i] === d);
  if (!same) {
    throw new ModelFileError(
      `${part} shape`,
      `${formatShape(shape)} (${specSizes})`,
      formatShape(tensor.shape),
    );
  }
  const index = tensor.data.findIndex((v) => !Number.isFinite(v));
  if (index >= 0) {
    throw new ModelFileError(`${part}[${index}]`, 'a finite number', String(tensor.data[index]));
  }
}

function checkTensor(name: string, tensor: ParamTensor | undefined): ParamTensor {
  const argument = `params["${name}"]`;
  if (name === '__metadata__') throw new ArgumentError('params', 'no tensor named "__metadata__"', 'one');
  if (typeof tensor !== 'object' || tensor === null) {
    throw new ArgumentError(argument, 'a { shape, data } tensor', describe(tensor));
  }
  // Read once, and the shape copied: a getter cannot pass the check and then write something else.
  const { shape: givenShape, data } = tensor;
  const shape = Array.isArray(givenShape) ? Array.from(givenShape as unknown[]) : undefined;
  if (!shape?.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new ArgumentError(`${argument}.shape`, 'an array of integers ≥ 0', describe(givenShape));
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (!(data instanceof Float32Array) || data.length !== count) {
    throw new ArgumentError(`${argument}.data`, `a Float32Array of ${count} values`, describe(data));
  }
  return { shape: shape as number[], data };
}

/** Copies f32 values as their bits (NaN payloads included), little-endian on any host. */
function writeLittleEndian(out: Uint8Array, view: DataView, position: number, data: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    return;
  }
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < words.length; i++) view.setUint32(position + 4 * i, words[i] as number, true);
}

/** The inverse of writeLittleEndian. `position` need not be 4-aligned: other writers may not pad. */
function readLittleEndian(input: Uint8Array, view: DataView, position: number, data: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(data.buffer).set(input.subarray(position, position + data.byteLength));
    return;
  }
  const words = new Uint32Array(data.buffer);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(position + 4 * i, true);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Defines rather than assigns, so a name like "__proto__" is an ordinary key. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function formatShape(shape: readonly unknown[]): string {
  return shape.length <= 8
    ? `[${shape.join(', ')}]`
    : `[${shape.slice(0, 8).join(', ')}, … ${shape.length} dims]`;
}

/** A short description of a JSON value for messages; never long, never recursive. */
function brief(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (Array.isArray(value)) {
    const simple =
      value.length <= 8 && value.every((v) => v === null || typeof v === 'number' || typeof v === 'boolean');
    return simple ? JSON.stringify(value) : `an array of length ${value.length}`;
  }
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** A name or key, quoted, cut to 80 characters: a message never carries a whole header. */
function quote(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

/** Layer sizes as `[3,5,4,2]`, the first 8 and a count when there are more. */
function formatSizes(sizes: readonly number[]): string {
  return sizes.length <= 8 ? `[${sizes}]` : `[${sizes.slice(0, 8)},… ${sizes.length} sizes]`;
}

/** The first 3 items, and how many there are in all when there are more. */
function formatList(items: readonly string[], what: string): string {
  return items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')} … (${items.length} ${what})`;
}
