/**
 * The kernel conformance suite (test/conformance/kernels.ts) in the browser: on WebGPU, with the tests
 * of its own kernel variants, and on the Wasm backend as a page runs it (threads when the page is
 * cross-origin isolated). Then the weight-gradient epilogue's bias update (WebGPU only: the Wasm
 * kernel has none): against the CPU reference, and bit for bit against the separate sgd dispatch it
 * replaces.
 */
import { describe, expect, inject, it } from 'vitest';
import { CpuDevice } from '../../src/device/cpu.js';
import type { Device } from '../../src/device/device.js';
import type { MatmulAttrs, SgdUpdate } from '../../src/ir/ir.js';
import { plainStep } from '../../src/ir/ir.js';
import { OPS } from '../../src/ops/index.js';
import { type MatmulParams, PLAIN_EPILOGUE } from '../../src/ops/matmul.js';
import { openWasm } from '../../src/wasm/open.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { kernelConformance } from '../conformance/kernels.js';
import { compareClose, randomArray } from '../helpers.js';
import { type GpuContext, requestTestDevice } from './gpu.js';
import { type OpInput, runOp } from './run-op.js';

const gpu = await requestTestDevice();

if (typeof gpu !== 'string') {
  kernelConformance(
    'GPU kernels vs CPU reference',
    (forced) => openWebGpu({ device: (gpu as GpuContext).device, kernelChoice: forced }),
    true,
  );
}
kernelConformance('Wasm kernels vs CPU reference (browser)', () => openWasm(), false);

/** dY [K, M], X [K, N], W [M, N], metrics, vW?, b [M], vb?: a weight-gradient matmul's inputs. */
function updateInputs(M: number, N: number, K: number, momentum: boolean, metrics = [0, 0, 0, 0]) {
  const inputs: OpInput[] = [
    { shape: [K, M], data: randomArray(K * M, M + K, -2, 2) },
    { shape: [K, N], data: randomArray(K * N, N + K) },
    { shape: [M, N], data: randomArray(M * N, 3) },
    { shape: [4], data: metrics },
    ...(momentum ? [{ shape: [M, N], data: randomArray(M * N, 4) }] : []),
  ];
  const bias = inputs.length;
  inputs.push({ shape: [M], data: randomArray(M, 5) });
  if (momentum) inputs.push({ shape: [M], data: randomArray(M, 6) });
  return { inputs, bias };
}

/** The parameters and velocities (in place) after the fused step: W, vW?, b, vb?. */
function updateOutputs(momentum: boolean, bias: number): number[] {
  return [2, ...(momentum ? [4] : []), bias, ...(momentum ? [bias + 1] : [])];
}

const bits = (values: Float32Array) => [...new Uint32Array(values.buffer)];

describe.skipIf(typeof gpu === 'string')('matmul epilogue: SGD update of W and of the bias', () => {
  let forced: string | undefined;
  let device: Device<unknown>;
  const cpu = new CpuDevice('f32');
  const ctx = plainStep(0, 0.1, 0.9);
  const open = async () => {
    device ??= await openWebGpu({ device: (gpu as GpuContext).device, kernelChoice: () => forced });
    return device;
  };

  /** Today's two dispatches: matmul{update, colSum} → db, then sgd on the bias. */
  async function unfused(inputs: OpInput[], bias: number, update: SgdUpdate, biasDecay: number) {
    const { momentum } = update;
    const attrs: MatmulAttrs = { transA: true, transB: false, update, colSum: true };
    const M = inputs[bias]?.shape[0] as number;
    const outputs = [2, ...(momentum ? [4] : []), [M]];
    const matmulInputs = inputs.slice(0, bias);
    const weights = await runOp(device, 'matmul', attrs, matmulInputs, outputs, { ctx });
    const db = weights.pop() as Float32Array;
    const sgdInputs = [
      inputs[bias],
      { shape: [M], data: db },
      inputs[3],
      ...(momentum ? [inputs[bias + 1]] : []),
    ];
    const sgd = { ...update, weightDecay: biasDecay };
    const biases = await runOp(device, 'sgd', sgd, sgdInputs as OpInput[], momentum ? [0, 3] : [0], { ctx });
    return [...weights, ...biases];
  }

  const updates: [SgdUpdate, number][] = [
    [{ momentum: false, nesterov: false, weightDecay: 0 }, 0],
    [{ momentum: true, nesterov: false, weightDecay: 0.01 }, 0],
    [{ momentum: true, nesterov: true, weightDecay: 0.02 }, 0.05],
  ];
  // M % 4 == 0 and N % 4 == 0 run matmul_vec4 by default, the others matmul.wgsl.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [33, 20, 9],
    [36, 20, 7],
    [10, 65, 16],
    [68, 12, 33],
  ];
  const cases = shapes.flatMap((shape) => updates.map(([u, d]) => [...shape, u, d] as const));

  it.each(cases)(
    'M %i N %i K %i %o bias weight decay %f: CPU reference, and the bits of sgd',
    async (M, N, K, update, biasDecay) => {
      await open();
      const { inputs, bias } = updateInputs(M, N, K, update.momentum);
      const attrs: MatmulAttrs = {
        transA: true,
        transB: false,
        update,
        colSum: true,
        biasUpdate: { weightDecay: biasDecay },
      };
      const outputs = updateOutputs(update.momentum, bias);
      const [want, got] = [
        await runOp(cpu, 'matmul', attrs, inputs, outputs, { ctx }),
        await runOp(device, 'matmul', attrs, inputs, outputs, { ctx }),
      ];
      const tolerance = OPS.matmul.tolerance({ K } as MatmulParams);
      want.forEach((expected, i) => {
        const shape = inputs[outputs[i] as number]?.shape ?? [];
        const message = compareClose(
          `matmul{biasUpdate} output ${i} M ${M} N ${N} K ${K}`,
          shape,
          got[i] as Float32Array,
          expected,
          tolerance,
        );
        if (message) throw new Error(message);
      });
      const separate = await unfused(inputs, bias, update, biasDecay);
      separate.forEach((values, i) => {
        expect(bits(got[i] as Float32Array), `output ${i} vs the unfused dispatches`).toEqual(bits(values));
      });
    },
  );

  it('every matmul candidate gives the bits of the unfused dispatches', async () => {
    await open();
    const [M, N, K] = [68, 20, 33];
    const [update, biasDecay] = updates[2] as [SgdUpdate, number];
    const { inputs, bias } = updateInputs(M, N, K, true);
    const attrs: MatmulAttrs = {
      transA: true,
      transB: false,
      update,
      colSum: true,
      biasUpdate: { weightDecay: biasDecay },
    };
    const p = { M, N, K, transA: true, transB: false, ...PLAIN_EPILOGUE };
    const variants = (OPS.matmul.kernel.tuning?.candidates(p) ?? []).map(
      (kernel) => kernel.variant as string,
    );
    expect(variants.length).toBeGreaterThan(10);
    // Workgroup-tiled pipelines take seconds each to compile on SwiftShader: `npm test` runs the first
    // of each tiled file, `npm run test:candidates` (CI) every one.
    const firstTiled = ['matmul_tiled ', 'matmul_tiled_double '].map((file) =>
      variants.find((v) => v.startsWith(file)),
    );
    const sampled = inject('allCandidates')
      ? variants
      : variants.filter((v) => !v.startsWith('matmul_tiled') || firstTiled.includes(v));
    for (const file of ['matmul_tiled ', 'matmul_tiled_double '])
      expect(
        sampled.some((v) => v.startsWith(file)),
        file,
      ).toBe(true);
    const want = (await unfused(inputs, bias, update, biasDecay)).map(bits);
    for (const variant of sampled) {
      forced = variant;
      try {
        const got = await runOp(device, 'matmul', attrs, inputs, updateOutputs(true, bias), { ctx });
        expect(got.map(bits), variant).toEqual(want);
      } finally {
        forced = undefined;
      }
    }
  });

  it('leaves W, the bias and their velocities alone once a non-finite loss was counted', async () => {
    await open();
    const [M, N, K] = [33, 20, 9];
    const update = { momentum: true, nesterov: true, weightDecay: 0.01 };
    const { inputs, bias } = updateInputs(M, N, K, true, [1, 2, 3, 1]);
    const attrs: MatmulAttrs = {
      transA: true,
      transB: false,
      update,
      colSum: true,
      biasUpdate: { weightDecay: 0 },
    };
    const outputs = updateOutputs(true, bias);
    for (const on of [cpu, device]) {
      const got = await runOp(on, 'matmul', attrs, inputs, outputs, { ctx });
      got.forEach((values, i) => {
        expect(values, `${on.kind} output ${i}`).toEqual(
          Float32Array.from(inputs[outputs[i] as number]?.data ?? []),
        );
      });
    }
  });
});
