/**
 * The WebGPU device's own contracts: pipelines are keyed by what determines them (code and constants)
 * and shared by the backends on one GPUDevice, a compile error names `file.wgsl:line` of the joined
 * source, an error the GPU reports outside any call is a GpuValidationError (not a lost device), and
 * kernel choice is an option passed in.
 */
import { describe, expect, it } from 'vitest';
import type { BoundOp, ProgramStep } from '../../src/device/device.js';
import { GpuValidationError, KernelCompileError } from '../../src/errors.js';
import { createBackend, mlp } from '../../src/index.js';
import { plainStep } from '../../src/ir/ir.js';
import { type BoundGpuKernel, joinWgsl } from '../../src/kernels/gpu.js';
import { tuningRecords } from '../../src/webgpu/autotune.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { type GpuContext, requestTestDevice } from './gpu.js';

const gpu = await requestTestDevice();

/** A one-binding kernel named `name` whose WGSL writes `value` into out[0]. */
function constantKernel(name: string, value: number, wgslName = 'constant.wgsl'): BoundGpuKernel {
  const code = [
    '@group(0) @binding(0) var<storage, read_write> out: array<f32>;',
    '@group(0) @binding(1) var<uniform> params: vec4u;',
    `@compute @workgroup_size(1) fn main() { out[0] = ${value.toFixed(1)} + f32(params.x); }`,
  ].join('\n');
  return {
    name,
    variant: name,
    wgsl: joinWgsl({ name: wgslName, code }),
    bindings: [['out', 0]],
    uniform: new Uint32Array(4),
    usesStep: false,
    overrides: {},
    workgroups: [1, 1, 1],
  };
}

function step<Buffer>(kernel: BoundGpuKernel, out: Buffer): ProgramStep<Buffer> {
  const op: BoundOp = {
    name: 'add',
    reference: () => {},
    tolerance: { atol: 0, rtol: 0 },
    gpu: kernel,
    gpuTuning: undefined,
    wasm: undefined,
  };
  return {
    node: { op: 'add', name: kernel.name, inputs: [], outputs: [0], attrs: {} },
    op,
    inputs: [],
    outputs: [out],
  };
}

describe.skipIf(typeof gpu === 'string')('WebGPU device', () => {
  const { device: gpuDevice } = gpu as GpuContext;

  it('gives two kernels of one name with different WGSL their own pipelines', async () => {
    const device = await openWebGpu({ device: gpuDevice });
    const values: number[] = [];
    for (const value of [1, 2]) {
      const out = device.createBuffer('out', 'f32', 1);
      const program = await device.createProgram('same name', [step(constantKernel('same', value), out)], []);
      program.run(plainStep());
      values.push((await device.read(out, 1))[0] as number);
      program.dispose();
      device.destroyBuffer(out);
    }
    expect(values).toEqual([1, 2]);
  });

  it('shares compiled pipelines between backends opened on one GPUDevice, and not across devices', async () => {
    const own = [
      await (await navigator.gpu.requestAdapter())?.requestDevice(),
      await (await navigator.gpu.requestAdapter())?.requestDevice(),
    ];
    const created = own.map((device) => {
      if (!device) throw new Error('no second device');
      const counter = { pipelines: 0 };
      const original = device.createComputePipelineAsync.bind(device);
      device.createComputePipelineAsync = (descriptor) => {
        counter.pipelines++;
        return original(descriptor);
      };
      return counter;
    });
    const spec = mlp({ sizes: [12, 16, 3], keepProb: { hidden: 0.5 }, seed: 3 });
    const compile = async (device: GPUDevice) => {
      const backend = await createBackend('webgpu', { device, autotune: false });
      const net = await backend.compile(spec, { batchSize: 4 });
      net.dispose();
      backend.dispose();
    };
    const [first, second] = own as [GPUDevice, GPUDevice];
    const [counterFirst, counterSecond] = created as [{ pipelines: number }, { pipelines: number }];
    await compile(first);
    const once = counterFirst.pipelines;
    expect(once).toBeGreaterThan(0);
    await compile(first); // a second backend on the same device, after the first was disposed
    expect(counterFirst.pipelines).toBe(once);
    await compile(second); // another device compiles its own
    expect(counterSecond.pipelines).toBe(once);
    for (const device of own) device?.destroy();
  });

  it('names the file and line of a WGSL error in the joined source, and the op', async () => {
    const device = await openWebGpu({ device: gpuDevice });
    const good = constantKernel('broken', 1);
    const kernel: BoundGpuKernel = {
      ...good,
      wgsl: joinWgsl(
        { name: 'first.wgsl', code: 'fn helper() -> f32 {\n  return 1.0;\n}' },
        { name: 'second.wgsl', code: `${good.wgsl.code}\nfn bad() { let x: f32 = undefined_name; }` },
      ),
    };
    const out = device.createBuffer('out', 'f32', 1);
    const error = await device.createProgram('broken', [step(kernel, out)], []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelCompileError);
    expect((error as KernelCompileError).op).toBe('add');
    expect((error as Error).message).toMatch(/second\.wgsl:4:/);
    device.destroyBuffer(out);
  });

  it('reports a GPU validation error outside any call as GpuValidationError, and refuses later calls', async () => {
    const own = await (await navigator.gpu.requestAdapter())?.requestDevice();
    if (!own) throw new Error('no second device');
    const device = await openWebGpu({ device: own });
    const out = device.createBuffer('out', 'f32', 4);
    // A copy past the end of a buffer: the device refuses it, with no error scope of ours around it.
    const encoder = own.createCommandEncoder();
    encoder.copyBufferToBuffer(out, 0, out, 8, 16);
    own.queue.submit([encoder.finish()]);
    await own.queue.onSubmittedWorkDone();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const error = await device.read(out, 4).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuValidationError);
    expect((error as Error).name).toBe('GpuValidationError');
    expect(() => device.createBuffer('later', 'f32', 1)).toThrow(GpuValidationError);
    own.destroy();
  });

  it('runs the kernel that kernelChoice picks, and refuses one that is not a candidate', async () => {
    const spec = mlp({ sizes: [512, 512, 10], seed: 1 });
    const recordsBefore = tuningRecords().length;
    const chosen = await createBackend('webgpu', {
      device: gpuDevice,
      // Not the default (variants[0]); not a workgroup-tiled kernel either, slow to compile on software.
      kernelChoice: ({ variants }) => variants[1] ?? variants[0],
    });
    const net = await chosen.compile(spec, { batchSize: 64 });
    expect(tuningRecords().length).toBe(recordsBefore); // nothing timed: the choice was given
    net.dispose();
    const wrong = await createBackend('webgpu', { device: gpuDevice, kernelChoice: () => 'no such kernel' });
    await expect(wrong.compile(spec, { batchSize: 64 })).rejects.toThrow(
      /no candidate kernel no such kernel/,
    );
    expect(wrong.memory()).toEqual({ buffers: 0, bytes: 0 });
  });
});
