/**
 * The Wasm backend's `Device`: buffers are ranges of one `WebAssembly.Memory` (heap.ts), a program is
 * each node's kernel block (pointers, scratch, parameter words; src/kernels/wasm.ts) laid out once,
 * and a run hands the list of calls to the thread pool (pool.ts). Writes, runs and reads are queued in
 * call order, as on a GPU queue: a write made while a run is in flight lands after it.
 */
import {
  type Device,
  type DeviceLimits,
  MAX_STEPS_PER_RUN,
  type Program,
  type ProgramStep,
  type RunResult,
} from '../device/device.js';
import { DisposedError, KernelCompileError } from '../errors.js';
import type { DType, StepContext } from '../ir/ir.js';
import { f32Bits } from '../kernels/bindings.js';
import type { WasmHeap } from './heap.js';
import { nodeParts, nodeWork } from './parts.js';
import type { WasmPool } from './pool.js';

/** How many runs back a snapshot (the loss) can still be read. */
const SNAPSHOT_HISTORY = 1024;
/** Words of the step block: step, lr, momentum, bias_correction1, bias_correction2. */
const STEP_WORDS = 5;

/** A buffer: a range of the heap. */
export interface WasmBuffer {
  readonly offset: number;
  readonly length: number;
  readonly label: string;
}

export class WasmDevice implements Device<WasmBuffer> {
  readonly kind = 'wasm';
  readonly description: string;
  readonly limits: DeviceLimits;
  readonly #pool: WasmPool;
  readonly #heap: WasmHeap;
  readonly #exportIndex: ReadonlyMap<string, number>;
  readonly #live = new Set<WasmBuffer>();
  /** The last queued operation: every write, run and read waits for the one before it. */
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #failure: Error | null = null;
  #wordView: Uint32Array | undefined;
  #floatView: Float32Array | undefined;

  constructor(description: string, pool: WasmPool, heap: WasmHeap, exportNames: readonly string[]) {
    this.description = description;
    this.#pool = pool;
    this.#heap = heap;
    this.#exportIndex = new Map(exportNames.map((name, i) => [name, i]));
    this.limits = { maxBufferBytes: 2 ** 31 - 2 ** 16, maxBufferLimit: 'Wasm buffer size (2 GiB)' };
  }

  createBuffer(label: string, _dtype: DType, length: number): WasmBuffer {
    this.#check();
    const buffer = { offset: this.#heap.alloc(Math.max(1, length) * 4, label), length, label };
    this.#live.add(buffer);
    return buffer;
  }

  write(buffer: WasmBuffer, data: Float32Array | Uint32Array, offset = 0): void {
    this.#check();
    if (offset + data.length > buffer.length) {
      throw new RangeError(
        `${buffer.label}: ${data.length} values at ${offset} overrun its ${buffer.length}`,
      );
    }
    if (this.#pending === 0) {
      this.#copyIn(buffer, data, offset);
      return;
    }
    // A run is in flight and may read this buffer: the write waits its turn, with its own copy.
    const copy = data.slice();
    this.#enqueue(() => this.#copyIn(buffer, copy, offset));
  }

  read(buffer: WasmBuffer, length: number): Promise<Float32Array> {
    return this.#enqueue(() => this.#copyOut(buffer, length));
  }

  async createProgram(
    label: string,
    steps: readonly ProgramStep<WasmBuffer>[],
    snapshots: readonly WasmBuffer[],
    streamed: readonly { buffer: WasmBuffer; length: number }[] = [],
  ): Promise<Program> {
    this.#check();
    // This device opts into neither fuseBiasUpdates nor fuseAdamUpdates (Device.fusesBiasUpdates,
    // fusesAdamUpdates): the Wasm matmul has no bias step and no Adam step, and would store the column
    // sums over the bias or run another epilogue, so such a node is refused, not run.
    for (const { node } of steps) {
      const { biasUpdate, adamUpdate } = node.attrs as { biasUpdate?: unknown; adamUpdate?: unknown };
      if (adamUpdate !== undefined)
        throw new KernelCompileError('matmul', [`${node.name}: the Wasm matmul has no fused Adam update`]);
      if (biasUpdate !== undefined)
        throw new KernelCompileError('matmul', [`${node.name}: the Wasm matmul has no fused bias update`]);
    }
    const made: number[] = [];
    const alloc = (bytes: number, what: string) => {
      const at = this.#heap.alloc(bytes, `${label}: ${what}`);
      made.push(at);
      return at;
    };
    try {
      const parts = steps.map((step) => {
        const kernel = step.op.wasm;
        if (!kernel) return 1;
        const elements = [...step.inputs, ...step.outputs].reduce((sum, buffer) => sum + buffer.length, 0);
        return nodeParts(nodeWork(kernel, elements));
      });
      // Nodes run one after another, so one scratch region, as large as the largest need, serves all.
      const scratchBytes = Math.max(
        0,
        ...steps.map((step, i) => step.op.wasm?.scratch(Math.abs(parts[i] as number)) ?? 0),
      );
      const scratch = scratchBytes > 0 ? alloc(scratchBytes, 'scratch') : 0;
      const calls: number[] = [];
      const callParts: number[] = [];
      for (const [i, step] of steps.entries()) {
        const kernel = step.op.wasm;
        if (!kernel)
          throw new KernelCompileError(step.op.name, [`${step.node.name}: the op has no Wasm kernel`]);
        const pointers = kernel.bindings.map((ref) => {
          if (ref === null) return 0;
          const buffer = (ref[0] === 'in' ? step.inputs : step.outputs)[ref[1]];
          if (!buffer) throw new RangeError(`${step.node.name}: no ${ref[0]}put ${ref[1]}`);
          return buffer.offset;
        });
        const words = Uint32Array.from([...pointers, scratch, ...kernel.params]);
        const block = alloc(words.byteLength, `${step.node.name} block`);
        new Uint32Array(this.#pool.memory.buffer, block, words.length).set(words);
        for (const phase of kernel.phases) {
          const index = this.#exportIndex.get(phase);
          if (index === undefined) {
            throw new KernelCompileError(step.op.name, [
              `${step.node.name}: wasm/ exports no kernel ${phase}`,
            ]);
          }
          calls.push(index, block);
          callParts.push(parts[i] as number);
        }
      }
      const stepBlock = alloc(STEP_WORDS * 4, 'step');
      return this.#program(
        Int32Array.from(calls),
        Int32Array.from(callParts),
        stepBlock,
        snapshots,
        streamed,
        () => {
          for (const at of made) this.#heap.free(at);
        },
      );
    } catch (error) {
      for (const at of made) this.#heap.free(at);
      throw error;
    }
  }

  destroyBuffer(buffer: WasmBuffer): void {
    if (!this.#live.delete(buffer)) return;
    // Freed once the queue is past every run that may still read it.
    if (this.#pending === 0) this.#heap.free(buffer.offset);
    else this.#enqueue(() => this.#heap.free(buffer.offset));
  }

  memory(): { buffers: number; bytes: number } {
    return { buffers: this.#live.size, bytes: this.#heap.usage().bytes };
  }

  destroy(): void {
    this.#failure ??= new DisposedError('this Wasm backend');
    this.#pool.dispose();
  }

  #program(
    calls: Int32Array,
    parts: Int32Array,
    stepBlock: number,
    snapshots: readonly WasmBuffer[],
    streamed: readonly { buffer: WasmBuffer; length: number }[],
    freeBlocks: () => void,
  ): Program {
    const histories = snapshots.map((snapshot) => new Float32Array(snapshot.length * SNAPSHOT_HISTORY));
    let runs = 0;
    const stepWord = stepBlock / 4;
    const execute = async (ctx: StepContext, slot: number) => {
      const words = this.#words();
      words[stepWord] = ctx.step;
      words[stepWord + 1] = f32Bits(ctx.lr);
      words[stepWord + 2] = f32Bits(ctx.momentum);
      words[stepWord + 3] = f32Bits(ctx.biasCorrection1);
      words[stepWord + 4] = f32Bits(ctx.biasCorrection2);
      await this.#pool.run(calls, stepBlock, parts);
      const floats = this.#floats();
      snapshots.forEach((snapshot, i) => {
        const history = histories[i] as Float32Array;
        const from = snapshot.offset / 4;
        const to = slot * snapshot.length;
        for (let j = 0; j < snapshot.length; j++) history[to + j] = floats[from + j] as number;
      });
    };
    const result = (run: number, done: Promise<void>): RunResult => ({
      read: async (index) => {
        const snapshot = snapshots[index];
        const history = histories[index];
        if (!snapshot || !history) throw new RangeError(`no snapshot ${index}`);
        await done;
        if (runs - run > SNAPSHOT_HISTORY) {
          throw new DisposedError(
            `this value (overwritten: read it within ${SNAPSHOT_HISTORY} steps of the step that made it)`,
          );
        }
        const slot = run % SNAPSHOT_HISTORY;
        return history.slice(slot * snapshot.length, (slot + 1) * snapshot.length);
      },
    });
    const start = () => {
      const run = runs++;
      return { run, slot: run % SNAPSHOT_HISTORY };
    };
    return {
      run: (ctx) => {
        this.#check();
        const { run, slot } = start();
        return result(
          run,
          this.#enqueue(() => execute(ctx, slot)),
        );
      },
      runMany: (ctxs, data) => {
        this.#check();
        if (streamed.length === 0 || ctxs.length > MAX_STEPS_PER_RUN) {
          throw new RangeError(
            `runMany takes 1 to ${MAX_STEPS_PER_RUN} steps of a program with streamed inputs`,
          );
        }
        streamed.forEach(({ length }, j) => {
          if (data[j]?.length !== ctxs.length * length) throw new RangeError(`streamed input ${j} size`);
        });
        const copies = data.map((values) => values.slice());
        return ctxs.map((ctx, i) => {
          const { run, slot } = start();
          const done = this.#enqueue(() => {
            streamed.forEach(({ buffer, length }, j) => {
              this.#copyIn(buffer, (copies[j] as Uint32Array).subarray(i * length, (i + 1) * length), 0);
            });
            return execute(ctx, slot);
          });
          return result(run, done);
        });
      },
      dispose: () => {
        if (this.#pending === 0) freeBlocks();
        else this.#enqueue(freeBlocks);
      },
    };
  }

  /** Runs `task` after everything queued before it; a failure fails it and everything after. */
  #enqueue<T>(task: () => T | Promise<T>): Promise<T> {
    this.#pending++;
    const result = this.#queue.then(async () => {
      if (this.#failure) throw this.#failure;
      try {
        return await task();
      } catch (error) {
        // A run cut short by destroy() (its pool disposed under it) reports the disposal.
        throw this.#failure ?? error;
      }
    });
    this.#queue = result.then(
      () => {
        this.#pending--;
      },
      (error: unknown) => {
        this.#pending--;
        this.#failure ??= error instanceof Error ? error : new Error(String(error));
      },
    );
    return result;
  }

  /**
   * Views of the whole memory, made again only when it has grown (a grown memory has a new buffer):
   * a step writes its step block and copies its snapshots through them without allocating.
   */
  #words(): Uint32Array {
    const buffer = this.#pool.memory.buffer;
    if (this.#wordView?.buffer !== buffer) this.#wordView = new Uint32Array(buffer);
    return this.#wordView;
  }

  #floats(): Float32Array {
    const buffer = this.#pool.memory.buffer;
    if (this.#floatView?.buffer !== buffer) this.#floatView = new Float32Array(buffer);
    return this.#floatView;
  }

  #copyIn(buffer: WasmBuffer, data: Float32Array | Uint32Array, offset: number): void {
    const target = new Uint32Array(this.#pool.memory.buffer, buffer.offset + offset * 4, data.length);
    target.set(new Uint32Array(data.buffer, data.byteOffset, data.length));
  }

  #copyOut(buffer: WasmBuffer, length: number): Float32Array {
    const values = new Float32Array(length);
    values.set(new Float32Array(this.#pool.memory.buffer, buffer.offset, length));
    return values;
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }
}
