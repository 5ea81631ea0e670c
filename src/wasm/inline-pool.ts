/**
 * The pool without workers (threads = 1): the calling thread runs every part of every call, in part
 * order. It is the single-threaded SIMD path, for pages without shared memory and for `threads: 1`, and
 * the thread pool's path for runs too small to wake its workers for.
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

/** Checks a parts list against a call list (see WasmPool.run); undefined when valid. */
export function checkParts(parts: Int32Array | undefined, calls: Int32Array): ArgumentError | undefined {
  if (parts === undefined) return undefined;
  if (!(parts instanceof Int32Array) || parts.length !== calls.length / 2) {
    return new ArgumentError('parts', `an Int32Array of ${calls.length / 2} part counts`, describe(parts));
  }
  for (const [i, n] of parts.entries()) {
    if (n === 0 || !Number.isInteger(n)) return new ArgumentError(`parts[${i}]`, 'nonzero', describe(n));
  }
  return undefined;
}

/** threads = 1: the calling thread runs every part of every call, synchronously. */
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

  run(calls: Int32Array, step: number, parts?: Int32Array): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    const invalid = checkCalls(calls, this.kernels.length) ?? checkParts(parts, calls);
    if (invalid) return Promise.reject(invalid);
    const error = this.execute(calls, step, parts);
    return error ? Promise.reject(error) : Promise.resolve();
  }

  /** Runs validated calls now; the error that fails the pool, if a kernel throws. */
  execute(calls: Int32Array, step: number, parts?: Int32Array): WasmWorkerError | undefined {
    for (let i = 0; i < calls.length; i += 2) {
      const index = calls[i] as number;
      const kernel = this.kernels[index] as Kernel;
      const block = calls[i + 1] as number;
      // Without a parts list a call is one part, as a pool of one thread splits it.
      const n = Math.abs(parts?.[i / 2] ?? 1);
      let part = 0;
      try {
        for (; part < n; part++) kernel(block, step, part, n);
      } catch (error) {
        const name = this.names[index] as string;
        const which = n > 1 ? `, part ${part} of ${n}` : '';
        this.#error = new WasmWorkerError(
          `kernel ${name} (call ${i / 2}${which}) failed: ${text(error)}`,
          name,
        );
        return this.#error;
      }
    }
    return undefined;
  }

  dispose(): void {
    this.#error ??= new WasmWorkerError('the thread pool has been disposed');
  }
}

export function text(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
