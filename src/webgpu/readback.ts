/**
 * Reading GPU buffers back: a copy into a mappable staging buffer (kept in a pool by size, so steady
 * reads allocate nothing), then a map. A map aborted by the device going away is reported as that,
 * and so is a map that completes once the device is lost: values from a lost device are never returned
 * (a checkpoint read as the device dies would otherwise look like a good one).
 */
import { DeviceLostError } from '../errors.js';

export class Readback {
  readonly #gpu: GPUDevice;
  readonly #free: GPUBuffer[] = [];
  readonly #made: (descriptor: GPUBufferDescriptor) => GPUBuffer;
  readonly #failed: (error: Error) => void;
  /** Set when `gpu.lost` resolves: a read that completes after it rejects. */
  #lost: GPUDeviceLostInfo | undefined;

  /** `made` creates (and accounts for) a buffer; `failed` records a device loss seen by a read. */
  constructor(gpu: GPUDevice, made: (d: GPUBufferDescriptor) => GPUBuffer, failed: (error: Error) => void) {
    this.#gpu = gpu;
    this.#made = made;
    this.#failed = failed;
    gpu.lost.then(
      (info) => {
        this.#lost = info;
      },
      () => {},
    );
  }

  async read(source: GPUBuffer, offset: number, bytes: number): Promise<Float32Array> {
    const index = this.#free.findIndex((buffer) => buffer.size >= bytes);
    const staging =
      index >= 0
        ? (this.#free.splice(index, 1)[0] as GPUBuffer)
        : this.#made({
            label: 'readback staging',
            size: Math.max(256, 2 ** Math.ceil(Math.log2(bytes))),
            usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
          });
    const encoder = this.#gpu.createCommandEncoder({ label: 'readback' });
    encoder.copyBufferToBuffer(source, offset, staging, 0, bytes);
    this.#gpu.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      if (this.#lost) {
        staging.unmap();
        const error = new DeviceLostError(`WebGPU device lost: ${this.#lost.message || this.#lost.reason}`);
        this.#failed(error);
        throw error;
      }
      const values = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      return values;
    } catch (error) {
      // Nothing here unmaps or destroys a staging buffer mid-read: an aborted map means the device went
      // away, and that is what the caller is told.
      if ((error as Error).name === 'AbortError') {
        this.#failed(new DeviceLostError(`WebGPU device lost: ${(error as Error).message}`));
      }
      throw error;
    } finally {
      this.#free.push(staging);
    }
  }

  /** The pooled staging buffers, for the device to destroy. */
  drain(): GPUBuffer[] {
    return this.#free.splice(0);
  }
}
