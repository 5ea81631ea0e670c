/**
 * A WebGPU program: its compiled steps encoded as one compute pass per training step, and one submit
 * per `run` (or per `runMany` of up to MAX_STEPS_PER_RUN steps). Values the caller may want later (the
 * loss) are copied, in that same submit, into a ring of the last SNAPSHOT_HISTORY runs and read back
 * only when asked.
 */
import { MAX_STEPS_PER_RUN, type Program, type RunResult } from '../device/device.js';
import { DisposedError } from '../errors.js';
import type { StepContext } from '../ir/ir.js';
import { f32Bits, STEP_UNIFORM_BYTES } from '../kernels/gpu.js';

/** How many runs back a snapshot (the loss) can still be read. */
export const SNAPSHOT_HISTORY = 1024;

/** One dispatch, ready to encode. */
export interface EncodedStep {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

/** What a program needs of its device. */
export interface ProgramHost {
  readonly gpu: GPUDevice;
  /** Creates and accounts for a buffer. */
  buffer(descriptor: GPUBufferDescriptor): GPUBuffer;
  destroyBuffer(buffer: GPUBuffer): void;
  readBytes(source: GPUBuffer, offset: number, bytes: number): Promise<Float32Array>;
  /** Throws the device's failure, if any. */
  check(): void;
}

export function createProgram(
  host: ProgramHost,
  label: string,
  steps: readonly EncodedStep[],
  /** The program's own uniforms: the per-node parameters and the `step` uniform. */
  own: readonly GPUBuffer[],
  stepUniform: GPUBuffer,
  snapshots: readonly GPUBuffer[],
  streamed: readonly { buffer: GPUBuffer; length: number }[],
): Program {
  const { gpu } = host;
  const histories = snapshots.map((snapshot, i) =>
    host.buffer({
      label: `${label}: snapshot ${i} history`,
      size: snapshot.size * SNAPSHOT_HISTORY,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    }),
  );
  // For runMany: every step's `step` uniform and streamed slices, written at once before the submit
  // and copied into place ahead of each step's pass (copies and passes run in encoding order).
  const manySteps = streamed.length > 0 ? MAX_STEPS_PER_RUN : 0;
  const stepStaging =
    manySteps > 0
      ? host.buffer({
          label: `${label}: step uniforms of runMany`,
          size: manySteps * STEP_UNIFORM_BYTES,
          usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        })
      : null;
  const streamStaging = streamed.map(({ length }, i) =>
    host.buffer({
      label: `${label}: streamed input ${i} of runMany`,
      size: manySteps * length * 4,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    }),
  );
  const stepWords = new Uint32Array((STEP_UNIFORM_BYTES / 4) * MAX_STEPS_PER_RUN);
  let runs = 0;
  let disposed = false;
  // Written word by word: a step allocates nothing, not even an array literal.
  const packStep = (ctx: StepContext, at: number) => {
    const base = at * (STEP_UNIFORM_BYTES / 4);
    stepWords[base] = ctx.step;
    stepWords[base + 1] = f32Bits(ctx.lr);
    stepWords[base + 2] = f32Bits(ctx.momentum);
    stepWords[base + 3] = f32Bits(ctx.biasCorrection1);
    stepWords[base + 4] = f32Bits(ctx.biasCorrection2);
  };
  const encodeStep = (encoder: GPUCommandEncoder): RunResult => {
    const pass = encoder.beginComputePass({ label });
    for (const step of steps) {
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, step.bindGroup);
      pass.dispatchWorkgroups(...step.workgroups);
    }
    pass.end();
    const run = runs++;
    const slot = run % SNAPSHOT_HISTORY;
    snapshots.forEach((snapshot, i) => {
      encoder.copyBufferToBuffer(snapshot, 0, histories[i] as GPUBuffer, slot * snapshot.size, snapshot.size);
    });
    return {
      read: (index) => {
        const snapshot = snapshots[index];
        const history = histories[index];
        if (!snapshot || !history) return Promise.reject(new RangeError(`no snapshot ${index}`));
        // Its history went with the program (e.g. the dataset it trained from was replaced).
        if (disposed) return Promise.reject(new DisposedError(`the program "${label}" of this value`));
        if (runs - run > SNAPSHOT_HISTORY) {
          return Promise.reject(
            new DisposedError(
              `this value (overwritten: read it within ${SNAPSHOT_HISTORY} steps of the step that made it)`,
            ),
          );
        }
        return host.readBytes(history, slot * snapshot.size, snapshot.size);
      },
    };
  };
  return {
    dispose: () => {
      disposed = true;
      const made = [...own, ...histories, ...streamStaging];
      for (const buffer of stepStaging ? [...made, stepStaging] : made) host.destroyBuffer(buffer);
    },
    run: (ctx: StepContext): RunResult => {
      host.check();
      packStep(ctx, 0);
      gpu.queue.writeBuffer(stepUniform, 0, stepWords, 0, STEP_UNIFORM_BYTES / 4);
      const encoder = gpu.createCommandEncoder({ label });
      const result = encodeStep(encoder);
      gpu.queue.submit([encoder.finish()]);
      return result;
    },
    runMany: (ctxs: readonly StepContext[], data: readonly Uint32Array[]): RunResult[] => {
      host.check();
      if (!stepStaging || ctxs.length > manySteps) {
        throw new RangeError(
          `${label}: runMany takes 1 to ${manySteps} steps of a program with streamed inputs`,
        );
      }
      ctxs.forEach(packStep);
      gpu.queue.writeBuffer(stepStaging, 0, stepWords, 0, ctxs.length * (STEP_UNIFORM_BYTES / 4));
      streamed.forEach(({ length }, j) => {
        const values = data[j] as Uint32Array;
        if (values.length !== ctxs.length * length)
          throw new RangeError(`${label}: streamed input ${j} size`);
        gpu.queue.writeBuffer(
          streamStaging[j] as GPUBuffer,
          0,
          values.buffer,
          values.byteOffset,
          values.byteLength,
        );
      });
      const encoder = gpu.createCommandEncoder({ label });
      const results = ctxs.map((_, i) => {
        encoder.copyBufferToBuffer(stepStaging, i * STEP_UNIFORM_BYTES, stepUniform, 0, STEP_UNIFORM_BYTES);
        streamed.forEach(({ buffer, length }, j) => {
          encoder.copyBufferToBuffer(streamStaging[j] as GPUBuffer, i * length * 4, buffer, 0, length * 4);
        });
        return encodeStep(encoder);
      });
      gpu.queue.submit([encoder.finish()]);
      return results;
    },
  };
}
