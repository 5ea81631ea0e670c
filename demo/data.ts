/**
 * MNIST for the page: the four IDX files are fetched once from the page's own origin (mnist/, see
 * vite.demo.config.ts), decompressed, and kept as bytes; each run then takes the subset it asks for
 * with `mnistFromIdx`, so a 1,000-example run does not hold 60,000 examples as floats.
 */
import { gunzipIfNeeded } from '../src/data/mnist.js';
import { DataFormatError, type Dataset, mnistFromIdx } from '../src/index.js';

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

type Role = keyof typeof FILES;

export const TRAIN_SIZE = 60_000;
export const TEST_SIZE = 10_000;

export class MnistBytes {
  private constructor(private readonly files: Record<Role, Uint8Array>) {}

  /** Fetches and decompresses the four files; `onProgress` gets the compressed bytes received so far. */
  static async fetch(
    base: string,
    onProgress: (received: number, total: number) => void,
  ): Promise<MnistBytes> {
    const roles = Object.keys(FILES) as Role[];
    const received = new Map<Role, number>();
    const totals = new Map<Role, number>();
    const report = () => {
      const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
      onProgress(sum(received.values()), sum(totals.values()));
    };
    const fetchOne = async (role: Role): Promise<[Role, Uint8Array]> => {
      const url = `${base}${FILES[role]}.gz`;
      const response = await fetch(url).catch((error: unknown) => {
        throw new DataFormatError(url, 'a response', `a network error (${String(error)})`);
      });
      if (!response.ok || !response.body) {
        throw new DataFormatError(
          url,
          'a successful HTTP status',
          `${response.status} ${response.statusText}`,
        );
      }
      totals.set(role, Number(response.headers.get('Content-Length') ?? 0));
      const chunks: Uint8Array[] = [];
      let length = 0;
      const reader = response.body.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        chunks.push(chunk.value);
        length += chunk.value.length;
        received.set(role, length);
        report();
      }
      return [role, await gunzipIfNeeded(concat(chunks, length), url)];
    };
    const files = await Promise.all(roles.map(fetchOne));
    return new MnistBytes(Object.fromEntries(files) as Record<Role, Uint8Array>);
  }

  /** The first `n` training examples, pixels scaled to [0, 1]. */
  train(n: number): Dataset {
    const { trainImages: images, trainLabels: labels } = this.files;
    return mnistFromIdx(
      { images, labels, imagesName: FILES.trainImages, labelsName: FILES.trainLabels },
      { limit: n },
    );
  }

  /** The first `n` test examples. */
  test(n: number): Dataset {
    const { testImages: images, testLabels: labels } = this.files;
    return mnistFromIdx(
      { images, labels, imagesName: FILES.testImages, labelsName: FILES.testLabels },
      { limit: n },
    );
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
