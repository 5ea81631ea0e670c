/**
 * The Wasm backend's heap: byte ranges of the one `WebAssembly.Memory` handed out and taken back, above
 * the kernel module's static data. First fit over a sorted free list with neighbours merged, so a net
 * compiled and disposed leaves the heap as it found it; the memory grows when nothing free fits (it
 * cannot shrink: `bytes` counts what is in use).
 */
import { ArgumentError } from '../errors.js';

/** Every range starts on a cache line: SIMD loads stay aligned and parts of a kernel share no line. */
const ALIGN = 64;
const PAGE = 65536;

export class WasmHeap {
  readonly #memory: WebAssembly.Memory;
  readonly #maximumPages: number;
  /** Free ranges [start, end), sorted, never adjacent. */
  readonly #free: [number, number][] = [];
  readonly #used = new Map<number, number>();
  #top: number;
  #bytes = 0;

  constructor(memory: WebAssembly.Memory, heapBase: number, maximumPages: number) {
    this.#memory = memory;
    this.#maximumPages = maximumPages;
    // Address 0 stays unused: a kernel reads 0 as "no buffer".
    this.#top = Math.max(ALIGN, Math.ceil(heapBase / ALIGN) * ALIGN);
  }

  /** The byte offset of a new range of at least `bytes` (zero-filled), for `label` in errors. */
  alloc(bytes: number, label: string): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let at = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const range = this.#free[i] as [number, number];
      if (range[1] - range[0] < size) continue;
      at = range[0];
      if (range[1] - range[0] === size) this.#free.splice(i, 1);
      else range[0] += size;
      break;
    }
    if (at < 0) {
      at = this.#top;
      this.#grow(at + size, label);
      this.#top = at + size;
    }
    new Uint8Array(this.#memory.buffer, at, size).fill(0);
    this.#used.set(at, size);
    this.#bytes += size;
    return at;
  }

  free(at: number): void {
    const size = this.#used.get(at);
    if (size === undefined) return;
    this.#used.delete(at);
    this.#bytes -= size;
    let start = at;
    let end = at + size;
    let i = this.#free.findIndex((range) => range[0] > start);
    if (i < 0) i = this.#free.length;
    const before = this.#free[i - 1];
    const after = this.#free[i];
    if (after && after[0] === end) {
      end = after[1];
      this.#free.splice(i, 1);
    }
    if (before && before[1] === start) {
      start = before[0];
      this.#free.splice(i - 1, 1);
      i--;
    }
    if (end === this.#top) this.#top = start;
    else this.#free.splice(i, 0, [start, end]);
  }

  /** Ranges in use and their bytes. */
  usage(): { ranges: number; bytes: number } {
    return { ranges: this.#used.size, bytes: this.#bytes };
  }

  #grow(end: number, label: string): void {
    const pages = Math.ceil(end / PAGE);
    const have = this.#memory.buffer.byteLength / PAGE;
    if (pages <= have) return;
    if (pages > this.#maximumPages) {
      throw new ArgumentError(
        'batchSize',
        `a net whose buffers fit the Wasm heap of ${(this.#maximumPages * PAGE) / 2 ** 30} GiB (${label} does not)`,
        `${Math.ceil(end / 2 ** 20)} MiB`,
      );
    }
    try {
      this.#memory.grow(pages - have);
    } catch (error) {
      throw new ArgumentError(
        'batchSize',
        `a net whose buffers fit this engine's memory (${label} needs the Wasm heap to grow to ${Math.ceil(end / 2 ** 20)} MiB)`,
        String((error as Error).message),
      );
    }
  }
}
