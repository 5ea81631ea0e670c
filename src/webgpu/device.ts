/**
 * The WebGPU backend's `Device`: the only code that touches GPU objects. Buffers are storage buffers;
 * a program is built once (pipelines, bind groups, uniforms) and each `run` is one command encoder
 * and one submit. Values the caller may want later (the loss) are copied, in that same submit, into
 * a ring of the last SNAPSHOT_HISTORY steps and read back only when asked.
 */
import {
  type Device,
  MAX_STEPS_PER_RUN,
  type Program,
  type ProgramStep,
  type RunResult,
} from '../backend/device.js';
import { ArgumentError, DeviceLostError, KernelCompileError, WebGpuUnavailableError } from '../errors.js';
import {
  type DType,
  elementCount,
  type Graph,
  type Node,
  type OpName,
  type StepContext,
} from '../graph/ir.js';
import { OPS } from '../ops/index.js';
import { chooseKernel, type TuningHost } from './autotune.js';
import { f32Bits, type GpuKernel, kernelFor, STEP_UNIFORM_BYTES } from './kernel.js';

/** How many runs back a snapshot (the loss) can still be read. */
export const SNAPSHOT_HISTORY = 1024;
const UNIFORM_SLOT_BYTES = 256;

export interface WebGpuOptions {
  /** Use this device instead of requesting one. It is not destroyed by `dispose()`. */
  device?: GPUDevice;
  /** The WebGPU entry point, e.g. the `webgpu` npm package's `create([])` in Node. Default `navigator.gpu`. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /**
   * Time the interchangeable kernels of each large enough node at compile and keep the fastest, per
   * adapter and shape (src/webgpu/autotune.ts; they compute the same bits). Default true; false runs
   * the defaults.
   */
  autotune?: boolean;
}

export async function openWebGpu(options: WebGpuOptions = {}): Promise<WebGpuDevice> {
  const autotune = options.autotune ?? true;
  if (options.device) {
    return new WebGpuDevice(options.device, 'WebGPU (caller’s device)', false, undefined, autotune);
  }
  const gpu = options.gpu ?? (typeof navigator !== 'undefined' ? navigator.gpu : undefined);
  if (!gpu) throw new WebGpuUnavailableError('WebGPU is not available here: navigator.gpu is missing');
  const adapter = await gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : {},
  );
  if (!adapter)
    throw new WebGpuUnavailableError('WebGPU is not available here: requestAdapter() returned null');
  const device = await adapter.requestDevice({
    label: 'dropgpu',
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const { vendor, architecture, description } = adapter.info;
  const name = [vendor, architecture, description].filter(Boolean).join(' ');
  return new WebGpuDevice(device, `WebGPU: ${name || 'unknown adapter'}`, true, [gpu, adapter], autotune);
}

interface CompiledStep {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

export class WebGpuDevice implements Device<GPUBuffer> {
  readonly kind = 'webgpu';
  readonly description: string;
  readonly gpu: GPUDevice;
  readonly #owned: boolean;
  readonly #pipelines = new Map<string, Promise<GPUComputePipeline>>();
  readonly #modules = new Map<string, GPUShaderModule>();
  readonly #staging: GPUBuffer[] = [];
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

  /** Whether compile times candidate kernels (see `WebGpuOptions.autotune`). */
  readonly autotune: boolean;
  /**
   * Tests only: forces the kernel of every node that has candidates to the one whose `variant` this
   * returns (undefined: the usual choice), so that each candidate can be checked on its own.
   */
  forceVariant: ((op: string, params: unknown) => string | undefined) | undefined;

  constructor(
    device: GPUDevice,
    description: string,
    owned: boolean,
    origin?: readonly [GPU, GPUAdapter],
    autotune = true,
  ) {
    this.gpu = device;
    this.autotune = autotune;
    this.origin = origin;
    this.description = description;
    this.#owned = owned;
    device.addEventListener('uncapturederror', (event) => {
      this.#failure ??= new DeviceLostError(
        `WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`,
      );
    });
    device.lost.then((info) => {
      // destroy() from this object is an orderly end; anything else (a driver reset, or someone else
      // destroying a device they lent us) is a loss the caller must hear about.
      if (!this.#destroying) {
        this.#failure ??= new DeviceLostError(`WebGPU device lost (${info.reason}): ${info.message}`);
      }
    });
  }

  get maxBufferBytes(): number {
    return Math.min(this.gpu.limits.maxStorageBufferBindingSize, this.gpu.limits.maxBufferSize);
  }

  check(graph: Graph, batchSize: number): void {
    const { maxBufferSize, maxComputeWorkgroupsPerDimension } = this.gpu.limits;
    const maxBytes = this.maxBufferBytes;
    const limitName = maxBytes === maxBufferSize ? 'maxBufferSize' : 'maxStorageBufferBindingSize';
    for (const tensor of graph.tensors) {
      const bytes = elementCount(tensor.shape) * 4;
      if (bytes <= maxBytes) continue;
      const rows = Math.floor((maxBytes / bytes) * batchSize);
      throw new ArgumentError(
        'batchSize',
        `at most ${rows} rows on this device: ${tensor.name} [${tensor.shape}] needs ${bytes} bytes, over its ${limitName} of ${maxBytes}`,
        String(batchSize),
      );
    }
    for (const node of graph.nodes) {
      const params = (OPS[node.op].params as (n: Node, g: Graph) => unknown)(node, graph);
      const groups = kernelFor(OPS[node.op].kernel as GpuKernel<unknown>, params).workgroups(params);
      if (groups.every((g) => g <= maxComputeWorkgroupsPerDimension)) continue;
      throw new ArgumentError(
        'batchSize',
        `a batch whose ${node.name} (${node.op}) dispatch fits this device's maxComputeWorkgroupsPerDimension of ${maxComputeWorkgroupsPerDimension} (it needs [${groups}])`,
        String(batchSize),
      );
    }
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

  async read(buffer: GPUBuffer, length: number): Promise<Float32Array> {
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
    const compiled: CompiledStep[] = [];
    for (const [index, step] of steps.entries()) {
      const kernel = await this.#kernel(step.node.op, step.params);
      const words = kernel.uniform(step.params);
      this.gpu.queue.writeBuffer(
        uniforms,
        index * UNIFORM_SLOT_BYTES,
        words.buffer,
        words.byteOffset,
        words.byteLength,
      );
      const pipeline = await this.#pipeline(step.node.op, kernel, step.params);
      let unused = 0;
      const storage = kernel.bind(step.params).map((ref) => {
        if (ref === null) return this.#placeholder(unused++);
        const buffer = (ref[0] === 'in' ? step.inputs : step.outputs)[ref[1]];
        if (!buffer) throw new RangeError(`${step.node.name}: no ${ref[0]}put ${ref[1]}`);
        return buffer;
      });
      const entries: GPUBindGroupEntry[] = storage.map((buffer, binding) => ({
        binding,
        resource: { buffer },
      }));
      entries.push({
        binding: entries.length,
        resource: { buffer: uniforms, offset: index * UNIFORM_SLOT_BYTES, size: UNIFORM_SLOT_BYTES },
      });
      if (kernel.usesStep) entries.push({ binding: entries.length, resource: { buffer: stepUniform } });
      this.gpu.pushErrorScope('validation');
      const bindGroup = this.gpu.createBindGroup({
        label: `${label}: ${step.node.name}`,
        layout: pipeline.getBindGroupLayout(0),
        entries,
      });
      const error = await this.gpu.popErrorScope();
      if (error) throw new KernelCompileError(step.node.op, [`${step.node.name}: ${error.message}`]);
      compiled.push({ pipeline, bindGroup, workgroups: kernel.workgroups(step.params) });
    }
    return this.#program(label, compiled, [uniforms, stepUniform], snapshots, streamed);
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

  #buffer(descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = this.gpu.createBuffer(descriptor);
    this.#live.add(buffer);
    return buffer;
  }

  destroy(): void {
    this.#destroying = true;
    for (const buffer of [...this.#staging, ...this.#placeholders]) this.destroyBuffer(buffer);
    this.#staging.length = 0;
    this.#placeholders = [];
    if (this.#owned) this.gpu.destroy();
  }

  #program(
    label: string,
    steps: readonly CompiledStep[],
    [uniforms, stepUniform]: readonly [GPUBuffer, GPUBuffer],
    snapshots: readonly GPUBuffer[],
    streamed: readonly { buffer: GPUBuffer; length: number }[],
  ): Program {
    const histories = snapshots.map((snapshot, i) =>
      this.#buffer({
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
        ? this.#buffer({
            label: `${label}: step uniforms of runMany`,
            size: manySteps * STEP_UNIFORM_BYTES,
            usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
          })
        : null;
    const streamStaging = streamed.map(({ length }, i) =>
      this.#buffer({
        label: `${label}: streamed input ${i} of runMany`,
        size: manySteps * length * 4,
        usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      }),
    );
    const stepWords = new Uint32Array((STEP_UNIFORM_BYTES / 4) * MAX_STEPS_PER_RUN);
    let runs = 0;
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
        encoder.copyBufferToBuffer(
          snapshot,
          0,
          histories[i] as GPUBuffer,
          slot * snapshot.size,
          snapshot.size,
        );
      });
      return {
        read: (index) => {
          const snapshot = snapshots[index];
          const history = histories[index];
          if (!snapshot || !history) return Promise.reject(new RangeError(`no snapshot ${index}`));
          if (runs - run > SNAPSHOT_HISTORY) {
            return Promise.reject(
              new RangeError(
                `this value was overwritten: read it within ${SNAPSHOT_HISTORY} steps of the step that made it`,
              ),
            );
          }
          return this.#readBytes(history, slot * snapshot.size, snapshot.size);
        },
      };
    };
    return {
      dispose: () => {
        const own = [uniforms, stepUniform, ...histories, ...streamStaging];
        for (const buffer of stepStaging ? [...own, stepStaging] : own) this.destroyBuffer(buffer);
      },
      run: (ctx: StepContext): RunResult => {
        this.#check();
        packStep(ctx, 0);
        this.gpu.queue.writeBuffer(stepUniform, 0, stepWords, 0, STEP_UNIFORM_BYTES / 4);
        const encoder = this.gpu.createCommandEncoder({ label });
        const result = encodeStep(encoder);
        this.gpu.queue.submit([encoder.finish()]);
        return result;
      },
      runMany: (ctxs: readonly StepContext[], data: readonly Uint32Array[]): RunResult[] => {
        this.#check();
        if (!stepStaging || ctxs.length > manySteps) {
          throw new RangeError(
            `${label}: runMany takes 1 to ${manySteps} steps of a program with streamed inputs`,
          );
        }
        ctxs.forEach(packStep);
        this.gpu.queue.writeBuffer(stepStaging, 0, stepWords, 0, ctxs.length * (STEP_UNIFORM_BYTES / 4));
        streamed.forEach(({ length }, j) => {
          const values = data[j] as Uint32Array;
          if (values.length !== ctxs.length * length)
            throw new RangeError(`${label}: streamed input ${j} size`);
          this.gpu.queue.writeBuffer(
            streamStaging[j] as GPUBuffer,
            0,
            values.buffer,
            values.byteOffset,
            values.byteLength,
          );
        });
        const encoder = this.gpu.createCommandEncoder({ label });
        const results = ctxs.map((_, i) => {
          encoder.copyBufferToBuffer(stepStaging, i * STEP_UNIFORM_BYTES, stepUniform, 0, STEP_UNIFORM_BYTES);
          streamed.forEach(({ buffer, length }, j) => {
            encoder.copyBufferToBuffer(streamStaging[j] as GPUBuffer, i * length * 4, buffer, 0, length * 4);
          });
          return encodeStep(encoder);
        });
        this.gpu.queue.submit([encoder.finish()]);
        return results;
      },
    };
  }

  /** The kernel that runs a node: forced (tests), tuned (autotune.ts), or the op's default. */
  async #kernel(op: OpName, params: unknown): Promise<GpuKernel<unknown>> {
    const base = OPS[op].kernel as GpuKernel<unknown>;
    const fallback = kernelFor(base, params);
    const forced = this.forceVariant?.(op, params);
    if (forced !== undefined) {
      const kernel = base.tuning?.candidates(params).find((candidate) => candidate.variant === forced);
      if (!kernel) throw new RangeError(`${op}: no candidate kernel ${forced} for these parameters`);
      return kernel;
    }
    if (!this.autotune) return fallback;
    return chooseKernel(this.tuningHost(), op, base, params, fallback);
  }

  /** This device as the autotuner sees it (also used by `npm run bench -- explore`). */
  tuningHost(): TuningHost {
    return {
      gpu: this.gpu,
      adapter: this.#adapterName(),
      pipeline: (name: string, kernel: GpuKernel<unknown>, p: unknown) => this.#pipeline(name, kernel, p),
    };
  }

  /** What the tuner's choices are remembered under: the adapter's identity, as exact as it gets. */
  #adapterName(): string {
    const info =
      this.origin?.[1].info ?? (this.gpu as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    if (!info) return this.description;
    return [info.vendor, info.architecture, info.device, info.description].join(' / ');
  }

  async #pipeline(op: string, kernel: GpuKernel<unknown>, params: unknown): Promise<GPUComputePipeline> {
    const name = kernel.name ?? op;
    const constants = kernel.overrides?.(params) ?? {};
    const key = `${name} ${JSON.stringify(constants)}`;
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      pipeline = this.#createPipeline(name, kernel.wgsl, constants);
      this.#pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  async #createPipeline(
    name: string,
    code: string,
    constants: Record<string, number>,
  ): Promise<GPUComputePipeline> {
    let module = this.#modules.get(name);
    if (!module) {
      module = this.gpu.createShaderModule({ label: name, code });
      this.#modules.set(name, module);
    }
    this.gpu.pushErrorScope('validation');
    this.gpu.pushErrorScope('out-of-memory');
    const created = await this.gpu
      .createComputePipelineAsync({
        label: name,
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants },
      })
      .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    const outOfMemory = await this.gpu.popErrorScope();
    const invalid = await this.gpu.popErrorScope();
    if (!(created instanceof Error) && !outOfMemory && !invalid) return created;
    const info = await module.getCompilationInfo();
    const messages = info.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`);
    for (const error of [created, outOfMemory, invalid])
      if (error instanceof Error || error) messages.push(String((error as Error).message));
    throw new KernelCompileError(name, messages);
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
    const index = this.#staging.findIndex((buffer) => buffer.size >= bytes);
    const staging =
      index >= 0
        ? (this.#staging.splice(index, 1)[0] as GPUBuffer)
        : this.#buffer({
            label: 'readback staging',
            size: Math.max(256, 2 ** Math.ceil(Math.log2(bytes))),
            usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
          });
    const encoder = this.gpu.createCommandEncoder({ label: 'readback' });
    encoder.copyBufferToBuffer(source, offset, staging, 0, bytes);
    this.gpu.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      const values = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      return values;
    } catch (error) {
      // Nothing here unmaps or destroys a staging buffer mid-read: an aborted map means the device went
      // away, and that is what the caller is told.
      if ((error as Error).name === 'AbortError') {
        this.#failure ??= new DeviceLostError(`WebGPU device lost: ${(error as Error).message}`);
      }
      this.#check();
      throw error;
    } finally {
      this.#staging.push(staging);
    }
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }
}
