/**
 * Shader modules and compute pipelines, made once per device and shared by every program on it. A
 * module is keyed by its code, a pipeline by its code and override constants: what determines them,
 * so two kernels of one name with different WGSL never get each other's pipeline. Compile errors name
 * the op and the `file.wgsl:line` they point at in the joined source.
 */
import { KernelCompileError } from '../errors.js';
import { type BoundGpuKernel, sourceLine } from '../kernels/gpu.js';

/** One cache per GPUDevice: every backend opened on a device shares its compiled pipelines. */
const cachesByDevice = new WeakMap<GPUDevice, PipelineCache>();

/** The pipeline cache of `gpu`, shared by every backend opened on it. */
export function pipelineCacheOf(gpu: GPUDevice): PipelineCache {
  let cache = cachesByDevice.get(gpu);
  if (!cache) {
    cache = new PipelineCache(gpu);
    cachesByDevice.set(gpu, cache);
  }
  return cache;
}

export class PipelineCache {
  readonly #gpu: GPUDevice;
  readonly #modules = new Map<string, GPUShaderModule>();
  readonly #pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(gpu: GPUDevice) {
    this.#gpu = gpu;
  }

  /** The pipeline of `kernel` (for op `op`, named in errors), compiled on first use. */
  pipeline(op: string, kernel: BoundGpuKernel): Promise<GPUComputePipeline> {
    const key = `${JSON.stringify(kernel.overrides)}\n${kernel.wgsl.code}`;
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      pipeline = this.#create(op, kernel);
      this.#pipelines.set(key, pipeline);
      // A failure is not cached: the error goes to this caller, and a later compile tries again.
      pipeline.catch(() => this.#pipelines.delete(key));
    }
    return pipeline;
  }

  async #create(op: string, kernel: BoundGpuKernel): Promise<GPUComputePipeline> {
    const { code } = kernel.wgsl;
    let module = this.#modules.get(code);
    if (!module) {
      module = this.#gpu.createShaderModule({ label: kernel.name, code });
      this.#modules.set(code, module);
    }
    // Pushed and popped with no await between: pipelines of a program compile concurrently, and an
    // error scope is a stack per device, which interleaved awaits would leave to another pipeline.
    this.#gpu.pushErrorScope('validation');
    this.#gpu.pushErrorScope('out-of-memory');
    const creating = this.#gpu
      .createComputePipelineAsync({
        label: kernel.variant,
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants: { ...kernel.overrides } },
      })
      .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    const popOutOfMemory = this.#gpu.popErrorScope();
    const popInvalid = this.#gpu.popErrorScope();
    const [created, outOfMemory, invalid] = await Promise.all([creating, popOutOfMemory, popInvalid]);
    if (!(created instanceof Error) && !outOfMemory && !invalid) return created;
    const info = await module.getCompilationInfo();
    const messages = info.messages.map(
      (m) => `${m.type} at ${sourceLine(kernel.wgsl, m.lineNum)}:${m.linePos}: ${m.message}`,
    );
    for (const error of [created, outOfMemory, invalid]) {
      if (error) messages.push(String((error as { message?: string }).message ?? error));
    }
    throw new KernelCompileError(op, messages);
  }
}
