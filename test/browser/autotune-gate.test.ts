/**
 * The autotuner's bit check (src/webgpu/autotune.ts): every candidate's first run is on the same fixed
 * random inputs, and one whose output differs in any bit from the default kernel's is dropped — never
 * chosen, however fast — and named in the tuning record.
 */
import { afterAll, describe, expect, it } from 'vitest';
import seqWgsl from '../../bench/kernels/matmul_vec4_seq.wgsl?raw';
import { type BoundGpuKernel, type BoundTuning, bindGpuKernel } from '../../src/kernels/gpu.js';
import { OPS } from '../../src/ops/index.js';
import { type MatmulParams, matmulKernel, PLAIN_EPILOGUE } from '../../src/ops/matmul.js';
import { chooseKernel, clearTuning, measureCandidates, tuningRecords } from '../../src/webgpu/autotune.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { type GpuContext, requestTestDevice } from './gpu.js';

const gpu = await requestTestDevice();

describe.skipIf(typeof gpu === 'string')('autotune bit check', () => {
  const { device: gpuDevice } = gpu as GpuContext;
  afterAll(() => clearTuning());
  const [M, N, K] = [64, 256, 256]; // 2^22 multiply-adds: worth timing
  const p: MatmulParams = { M, N, K, transA: false, transB: true, ...PLAIN_EPILOGUE };
  const kernel = OPS.matmul.kernel;

  /** The real tuning of `p` with `extra` candidates appended. */
  function tuningWith(extra: readonly BoundGpuKernel[]): { tuning: BoundTuning; fallback: BoundGpuKernel } {
    const bound = bindGpuKernel('matmul', kernel, p);
    const tuning = bound.tuning as BoundTuning;
    return {
      fallback: bound.kernel,
      tuning: {
        ...tuning,
        candidates: [...tuning.candidates, ...extra],
        timed: [...tuning.timed, ...extra],
      },
    };
  }

  it('drops a faster candidate whose bits differ, and a different order of sums, and names both', async () => {
    clearTuning();
    const device = await openWebGpu({ device: gpuDevice });
    const host = device.tuningHost();
    const real = bindGpuKernel('matmul', kernel, p).kernel;
    // Wrong and fast: the default kernel told that K is half what it is.
    const wrong: BoundGpuKernel = {
      ...real,
      name: 'wrong_half_k',
      variant: 'wrong_half_k 8x8',
      uniform: Uint32Array.from(real.uniform, (word, i) => (i === 2 ? K / 2 : word)),
    };
    // Same products, another order of sums (one product at a time): other bits.
    const seq = bindGpuKernel(
      'matmul',
      matmulKernel('matmul_vec4_seq', { name: 'matmul_vec4_seq.wgsl', code: seqWgsl }, { x: 8, y: 8 }),
      p,
    ).kernel;
    const { tuning, fallback } = tuningWith([wrong, seq]);
    const chosen = await chooseKernel(host, 'matmul', tuning, fallback);
    const record = tuningRecords().at(-1);
    expect(record?.dropped).toContain('wrong_half_k 8x8');
    expect(record?.dropped).toContain('matmul_vec4_seq 8x8');
    expect(chosen.variant).not.toBe('wrong_half_k 8x8');
    expect(chosen.variant).not.toBe('matmul_vec4_seq 8x8');
    expect(record?.chosen).toBe(chosen.variant);
    expect(['timestamp-query', 'wall']).toContain(record?.timer);
    // The library's own candidates all pass on this adapter.
    const own = new Set(tuning.candidates.slice(0, -2).map((k) => k.variant));
    for (const variant of record?.dropped ?? []) expect(own.has(variant)).toBe(false);
    device.destroy();
  });

  it('checks on random inputs: outputs are neither zero nor constant, and equal kernels agree', async () => {
    const device = await openWebGpu({ device: gpuDevice });
    const { tuning } = tuningWith([]);
    const measured = await measureCandidates(
      device.tuningHost(),
      'matmul',
      tuning.timed.slice(0, 3),
      tuning.scratch,
      { rounds: 0 },
    );
    expect(measured.differs).toEqual([false, false, false]);
    const out = new Float32Array((measured.outputs[0] as Uint32Array).buffer);
    expect(out.length).toBe(M * N);
    expect(new Set(out).size).toBeGreaterThan(M * N * 0.9);
    device.destroy();
  });

  it('times the GPU candidates (blocks, tiles) on a GPU, where they pass the check; on SwiftShader neither, on lavapipe the blocks', async () => {
    clearTuning();
    const device = await openWebGpu({ device: gpuDevice });
    const bound = bindGpuKernel('matmul', kernel, p);
    const tuning = bound.tuning as BoundTuning;
    const pick = (prefix: string) => tuning.candidates.findIndex((k) => k.variant.startsWith(prefix));
    const picked = [0, pick('matmul_block 8x8 block 4x8'), pick('matmul_tiled 8x8 TileK 16')];
    expect(picked).not.toContain(-1);
    const small: BoundTuning = {
      ...tuning,
      candidates: picked.map((i) => tuning.candidates[i] as BoundGpuKernel),
      timed: picked.map((i) => tuning.timed[i] as BoundGpuKernel),
    };
    // The same device under a GPU's name: every candidate is timed and none is dropped.
    const host = { ...device.tuningHost(), adapter: 'some vendor / some gpu / / ' };
    await chooseKernel(host, 'matmul', small, bound.kernel);
    const record = tuningRecords().at(-1);
    expect(Object.keys(record?.times ?? {}).sort()).toEqual(small.candidates.map((k) => k.variant).sort());
    expect(record?.dropped).toEqual([]);
    // Under SwiftShader's name only the default is left: nothing to time.
    const swiftShader = { ...device.tuningHost(), adapter: 'google / swiftshader / / ' };
    const before = tuningRecords().length;
    const chosen = await chooseKernel(swiftShader, 'matmul', small, bound.kernel);
    expect(chosen.variant).toBe(bound.kernel.variant);
    expect(tuningRecords()).toHaveLength(before);
    // Under lavapipe's, the block kernel is timed (it can win there), the tiled one is not.
    const lavapipe = {
      ...device.tuningHost(),
      adapter: 'mesa / llvmpipe / / llvmpipe (LLVM 15.0.6, 256 bits)',
    };
    await chooseKernel(lavapipe, 'matmul', small, bound.kernel);
    expect(Object.keys(tuningRecords().at(-1)?.times ?? {}).sort()).toEqual(
      [0, 1].map((i) => small.candidates[i]?.variant).sort(),
    );
    device.destroy();
  });

  it('leaves out what a candidate says is slow on the adapter, whatever its name', async () => {
    clearTuning();
    const device = await openWebGpu({ device: gpuDevice });
    const bound = bindGpuKernel('matmul', kernel, p);
    const tuning = bound.tuning as BoundTuning;
    const block = tuning.candidates.findIndex((k) => k.variant.startsWith('matmul_block 8x8 block 4x8'));
    expect(block).toBeGreaterThan(0);
    // The default kernel under another name, said to be slow on SwiftShader; a block kernel said to
    // be slow nowhere.
    const flagged = (k: BoundGpuKernel): BoundGpuKernel => ({
      ...k,
      variant: 'default copy 8x8',
      slowOn: ['swiftshader'],
    });
    const unflagged = (k: BoundGpuKernel): BoundGpuKernel => {
      const { slowOn: _, ...rest } = k;
      return rest;
    };
    const mix = (list: readonly BoundGpuKernel[]): BoundGpuKernel[] => {
      const [first, blocks] = [list[0] as BoundGpuKernel, list[block] as BoundGpuKernel];
      return [first, flagged(first), unflagged(blocks)];
    };
    const mixed: BoundTuning = { ...tuning, candidates: mix(tuning.candidates), timed: mix(tuning.timed) };
    const swiftShader = { ...device.tuningHost(), adapter: 'google / swiftshader / / ' };
    await chooseKernel(swiftShader, 'matmul', mixed, bound.kernel);
    const variants = [mixed.candidates[0], mixed.candidates[2]].map((k) => k?.variant);
    expect(Object.keys(tuningRecords().at(-1)?.times ?? {}).sort()).toEqual(variants.sort());
    device.destroy();
  });

  it('re-checks a remembered choice that is not the default before using it', async () => {
    clearTuning();
    const device = await openWebGpu({ device: gpuDevice });
    const host = device.tuningHost();
    const { tuning, fallback } = tuningWith([]);
    const first = await chooseKernel(host, 'matmul', tuning, fallback);
    const count = tuningRecords().length;
    const again = await chooseKernel(host, 'matmul', tuning, fallback);
    expect(again.variant).toBe(first.variant);
    expect(tuningRecords()).toHaveLength(count); // remembered: not timed again
    device.destroy();
  });
});
