/**
 * The seam between the shared graph executor and a backend. A backend is a `Device`: it makes
 * buffers, moves data in and out, and turns a planned list of nodes into a `Program` once; running a
 * program is then one call per step (on WebGPU: one command encoder, one submit).
 */
import type { DType, Graph, Node, StepContext } from '../graph/ir.js';

/** Where a backend runs: the CPU reference, or WebGPU. */
export type BackendKind = 'cpu' | 'webgpu';

/** One node of a program, with its buffers resolved and its per-op parameters computed. */
export interface ProgramStep<Buffer> {
  readonly node: Node;
  readonly params: unknown;
  readonly inputs: readonly Buffer[];
  readonly outputs: readonly Buffer[];
}

/** Values captured by one run, readable later even if more runs have happened since. */
export interface RunResult {
  /** Reads the `index`-th snapshot buffer given to `createProgram`, as it was after this run. */
  read(index: number): Promise<Float32Array | Float64Array>;
}

/** Most steps `Program.runMany` puts in one submission. */
export const MAX_STEPS_PER_RUN = 32;

export interface Program {
  run(ctx: StepContext): RunResult;
  /**
   * Runs ctxs.length ≤ MAX_STEPS_PER_RUN steps in a row (on WebGPU: one command encoder, one submit).
   * Before step i, each streamed buffer given to `createProgram` receives its slice i of the matching
   * `streamed` array (which holds ctxs.length slices of the buffer's length).
   */
  runMany(ctxs: readonly StepContext[], streamed: readonly Uint32Array[]): RunResult[];
  /** Frees what the program made for itself (uniforms, readback history); not the graph's buffers. */
  dispose(): void;
}

export interface Device<Buffer = unknown> {
  readonly kind: BackendKind;
  /** A human-readable description of what executes the work (e.g. the GPU adapter). */
  readonly description: string;
  /** The largest buffer a kernel may bind, in bytes. Absent: no limit. */
  readonly maxBufferBytes?: number;
  /**
   * Throws `ArgumentError` naming `batchSize` and the device limit when a graph would not fit the
   * device (buffer sizes, dispatch sizes). Called before anything is allocated. Absent: no limits.
   */
  check?(graph: Graph, batchSize: number): void;
  createBuffer(label: string, dtype: DType, length: number): Buffer;
  write(buffer: Buffer, data: Float32Array | Uint32Array, offset?: number): void;
  read(buffer: Buffer, length: number): Promise<Float32Array | Float64Array>;
  /**
   * `streamed`: u32 buffers that `runMany` refills before every step (e.g. a batch's row indices),
   * with their lengths in elements.
   */
  createProgram(
    label: string,
    steps: readonly ProgramStep<Buffer>[],
    snapshots: readonly Buffer[],
    streamed?: readonly { buffer: Buffer; length: number }[],
  ): Promise<Program>;
  destroyBuffer(buffer: Buffer): void;
  destroy(): void;
  /** Buffers the device holds now, and their bytes: flat across training steps, back to 0 after dispose. */
  memory(): { buffers: number; bytes: number };
}
