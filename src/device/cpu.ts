/**
 * The CPU reference backend: buffers are typed arrays and a program is the list of each op's
 * plain-loop reference. It runs anywhere (browser or Node) and is what the WebGPU backend is checked
 * against. `precision: 'f64'` stores every float tensor in a Float64Array, for gradient checks.
 */
import { DisposedError } from '../errors.js';
import type { DType, StepContext } from '../ir/ir.js';
import type { Device, DeviceLimits, NumArray, Program, ProgramStep, RunResult } from './device.js';

/** Float precision of the CPU backend's buffers. */
export type CpuPrecision = 'f32' | 'f64';

/** Typed arrays are indexed by 32-bit integers; past 2^31 elements they cannot be made. */
const MAX_ARRAY_BYTES = 2 ** 31 - 1;

export class CpuDevice implements Device<NumArray> {
  readonly kind = 'cpu';
  readonly description: string;
  readonly #precision: CpuPrecision;
  readonly #live = new Set<NumArray>();
  #disposed = false;
  readonly limits: DeviceLimits = { maxBufferBytes: MAX_ARRAY_BYTES, maxBufferLimit: 'typed-array size' };
  /** matmulReference implements the bias update, so the CPU runs the graph WebGPU runs. */
  readonly fusesBiasUpdates: boolean = true;
  /** And Adam's step on the weight gradient: the CPU needs no storage bindings. */
  readonly fusesAdamUpdates: boolean = true;

  constructor(precision: CpuPrecision = 'f32') {
    this.#precision = precision;
    this.description = `CPU reference (${precision})`;
  }

  createBuffer(_label: string, dtype: DType, length: number): NumArray {
    this.#check();
    const buffer =
      dtype === 'u32'
        ? new Uint32Array(length)
        : this.#precision === 'f64'
          ? new Float64Array(length)
          : new Float32Array(length);
    this.#live.add(buffer);
    return buffer;
  }

  memory(): { buffers: number; bytes: number } {
    let bytes = 0;
    for (const buffer of this.#live) bytes += buffer.byteLength;
    return { buffers: this.#live.size, bytes };
  }

  write(buffer: NumArray, data: Float32Array | Uint32Array, offset = 0): void {
    this.#check();
    buffer.set(data, offset);
  }

  async read(buffer: NumArray, length: number): Promise<Float32Array | Float64Array> {
    this.#check();
    return buffer instanceof Float64Array
      ? buffer.slice(0, length)
      : Float32Array.from(buffer.subarray(0, length));
  }

  async createProgram(
    _label: string,
    steps: readonly ProgramStep<NumArray>[],
    snapshots: readonly NumArray[],
    streamed: readonly { buffer: NumArray; length: number }[] = [],
  ): Promise<Program> {
    this.#check();
    const read = this.read.bind(this);
    const check = () => this.#check();
    const program = {
      runMany(ctxs: readonly StepContext[], data: readonly Uint32Array[]): RunResult[] {
        check();
        return ctxs.map((ctx, i) => {
          streamed.forEach(({ buffer, length }, j) => {
            buffer.set((data[j] as Uint32Array).subarray(i * length, (i + 1) * length));
          });
          return program.run(ctx);
        });
      },
      run(ctx: StepContext): RunResult {
        check();
        for (const { op, inputs, outputs } of steps) op.reference(inputs, outputs, ctx);
        const captured = snapshots.map((buffer) => buffer.slice());
        return {
          read: (index) => {
            const values = captured[index];
            if (!values) return Promise.reject(new RangeError(`no snapshot ${index}`));
            return read(values, values.length);
          },
        };
      },
      dispose() {},
    };
    return program;
  }

  destroyBuffer(buffer: NumArray): void {
    this.#live.delete(buffer);
  }

  /** Every later call but destroyBuffer throws DisposedError (as on the other devices). */
  destroy(): void {
    this.#disposed = true;
  }

  #check(): void {
    if (this.#disposed) throw new DisposedError('this CPU backend');
  }
}
