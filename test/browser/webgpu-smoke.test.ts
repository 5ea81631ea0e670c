import { describe, expect, it } from 'vitest';
import { type GpuContext, requestTestDevice } from './gpu.js';

const gpu = await requestTestDevice();

describe.skipIf(typeof gpu === 'string')('webgpu smoke', () => {
  const { device, adapterInfo } = gpu as GpuContext;

  it('runs a compute shader and reads its output back', async () => {
    console.info(`adapter: ${adapterInfo.vendor} ${adapterInfo.architecture} ${adapterInfo.description}`);
    const module = device.createShaderModule({
      label: 'smoke_square_plus_index',
      code: /* wgsl */ `
        @group(0) @binding(0) var<storage, read_write> data: array<f32>;
        @compute @workgroup_size(64)
        fn main(@builtin(global_invocation_id) id: vec3u) {
          if (id.x < arrayLength(&data)) { data[id.x] = data[id.x] * data[id.x] + f32(id.x); }
        }`,
    });
    const pipeline = await device.createComputePipelineAsync({
      label: 'smoke_square_plus_index',
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const input = Float32Array.from({ length: 100 }, (_, i) => i * 0.5 - 7);
    const data = device.createBuffer({
      label: 'smoke data',
      size: input.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const staging = device.createBuffer({
      label: 'smoke staging',
      size: input.byteLength,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(data, 0, input);
    const bindGroup = device.createBindGroup({
      label: 'smoke bind group',
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: data } }],
    });
    const encoder = device.createCommandEncoder({ label: 'smoke encoder' });
    const pass = encoder.beginComputePass({ label: 'smoke pass' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(input.length / 64));
    pass.end();
    encoder.copyBufferToBuffer(data, 0, staging, 0, input.byteLength);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const output = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    const expected = input.map((v, i) => v * v + i);
    expect(Array.from(output)).toEqual(Array.from(expected));
    data.destroy();
    staging.destroy();
  });
});
