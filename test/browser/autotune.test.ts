/**
 * The autotuner (src/webgpu/autotune.ts): it times every candidate of a node big enough to be worth it,
 * keeps the fastest per adapter and shape (in memory and localStorage), times nothing twice, and never
 * changes a result.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/graph/executor.js';
import { Graph, plainStep } from '../../src/ir/ir.js';
import { OPS } from '../../src/ops/index.js';
import { PLAIN_EPILOGUE } from '../../src/ops/matmul.js';
import { clearTuning, tuningRecords } from '../../src/webgpu/autotune.js';
import type { WebGpuDevice } from '../../src/webgpu/device.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { randomArray } from '../helpers.js';
import { type GpuContext, requestTestDevice } from './gpu.js';

const gpu = await requestTestDevice();

/** C = A·Bᵀ for A [M, K], B [N, K] (fixed random values), computed on `device`. */
async function forward(device: WebGpuDevice, M: number, N: number, K: number): Promise<Float32Array> {
  const graph = new Graph();
  const a = graph.tensor('a', [M, K], 'input');
  const b = graph.tensor('b', [N, K], 'input');
  const c = graph.apply('matmul', 'matmul', [a, b], { transA: false, transB: true }, [M, N], 'output');
  const compiled = await compileGraph(device, 'autotune test', graph, { keep: [c] });
  device.write(compiled.bufferOf(a), Float32Array.from(randomArray(M * K, 1)));
  device.write(compiled.bufferOf(b), Float32Array.from(randomArray(N * K, 2)));
  compiled.program.run(plainStep());
  const result = Float32Array.from(await device.read(compiled.bufferOf(c), M * N));
  compiled.dispose();
  return result;
}

describe.skipIf(typeof gpu === 'string')('autotune', () => {
  const { device: gpuDevice } = gpu as GpuContext;
  afterAll(() => clearTuning());

  it('times each file, then every workgroup shape of the faster one, keeps the fastest, remembers it', async () => {
    clearTuning();
    const device = await openWebGpu({ device: gpuDevice });
    const [M, N, K] = [64, 256, 256]; // 2^22 multiply-adds: just worth timing
    const p = { M, N, K, transA: false, transB: true, ...PLAIN_EPILOGUE };
    expect(OPS.matmul.kernel.tuning?.worthTiming(p)).toBe(true);
    const memoryBefore = device.memory();
    await forward(device, M, N, K);
    const records = tuningRecords();
    expect(records).toHaveLength(1);
    const record = records[0];
    const variants = OPS.matmul.kernel.tuning?.candidates(p).map((kernel) => kernel.variant) ?? [];
    // Stage 1: both files in the default workgroup shape; stage 2: every shape of the faster file.
    const timed = Object.keys(record?.times ?? {});
    expect(timed).toContain('matmul_vec4 8x8');
    expect(timed).toContain('matmul 8x8');
    const file = record?.chosen.split(' ')[0] ?? '';
    const shapes = variants.filter((variant) => variant?.startsWith(`${file} `));
    expect(shapes).toHaveLength(5);
    for (const variant of shapes) expect(timed).toContain(variant);
    expect(timed).toHaveLength(6);
    for (const ms of Object.values(record?.times ?? {})) expect(ms).toBeGreaterThan(0);
    const stage2 = shapes.map((variant) => record?.times[variant as string] as number);
    expect(record?.times[record.chosen]).toBe(Math.min(...stage2));
    expect(record?.key).toBe('64x256x256 transB');
    // Its scratch buffers are gone; what is left is the device's own (placeholders, staging).
    expect(device.memory().buffers - memoryBefore.buffers).toBeLessThanOrEqual(8);
    const stored = JSON.parse(localStorage.getItem('dropgpu.autotune.v1') ?? '{}');
    expect(
      Object.values(stored).some(
        // The remembered key: op, shape, and a fingerprint of the candidates' code.
        (byKey) =>
          Object.entries(byKey as Record<string, string>).some(
            ([key, variant]) => key.startsWith('matmul 64x256x256 transB ') && variant === record?.chosen,
          ),
      ),
    ).toBe(true);

    await forward(device, M, N, K);
    expect(tuningRecords()).toHaveLength(1);
    device.destroy();
  });

  it('changes no bit of the result, and leaves small nodes alone', async () => {
    clearTuning();
    const tuned = await openWebGpu({ device: gpuDevice });
    const untuned = await openWebGpu({ device: gpuDevice, autotune: false });
    const [M, N, K] = [64, 256, 256];
    const [withTuning, without] = [await forward(tuned, M, N, K), await forward(untuned, M, N, K)];
    expect(tuningRecords()).toHaveLength(1);
    expect(new Uint32Array(withTuning.buffer)).toEqual(new Uint32Array(without.buffer));
    await forward(tuned, 8, 8, 8);
    expect(tuningRecords()).toHaveLength(1);
    tuned.destroy();
    untuned.destroy();
  });
});
