/**
 * The pool without workers (threads = 1): the calling thread runs every call as part 0 of 1. It is the
 * single-threaded SIMD path, for pages without shared memory and for `threads: 1`.
 */
import { ArgumentError, describe, WasmWorkerError } from '../errors.js';
import type { WasmPool } from './pool.js';

export type Kernel = (block: number, step: number, part: number, parts: number) => void;

/** Checks a call list against the exports; undefined when valid, else the error to reject with. */
export function checkCalls(calls: Int32Array, exports: number): ArgumentError | undefined {
  if (!(calls instanceof Int32Array) || calls.length % 2 !== 0) {
    return new ArgumentError('calls', 'an Int32Array of (export index, block) pairs', describe(calls));
  }
  for (let i = 0; i < calls.length; i += 2) {
    const index = calls[i] as number;
    if (index < 0 || index >= exports) {
      return new ArgumentError(`calls[${i}]`, `an export index in [0, ${exports})`, describe(index));
    }
  }
  return undefined;
}

/** threads = 1: the calling thread runs every call as part 0 of 1, synchronously. */
export class InlinePool implements WasmPool {
  readonly threads = 1;
  #error: WasmWorkerError | undefined;

  private constructor(
    readonly memory: WebAssembly.Memory,
    private readonly names: readonly string[],
    private readonly kernels: readonly Kernel[],
  ) {}

  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, names: readonly string[]) {
    // Asynchronous instantiation: browsers refuse large synchronous ones on the main thread.
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const kernels = names.map((name) => {
      const fn = instance.exports[name];
      if (typeof fn !== 'function') throw new WasmWorkerError(`the module exports no function ${name}`, name);
      return fn as Kernel;
    });
    return new InlinePool(memory, names, kernels);
  }

  run(calls: Int32Array, step: number): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    const invalid = checkCalls(calls, this.kernels.length);
    if (invalid) return Promise.reject(invalid);
    for (let i = 0; i < calls.length; i += 2) {
      const index = calls[i] as number;
      try {
        (this.kernels[index] as Kernel)(calls[i + 1] as number, step, 0, 1);
      } catch (error) {
        const name = this.names[index] as string;
        this.#error = new WasmWorkerError(`kernel ${name} (call ${i / 2}) failed: ${text(error)}`, name);
        return Promise.reject(this.#error);
      }
    }
    return Promise.resolve();
  }

  dispose(): void {
    this.#error ??= new WasmWorkerError('the thread pool has been disposed');
  }
}

export function text(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
