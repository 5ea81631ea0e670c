/**
 * The Wasm backend's thread pool: runs lists of kernel calls on worker threads that share one
 * `WebAssembly.Memory`. A call `(exportIndex, block)` runs as n parts, each calling
 * `exports[name](block, step, p, n)` once, with a barrier before the next call. n comes with the call
 * (the device fixes it by the node's shape), not from the thread count, and the workers claim parts
 * from a shared counter: on shared cores a descheduled worker delays only the part it holds, where a
 * static split waits for its whole share. As kernels write each output from one part in a fixed order,
 * results depend neither on n nor on which worker ran which part. A call marked small runs all its parts
 * on one worker, and a run of small calls alone runs on the calling thread without waking any. With
 * `threads` = 1 there are no workers: calls run inline on the calling thread (the single-threaded SIMD
 * path, for when shared memory or workers are unavailable).
 *
 * One run costs the main thread no message: it appends a record (step pointer and calls) to a ring of
 * words in a SharedArrayBuffer and bumps a counter the idle workers wait on; the workers cross their
 * barriers with Atomics alone, and the last one to finish a record bumps a done counter that the main
 * thread awaits with Atomics.waitAsync (or, where that is missing, a `done` message). Runs queue: a run
 * submitted while others are pending is appended behind them and the workers go straight on to it.
 * The worker side and the message types are in worker-main.ts.
 */
import { ArgumentError, describe, WasmWorkerError } from '../errors.js';
import { checkCalls, checkParts, InlinePool } from './inline-pool.js';

export { WasmWorkerError } from '../errors.js';

import { type ControlLayout, RECORD_RELOAD, RECORD_WRAP } from './worker-main.js';
import { startWorkers, type WorkerHandle } from './workers.js';

export interface WasmPool {
  /** Workers (1: calls run inline on the calling thread, no workers). */
  readonly threads: number;
  readonly memory: WebAssembly.Memory;
  /**
   * Runs the calls (pairs: export index into `exportNames`, block pointer) in order with `step`; every
   * part of a call finishes before any part of the next starts. Runs execute in the order `run` is
   * called; the blocks and step of a queued run must stay as they are until it resolves. `parts[i]`:
   * the parts of call i (n > 0: shared among the workers; −n: n parts on one thread, for a call too
   * small to share); without it every call runs as `threads` parts.
   */
  run(calls: Int32Array, step: number, parts?: Int32Array): Promise<void>;
  /** Ends the workers; pending and later runs reject with a {@link WasmWorkerError}. */
  dispose(): void;
}

export interface WasmPoolOptions {
  /** A module importing only `env.memory` (shared); the kernels are its exports. */
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** The exports that calls name by index. */
  readonly exportNames: readonly string[];
  /** Workers: 1 (calls run inline) or more. */
  readonly threads: number;
}

/**
 * Whether shared memory (hence worker threads) can be had: SharedArrayBuffer is defined and, in a
 * browser, the page is cross-origin isolated (COOP/COEP headers), without which browsers refuse to
 * share memory with workers.
 */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return isolated !== false;
}

/** Creates a pool; resolves once every worker has instantiated the module. */
export async function createWasmPool(options: WasmPoolOptions): Promise<WasmPool> {
  const { module, memory, exportNames, threads } = options;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ArgumentError('threads', 'an integer ≥ 1', describe(threads));
  }
  if (threads === 1) return InlinePool.create(module, memory, exportNames);
  return ThreadPool.create(options);
}

/** Control words: counters on separate 64-byte lines, so spinning on one does not slow the others. */
const LAYOUT: ControlLayout = {
  submitted: 0,
  done: 16,
  abort: 32,
  message: 33,
  arrived: 48,
  generation: 64,
  claimed: 80,
  ring: 96,
};

/** Atomics.load polls before Atomics.wait when workers have their own cores: ~10-40 µs (3-10 ns each). */
const SPIN = 4096;

/** Ring words at the start (3 per call + 2 per run); grows when a run does not fit. */
const INITIAL_RING = 1 << 14;

interface Pending {
  /** Where this record's words begin in the ring (its wrap marker, if it wrapped). */
  readonly start: number;
  resolve(): void;
  reject(error: Error): void;
}

interface Queued {
  readonly calls: Int32Array;
  readonly parts: Int32Array | undefined;
  readonly step: number;
  resolve(): void;
  reject(error: Error): void;
}

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/** threads ≥ 2: workers claiming parts. */
class ThreadPool implements WasmPool {
  #workers: WorkerHandle[] = [];
  #control: Int32Array;
  #writeAt = 0;
  /** Records completed, as last read from the done counter (wraps like it). */
  #completed = 0;
  #pending: Pending[] = [];
  /** Runs that do not fit the ring yet; they go in as pending ones complete. */
  #backlog: Queued[] = [];
  #waiting = false;
  #error: WasmWorkerError | undefined;
  readonly #waitAsync: WaitAsync | undefined = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly threads: number,
    private readonly exports: number,
    /** Runs of small calls only, on this thread. */
    private readonly inline: InlinePool,
  ) {
    this.#control = new Int32Array(new SharedArrayBuffer((LAYOUT.ring + INITIAL_RING) * 4));
    if (!this.#waitAsync) this.#control[LAYOUT.message] = 1;
  }

  static async create(options: WasmPoolOptions): Promise<ThreadPool> {
    const { module, memory, exportNames, threads } = options;
    if (!sharedMemoryAvailable()) {
      throw new WasmWorkerError(
        'worker threads need SharedArrayBuffer (in a browser: a cross-origin-isolated page)',
      );
    }
    if (!(memory.buffer instanceof SharedArrayBuffer)) {
      throw new ArgumentError('memory', 'a shared WebAssembly.Memory', 'an unshared one');
    }
    const inline = await InlinePool.create(module, memory, exportNames);
    const pool = new ThreadPool(memory, threads, exportNames.length, inline);
    // Spinning is fast while every worker has a core, and ruinous when they share: a spinning worker
    // holds the core that the one it waits for needs. Between runs the calling thread needs a core
    // too (to collect a run and submit the next), hence the stricter test there.
    const available = await cores();
    const spin = threads <= available ? SPIN : 64;
    const idleSpin = threads < available ? SPIN : 64;
    let started = 0;
    let onStarted: (() => void) | undefined;
    const ready = new Promise<void>((resolve) => {
      onStarted = resolve;
    });
    const { workers, started: release } = await startWorkers(threads, (index) => ({
      message: (message) => {
        if (message.type === 'ready') {
          if (++started === threads) onStarted?.();
        } else if (message.type === 'done') {
          pool.#collect();
        } else {
          const where = message.exportName === undefined ? `worker ${index}` : `kernel ${message.exportName}`;
          const part = message.part === undefined ? '' : `, part ${message.part} of ${message.parts}`;
          const call = message.call === undefined ? '' : ` (call ${message.call}${part})`;
          pool.#fail(new WasmWorkerError(`${where}${call} failed: ${message.message}`, message.exportName));
          onStarted?.();
        }
      },
      failed: (reason) => {
        pool.#fail(new WasmWorkerError(reason));
        onStarted?.();
      },
    }));
    pool.#workers = workers;
    for (const worker of workers) {
      worker.post({
        type: 'init',
        module,
        memory,
        exportNames,
        control: pool.#control.buffer as SharedArrayBuffer,
        layout: LAYOUT,
        workers: threads,
        spin,
        idleSpin,
      });
    }
    // Keep the process alive while the workers start, as while a run is pending.
    pool.#workers[0]?.ref(true);
    await ready;
    // Browsers: the workers have read the Blob URL of their code.
    release();
    pool.#workers[0]?.ref(false);
    if (pool.#error) throw pool.#error;
    return pool;
  }

  run(calls: Int32Array, step: number, parts?: Int32Array): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    const invalid = checkCalls(calls, this.exports) ?? checkParts(parts, calls);
    if (invalid) return Promise.reject(invalid);
    // Small calls alone, with no run ahead of them: waking the workers would cost more than the work.
    if (parts?.every((n) => n < 0) && this.#pending.length === 0 && this.#backlog.length === 0) {
      const error = this.inline.execute(calls, step, parts);
      if (!error) return Promise.resolve();
      this.#fail(error);
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      if (this.#backlog.length > 0 || !this.#submit(calls, parts, step, resolve, reject)) {
        // Copied: the caller may reuse its arrays once `run` returns.
        this.#backlog.push({ calls: calls.slice(), parts: parts?.slice(), step, resolve, reject });
        this.#drain();
      }
      this.#watch();
    });
  }

  dispose(): void {
    this.#fail(new WasmWorkerError('the thread pool has been disposed'));
  }

  /** Appends a run record to the ring if it fits now; false if it does not. */
  #submit(
    calls: Int32Array,
    parts: Int32Array | undefined,
    step: number,
    resolve: () => void,
    reject: (error: Error) => void,
  ): boolean {
    const c = this.#control;
    const capacity = c.length - LAYOUT.ring;
    const words = 2 + 1.5 * calls.length;
    const oldest = this.#pending[0]?.start;
    let at = this.#writeAt;
    // Free words: all when nothing is pending; else [at, capacity) and [0, oldest) when at ≥ oldest,
    // else [at, oldest). Strictly below `oldest`, so that at = oldest only ever means empty.
    let wrap = false;
    if (oldest === undefined) {
      if (words > capacity) return false;
      wrap = at + words > capacity;
    } else if (at >= oldest) {
      if (at + words > capacity) {
        if (words >= oldest) return false;
        wrap = true;
      }
    } else if (at + words >= oldest) {
      return false;
    }
    const start = at;
    if (wrap) {
      if (at < capacity) c[LAYOUT.ring + at] = RECORD_WRAP;
      at = 0;
    }
    c[LAYOUT.ring + at] = calls.length / 2;
    c[LAYOUT.ring + at + 1] = step;
    for (let i = 0, w = LAYOUT.ring + at + 2; i < calls.length; i += 2, w += 3) {
      c[w] = calls[i] as number;
      c[w + 1] = calls[i + 1] as number;
      c[w + 2] = parts?.[i / 2] ?? this.threads;
    }
    this.#writeAt = at + words;
    this.#pending.push({ start, resolve, reject });
    // The atomic add publishes the plain writes above to the workers that see the new count.
    Atomics.add(c, LAYOUT.submitted, 1);
    Atomics.notify(c, LAYOUT.submitted);
    return true;
  }

  /** Moves backlogged runs into the ring while they fit; grows the ring when the pool is idle. */
  #drain(): void {
    for (let next = this.#backlog[0]; next; next = this.#backlog[0]) {
      if (!this.#submit(next.calls, next.parts, next.step, next.resolve, next.reject)) {
        if (this.#pending.length > 0) return;
        this.#grow(2 + 1.5 * next.calls.length);
        continue;
      }
      this.#backlog.shift();
    }
  }

  /**
   * A larger control buffer, when no run is pending. The workers block in Atomics.wait and read no
   * messages while they do: post them the new buffer first, then a reload record on the old ring sends
   * them back to their event loop, where that message is waiting.
   */
  #grow(words: number): void {
    const old = this.#control;
    let capacity = old.length - LAYOUT.ring;
    while (capacity < words) capacity *= 2;
    const control = new Int32Array(new SharedArrayBuffer((LAYOUT.ring + capacity) * 4));
    control[LAYOUT.message] = old[LAYOUT.message] as number;
    for (const worker of this.#workers)
      worker.post({ type: 'control', control: control.buffer as SharedArrayBuffer });
    let at = this.#writeAt;
    if (at >= old.length - LAYOUT.ring) at = 0;
    old[LAYOUT.ring + at] = RECORD_RELOAD;
    Atomics.add(old, LAYOUT.submitted, 1);
    Atomics.notify(old, LAYOUT.submitted);
    this.#control = control;
    this.#writeAt = 0;
    this.#completed = 0;
  }

  /** Makes sure completions will be collected while runs are pending. */
  #watch(): void {
    if (this.#waiting || this.#pending.length === 0 || this.#error) return;
    this.#waiting = true;
    // Node: a pending run keeps the process alive (the workers are unref'd while idle).
    this.#workers[0]?.ref(true);
    if (!this.#waitAsync) return; // a `done` message will come
    const control = this.#control;
    const result = this.#waitAsync(control, LAYOUT.done, this.#completed);
    if (result.async) {
      result.value.then(() => {
        if (control === this.#control) this.#collect();
      });
    } else {
      queueMicrotask(() => this.#collect());
    }
  }

  /** Resolves the runs the workers have completed, submits backlogged ones, waits for the rest. */
  #collect(): void {
    if (this.#error) return;
    this.#waiting = false;
    const done = Atomics.load(this.#control, LAYOUT.done);
    while (this.#completed !== done) {
      this.#completed = (this.#completed + 1) | 0;
      this.#pending.shift()?.resolve();
    }
    this.#drain();
    if (this.#pending.length === 0) this.#workers[0]?.ref(false);
    this.#watch();
  }

  /** Fails the pool: releases and ends the workers, rejects every pending and queued run. */
  #fail(error: WasmWorkerError): void {
    if (this.#error) return;
    this.#error = error;
    const c = this.#control;
    Atomics.store(c, LAYOUT.abort, 1);
    Atomics.add(c, LAYOUT.generation, 1);
    Atomics.notify(c, LAYOUT.generation);
    Atomics.notify(c, LAYOUT.submitted);
    // Wakes this thread's own Atomics.waitAsync, so nothing is left waiting.
    Atomics.notify(c, LAYOUT.done);
    for (const worker of this.#workers) worker.terminate();
    for (const run of [...this.#pending, ...this.#backlog]) run.reject(error);
    this.#pending = [];
    this.#backlog = [];
  }
}

/** Logical cores: more workers than this must not spin at barriers (they would starve each other). */
async function cores(): Promise<number> {
  const navigatorCores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  if (navigatorCores) return navigatorCores;
  try {
    const specifier = 'node:os';
    const os = (await import(/* @vite-ignore */ specifier)) as typeof import('node:os');
    return os.availableParallelism();
  } catch {
    return 1;
  }
}
