/**
 * The seam between the shared graph executor and a backend. A backend is a `Device`: it makes
 * buffers, moves data in and out, and turns a list of resolved nodes into a `Program` once; running a
 * program is then one call per step (on WebGPU: one command encoder, one submit).
 *
 * A device never looks an op up: the executor (src/graph/executor.ts) hands it each node with its op
 * already bound to the node's parameters (`BoundOp`: the CPU reference as a closure, the WebGPU and
 * Wasm kernels as plain values), so a new backend implements this file and nothing in src/graph/.
 */
import type { DType, Node, OpName, StepContext } from '../ir/ir.js';
import type { BoundGpuKernel, BoundTuning } from '../kernels/gpu.js';
import type { BoundWasmKernel } from '../kernels/wasm.js';

/** Where a backend runs: the CPU reference, WebAssembly, or WebGPU. */
export type BackendKind = 'cpu' | 'wasm' | 'webgpu';

/** Buffers as the CPU reference sees them. Float64Array lets gradient checks run in double precision. */
export type NumArray = Float32Array | Float64Array | Uint32Array;

/** How far a result may be from the CPU reference: |x − ref| ≤ atol + rtol·|ref| (docs/contracts.md). */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** One node's op with the node's parameters applied: what each backend runs it with. */
export interface BoundOp {
  readonly name: OpName;
  /** The plain-loop CPU reference on these parameters. */
  reference(inputs: readonly NumArray[], outputs: readonly NumArray[], ctx: StepContext): void;
  readonly tolerance: Tolerance;
  /** The WebGPU kernel (the op's default for these parameters) and, where several can run it, the choice. */
  readonly gpu: BoundGpuKernel;
  readonly gpuTuning: BoundTuning | undefined;
  /** The Wasm kernel (absent: the op has none yet). */
  readonly wasm: BoundWasmKernel | undefined;
}

/** One node of a program, with its op bound and its buffers resolved. */
export interface ProgramStep<Buffer> {
  readonly node: Node;
  readonly op: BoundOp;
  readonly inputs: readonly Buffer[];
  readonly outputs: readonly Buffer[];
}

/** Values captured by one run, readable later even if more runs have happened since. */
export interface RunResult {
  /** Reads the `index`-th snapshot buffer given to `createProgram`, as it was after this run. */
  read(index: number): Promise<Float32Array | Float64Array>;
}

/**
 * Most steps `Program.runMany` puts in one submission. What bounds it: the staging buffers a program
 * makes at compile for every step's `step` uniform (32 bytes) and streamed row indices (4·B bytes), so
 * 32 KiB + 4 KiB·B (512 KiB at B = 128); and the loss ring of the last 1,024 runs (SNAPSHOT_HISTORY),
 * which this equals so that every loss of one submission is still readable when it returns. Nothing
 * else depends on it: `fit` keeps its runs shorter (FIT_STEPS_PER_RUN) so that pause and abort stay
 * responsive.
 */
export const MAX_STEPS_PER_RUN = 1024;

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

/** What a device can hold, checked by the executor before anything is allocated. */
export interface DeviceLimits {
  /** The largest buffer a kernel may bind, in bytes, and the name of the limit that sets it. */
  readonly maxBufferBytes: number;
  readonly maxBufferLimit: string;
  /** WebGPU: the most workgroups of a dispatch along one dimension. Absent: no such limit. */
  readonly maxWorkgroupsPerDimension?: number;
}

export interface Device<Buffer = unknown> {
  readonly kind: BackendKind;
  /** A human-readable description of what executes the work (e.g. the GPU adapter). */
  readonly description: string;
  readonly limits: DeviceLimits;
  /**
   * Whether its matmul kernels run the weight-gradient epilogue's bias update (MatmulAttrs.biasUpdate):
   * compileGraph then folds each layer's bias sgd into its weight-gradient matmul (graph/fuse.ts
   * `fuseBiasUpdates`). Absent on a backend whose kernel would ignore the bias (Wasm).
   */
  readonly fusesBiasUpdates?: boolean;
  /**
   * Whether its matmul kernels run Adam's step on the weight gradient (MatmulAttrs.adamUpdate):
   * compileGraph then folds each weight's adam into its gradient's matmul (graph/fuse.ts
   * `fuseAdamUpdates`). On WebGPU only where a shader stage may bind 9 storage buffers (8 is the
   * guaranteed minimum); absent on Wasm, whose kernel has no such step.
   */
  readonly fusesAdamUpdates?: boolean;
  createBuffer(label: string, dtype: DType, length: number): Buffer;
  /** Queued in order with programs' runs: the next run sees it. */
  write(buffer: Buffer, data: Float32Array | Uint32Array, offset?: number): void;
  /** The buffer's first `length` values after every run and write queued so far. */
  read(buffer: Buffer, length: number): Promise<Float32Array | Float64Array>;
  /**
   * `snapshots`: buffers each run captures, for `RunResult.read`. `streamed`: u32 buffers that
   * `runMany` refills before every step (e.g. a batch's row indices), with their lengths in elements.
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
