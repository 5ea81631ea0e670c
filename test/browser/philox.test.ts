/** Philox4x32-10 in WGSL against Random123's vectors, and dropout masks bit-identical to the CPU's. */
import { beforeAll, describe, expect, it } from 'vitest';
import philoxWgsl from '../../shaders/philox.wgsl?raw';
import { CpuDevice } from '../../src/device/cpu.js';
import { dropoutMask } from '../../src/rng/philox.js';
import type { WebGpuDevice } from '../../src/webgpu/device.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { PHILOX_KAT } from '../kat.js';
import { type GpuContext, requestTestDevice } from './gpu.js';
import { runOp } from './run-op.js';

const gpu = await requestTestDevice();

// Test entry joined after philox.wgsl: one invocation per (counter, key) row of `cases`.
const KAT_ENTRY = /* wgsl */ `
@group(0) @binding(0) var<storage, read> cases: array<u32>;         // [n, 6]: counter[4], key[2]
@group(0) @binding(1) var<storage, read_write> words: array<vec4u>; // [n]
@compute @workgroup_size(1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x * 6u;
  words[gid.x] = philox4x32(vec4u(cases[c], cases[c + 1u], cases[c + 2u], cases[c + 3u]), vec2u(cases[c + 4u], cases[c + 5u]));
}`;

describe.skipIf(typeof gpu === 'string')('philox4x32 in WGSL', () => {
  let device: WebGpuDevice;
  beforeAll(async () => {
    device = await openWebGpu({ device: (gpu as GpuContext).device });
  });

  it('matches all Random123 known-answer vectors', async () => {
    const { device: d } = gpu as GpuContext;
    const cases = Uint32Array.from(PHILOX_KAT.flatMap(([counter, key]) => [...counter, ...key]));
    const input = d.createBuffer({
      label: 'kat cases',
      size: cases.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    const output = d.createBuffer({
      label: 'kat words',
      size: PHILOX_KAT.length * 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    d.queue.writeBuffer(input, 0, cases);
    const module = d.createShaderModule({ label: 'philox_kat', code: `${philoxWgsl}\n${KAT_ENTRY}` });
    const pipeline = await d.createComputePipelineAsync({
      label: 'philox_kat',
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const bindGroup = d.createBindGroup({
      label: 'philox_kat',
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: input } },
        { binding: 1, resource: { buffer: output } },
      ],
    });
    const encoder = d.createCommandEncoder({ label: 'philox_kat' });
    const pass = encoder.beginComputePass({ label: 'philox_kat' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(PHILOX_KAT.length);
    pass.end();
    d.queue.submit([encoder.finish()]);
    const words = new Uint32Array((await device.read(output, PHILOX_KAT.length * 4)).buffer);
    PHILOX_KAT.forEach(([counter, key, expected], i) => {
      expect(Array.from(words.subarray(i * 4, i * 4 + 4)), `counter ${counter} key ${key}`).toEqual(expected);
    });
    input.destroy();
    output.destroy();
  });

  // dropout(ones) is 1/keepProb where kept and 0 where dropped: the mask itself, on both devices.
  it.each([
    [0, 0, 0, 0.5, 1],
    [1, 7, 1, 0.8, 33],
    [2 ** 32 + 3, 123_456, 2, 0.5, 257 * 65],
    [2 ** 53 - 1, 2 ** 32 - 1, 3, 0.1, 4099],
    [42, 5, 1, 0.999, 1000],
  ])(
    'dropout mask bit-identical to the CPU: seed %d step %d site %d keepProb %f length %d',
    async (seed, step, site, keepProb, length) => {
      const input = [{ shape: [length], data: new Float32Array(length).fill(1) }];
      const attrs = { seed, site, keepProb, stream: 0 };
      const [onGpu] = await runOp(device, 'dropout', attrs, input, [[length]], { step });
      const [onCpu] = await runOp(new CpuDevice(), 'dropout', attrs, input, [[length]], { step });
      const expected = dropoutMask(seed, step, site, keepProb, length);
      const gpuMask = Uint8Array.from(onGpu as Float32Array, (v) => (v !== 0 ? 1 : 0));
      const cpuMask = Uint8Array.from(onCpu as Float32Array, (v) => (v !== 0 ? 1 : 0));
      const firstDiff = gpuMask.findIndex((bit, i) => bit !== expected[i]);
      expect(firstDiff, `first differing element ${firstDiff}`).toBe(-1);
      expect(cpuMask).toEqual(expected);
      expect((onGpu as Float32Array).every((v) => v === 0 || v === Math.fround(1 / keepProb))).toBe(true);
    },
  );
});
