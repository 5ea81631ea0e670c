/**
 * The WebGPU backend's `Device`: buffers and their accounting, the device's failure state, and program
 * building (each node's kernel choice, pipeline, uniforms and bind group). Pipelines are cached in
 * pipelines.ts, programs run in program.ts, reads go through readback.ts; opening a device is open.ts.
 */
import type { Device, DeviceLimits, Program, ProgramStep } from '../device/device.js';
import { DeviceLostError, DisposedError, GpuValidationError } from '../errors.js';
import type { DType } from '../ir/ir.js';
import type { BoundGpuKernel } from '../kernels/gpu.js';
import { STEP_UNIFORM_BYTES } from '../kernels/gpu.js';
import { ADAM_UPDATE_STORAGE_BUFFERS } from '../ops/matmul-gpu.js';
import { chooseKernel, type TuningHost } from './autotune.js';
import { type PipelineCache, pipelineCacheOf } from './pipelines.js';
import { createProgram, type EncodedStep } from './program.js';
import { Readback } from './readback.js';

const UNIFORM_SLOT_BYTES = 256;

/**
 * Picks the kernel of a node that several kernels can run: the `variant` of one of `variants` (the
 * default first), or undefined for the usual choice (the autotuner's, or the default without it).
 * Tests use it to run each candidate on its own.
 */
export type KernelChoice = (node: {
  readonly op: string;
  readonly key: string;
  readonly variants: readonly string[];
}) => string | undefined;

/** How a WebGpuDevice chooses kernels (see `WebGpuOptions`). */
export interface KernelPolicy {
  readonly autotune: boolean;
  readonly kernelChoice: KernelChoice | undefined;
}

export class WebGpuDevice implements Device<GPUBuffer> {
  readonly kind = 'webgpu';
  /** shaders/matmul_epilogue.wgsl's BiasUpdate: one dispatch fewer per layer and step. */
  readonly fusesBiasUpdates = true;
  /**
   * shaders/matmul_adam_epilogue.wgsl: where the device lets a stage bind its 9 storage buffers (open.ts
   * asks for the adapter's limit); otherwise Adam's steps stay dispatches of their own.
   */
  readonly fusesAdamUpdates: boolean;
  readonly description: string;
  readonly gpu: GPUDevice;
  readonly limits: DeviceLimits;
  readonly #owned: boolean;
  readonly #policy: KernelPolicy;
  readonly #pipelines: PipelineCache;
  readonly #readback: Readback;
  #placeholders: GPUBuffer[] = [];
  /** Every buffer this device made and has not destroyed, for `memory()`. */
  readonly #live = new Set<GPUBuffer>();
  #failure: Error | null = null;
  #destroying = false;

  /**
   * The GPU entry point and adapter the device came from, held for the device's lifetime: in Node,
   * Dawn's bindings crash (a use after free in their threads) if either is garbage-collected while
   * the device is in use.
   */
  readonly origin: readonly [GPU, GPUAdapter] | undefined;

  constructor(
    device: GPUDevice,
    description: string,
    owned: boolean,
    policy: KernelPolicy,
    origin?: readonly [GPU, GPUAdapter],
  ) {
    this.gpu = device;
    this.origin = origin;
    this.description = description;
    this.#owned = owned;
    this.#policy = policy;
    this.#pipelines = pipelineCacheOf(device);
    this.fusesAdamUpdates = device.limits.maxStorageBuffersPerShaderStage >= ADAM_UPDATE_STORAGE_BUFFERS;
    this.#readback = new Readback(
      device,
      (descriptor) => this.#buffer(descriptor),
      (error) => this.#fail(error),
    );
    const { maxBufferSize, maxStorageBufferBindingSize, maxComputeWorkgroupsPerDimension } = device.limits;
    this.limits = {
      maxBufferBytes: Math.min(maxStorageBufferBindingSize, maxBufferSize),
      maxBufferLimit:
        maxBufferSize <= maxStorageBufferBindingSize ? 'maxBufferSize' : 'maxStorageBufferBindingSize',
      maxWorkgroupsPerDimension: maxComputeWorkgroupsPerDimension,
    };
    device.addEventListener('uncapturederror', (event) => {
      // An error outside any error scope is a bug (ours or the caller's), not a lost device: the device
      // still works, but what was submitted with the error did not run, so every later call refuses.
      const error = (event as GPUUncapturedErrorEvent).error;
      const kind = error.constructor?.name === 'GPUOutOfMemoryError' ? 'out of memory' : 'validation error';
      this.#fail(new GpuValidationError(`WebGPU ${kind}: ${error.message}`));
    });
    device.lost.then((info) => {
      // destroy() from this object is an orderly end; anything else (a driver reset, or someone else
      // destroying a device they lent us) is a loss the caller must hear about.
      if (!this.#destroying)
        this.#fail(new DeviceLostError(`WebGPU device lost (${info.reason}): ${info.message}`));
    });
  }

  createBuffer(label: string, _dtype: DType, length: number): GPUBuffer {
    this.#check();
    // GPUBufferUsage is read here, not at module load: the module must import where WebGPU is absent.
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    return this.#buffer({ label, size: Math.max(1, length) * 4, usage });
  }

  write(buffer: GPUBuffer, data: Float32Array | Uint32Array, offset = 0): void {
    this.#check();
    this.gpu.queue.writeBuffer(buffer, offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  read(buffer: GPUBuffer, length: number): Promise<Float32Array> {
    return this.#readBytes(buffer, 0, length * 4);
  }

  async createProgram(
    label: string,
    steps: readonly ProgramStep<GPUBuffer>[],
    snapshots: readonly GPUBuffer[],
    streamed: readonly { buffer: GPUBuffer; length: number }[] = [],
  ): Promise<Program> {
    this.#check();
    const uniforms = this.#buffer({
      label: `${label}: params`,
      size: Math.max(1, steps.length) * UNIFORM_SLOT_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const stepUniform = this.#buffer({
      label: `${label}: step`,
      size: STEP_UNIFORM_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    try {
      // Kernels are chosen in order (autotuning times candidates one at a time); their pipelines then
      // compile together, which the driver may spread over its threads.
      const kernels: BoundGpuKernel[] = [];
      for (const step of steps) kernels.push(await this.#kernel(step));
      const pipelines = await settledInOrder(
        steps.map((step, index) => this.#pipelines.pipeline(step.op.name, kernels[index] as BoundGpuKernel)),
      );
      const encoded: EncodedStep[] = [];
      for (const [index, step] of steps.entries()) {
        const kernel = kernels[index] as BoundGpuKernel;
        const pipeline = pipelines[index] as GPUComputePipeline;
        const words = kernel.uniform;
        const offset = index * UNIFORM_SLOT_BYTES;
        this.gpu.queue.writeBuffer(uniforms, offset, words.buffer, words.byteOffset, words.byteLength);
        const bindGroup = await this.#bindGroup(`${label}: ${step.node.name}`, step, kernel, pipeline, [
          { buffer: uniforms, offset, size: UNIFORM_SLOT_BYTES },
          { buffer: stepUniform },
        ]);
        encoded.push({ pipeline, bindGroup, workgroups: kernel.workgroups });
      }
      return createProgram(
        this.#host(),
        label,
        encoded,
        [uniforms, stepUniform],
        stepUniform,
        snapshots,
        streamed,
      );
    } catch (error) {
      this.destroyBuffer(uniforms);
      this.destroyBuffer(stepUniform);
      throw error;
    }
  }

  destroyBuffer(buffer: GPUBuffer): void {
    this.#live.delete(buffer);
    buffer.destroy();
  }

  memory(): { buffers: number; bytes: number } {
    let bytes = 0;
    for (const buffer of this.#live) bytes += buffer.size;
    return { buffers: this.#live.size, bytes };
  }

  destroy(): void {
    this.#destroying = true;
    // Every later call refuses, as on the other devices (a lent device is not destroyed, but not used).
    this.#failure ??= new DisposedError('this WebGPU backend');
    for (const buffer of [...this.#readback.drain(), ...this.#placeholders]) this.destroyBuffer(buffer);
    this.#placeholders = [];
    if (this.#owned) this.gpu.destroy();
  }

  /** This device as the autotuner sees it (also used by `npm run bench -- explore`). */
  tuningHost(): TuningHost {
    return {
      gpu: this.gpu,
      adapter: this.#adapterName(),
      pipeline: (op, kernel) => this.#pipelines.pipeline(op, kernel),
    };
  }

  /** The kernel that runs a step: chosen by the caller's `kernelChoice`, the autotuner, or the default. */
  async #kernel(step: ProgramStep<GPUBuffer>): Promise<BoundGpuKernel> {
    const { gpu: fallback, gpuTuning: tuning, name } = step.op;
    if (!tuning) return fallback;
    const variants = tuning.candidates.map((candidate) => candidate.variant);
    const forced = this.#policy.kernelChoice?.({ op: name, key: tuning.key, variants });
    if (forced !== undefined) {
      const kernel = tuning.candidates.find((candidate) => candidate.variant === forced);
      if (!kernel)
        throw new RangeError(`${name}: no candidate kernel ${forced} (candidates: ${variants.join(', ')})`);
      return kernel;
    }
    if (!this.#policy.autotune) return fallback;
    return chooseKernel(this.tuningHost(), name, tuning, fallback);
  }

  async #bindGroup(
    label: string,
    step: ProgramStep<GPUBuffer>,
    kernel: BoundGpuKernel,
    pipeline: GPUComputePipeline,
    [params, stepUniform]: readonly [GPUBufferBinding, GPUBufferBinding],
  ): Promise<GPUBindGroup> {
    let unused = 0;
    const entries: GPUBindGroupEntry[] = kernel.bindings.map((ref, binding) => {
      const buffer =
        ref === null ? this.#placeholder(unused++) : (ref[0] === 'in' ? step.inputs : step.outputs)[ref[1]];
      if (!buffer) throw new RangeError(`${step.node.name}: no ${ref?.[0]}put ${ref?.[1]}`);
      return { binding, resource: { buffer } };
    });
    entries.push({ binding: entries.length, resource: params });
    if (kernel.usesStep) entries.push({ binding: entries.length, resource: stepUniform });
    this.gpu.pushErrorScope('validation');
    const bindGroup = this.gpu.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
    const error = await this.gpu.popErrorScope();
    if (error) throw new GpuValidationError(`bind group "${label}" (${kernel.variant}): ${error.message}`);
    return bindGroup;
  }

  #host() {
    return {
      gpu: this.gpu,
      buffer: (descriptor: GPUBufferDescriptor) => this.#buffer(descriptor),
      destroyBuffer: (buffer: GPUBuffer) => this.destroyBuffer(buffer),
      readBytes: (source: GPUBuffer, offset: number, bytes: number) => this.#readBytes(source, offset, bytes),
      check: () => this.#check(),
    };
  }

  /** What the tuner's choices are remembered under: the adapter's identity, as exact as it gets. */
  #adapterName(): string {
    const info =
      this.origin?.[1].info ?? (this.gpu as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    if (!info) return this.description;
    return [info.vendor, info.architecture, info.device, info.description].join(' / ');
  }

  #buffer(descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = this.gpu.createBuffer(descriptor);
    this.#live.add(buffer);
    return buffer;
  }

  /** A 4-byte buffer for the n-th unused binding of a dispatch (distinct, so no usage conflicts). */
  #placeholder(n: number): GPUBuffer {
    while (this.#placeholders.length <= n) {
      this.#placeholders.push(
        this.#buffer({
          label: `placeholder ${this.#placeholders.length}`,
          size: 4,
          usage: GPUBufferUsage.STORAGE,
        }),
      );
    }
    return this.#placeholders[n] as GPUBuffer;
  }

  async #readBytes(source: GPUBuffer, offset: number, bytes: number): Promise<Float32Array> {
    this.#check();
    try {
      return await this.#readback.read(source, offset, bytes);
    } catch (error) {
      this.#check();
      throw error;
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }
}

/** Every promise's value, in order; once all have settled, the first rejection in order, if any. */
async function settledInOrder<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  return results.map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });
}
