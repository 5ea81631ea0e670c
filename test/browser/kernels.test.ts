/**
 * The kernel conformance suite (test/conformance/kernels.ts) in the browser: on WebGPU, with the tests
 * of its own kernel variants, and on the Wasm backend as a page runs it (threads when the page is
 * cross-origin isolated). Then the weight-gradient epilogue's bias update (WebGPU only: the Wasm
 * kernel has none): against the CPU reference, and bit for bit against the separate sgd dispatch it
 * replaces; and the weight-gradient epilogue's Adam step (on a device with the 9 storage buffers a
 * stage it needs), against the CPU reference and bit for bit against the adam dispatches it replaces.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CpuDevice } from '../../src/device/cpu.js';
import type { Device } from '../../src/device/device.js';
import type { AdamUpdate, MatmulAttrs, SgdUpdate } from '../../src/ir/ir.js';
import { plainStep } from '../../src/ir/ir.js';
import { adam, stepContext } from '../../src/nn/optim.js';
import { OPS } from '../../src/ops/index.js';
import { type MatmulParams, PLAIN_EPILOGUE } from '../../src/ops/matmul.js';
import { ADAM_UPDATE_STORAGE_BUFFERS } from '../../src/ops/matmul-gpu.js';
import { openWasm } from '../../src/wasm/open.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { kernelConformance } from '../conformance/kernels.js';
import { compareClose, randomArray } from '../helpers.js';
import { type GpuContext, requestTestDevice, requestWideDevice } from './gpu.js';
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

/** Each output within `tolerance` of the reference (an output: a new shape, or an input's index). */
function expectClose(
  label: string,
  inputs: readonly OpInput[],
  outputs: readonly (number | readonly number[])[],
  got: readonly Float32Array[],
  want: readonly Float32Array[],
  tolerance: { atol: number; rtol: number },
): void {
  want.forEach((expected, i) => {
    const output = outputs[i] ?? [];
    const shape = typeof output === 'number' ? (inputs[output]?.shape ?? []) : output;
    const message = compareClose(`${label} output ${i}`, shape, got[i] as Float32Array, expected, tolerance);
    if (message) throw new Error(message);
  });
}

/** The fused node's outputs are the bits of the separate dispatches it replaces. */
function expectBits(got: readonly Float32Array[], separate: readonly Float32Array[]): void {
  expect(separate).toHaveLength(got.length);
  separate.forEach((values, i) => {
    expect(bits(got[i] as Float32Array), `output ${i} vs the unfused dispatches`).toEqual(bits(values));
  });
}

/**
 * The candidates a fused-update check compiles: each pipeline takes a second or more on SwiftShader,
 * so `npm test` runs the first variant of each WGSL file (the name's first word) other than the
 * defaults, `npm run test:candidates` (CI) every one.
 */
function sampledVariants(variants: readonly string[]): string[] {
  if (inject('allCandidates')) return [...variants];
  // matmul.wgsl and matmul_vec4.wgsl are the default kernels, which every case above runs.
  const files = new Set<string>(['matmul', 'matmul_vec4']);
  return variants.filter((variant) => {
    const file = variant.split(' ')[0] as string;
    if (files.has(file)) return false;
    files.add(file);
    return true;
  });
}

/**
 * `run` on one backend per variant (opened on `on`, forcing that matmul variant), all at once: their
 * pipelines compile concurrently.
 */
function onEachVariant<T>(
  on: GPUDevice,
  variants: readonly string[],
  run: (device: Device<unknown>) => Promise<T>,
): Promise<T[]> {
  return Promise.all(
    variants.map(async (variant) => {
      const device = await openWebGpu({ device: on, kernelChoice: () => variant });
      try {
        return await run(device);
      } finally {
        device.destroy();
      }
    }),
  );
}

describe
  .skipIf(typeof gpu === 'string')
  .concurrent('matmul epilogue: SGD update of W and of the bias', () => {
    let device: Device<unknown>;
    const cpu = new CpuDevice('f32');
    const ctx = plainStep(0, 0.1, 0.9);
    beforeAll(async () => {
      device = await openWebGpu({ device: (gpu as GpuContext).device });
    });

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
      const biases = await runOp(device, 'sgd', sgd, sgdInputs as OpInput[], momentum ? [0, 3] : [0], {
        ctx,
      });
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
    // `npm test`: each shape with one setting, in turn (every setting and shape covered); `npm run
    // test:candidates` (CI): every pair.
    const cases = shapes
      .flatMap((shape, i) =>
        updates.map(([u, d], j) => ({ run: j === i % updates.length, c: [...shape, u, d] as const })),
      )
      .filter(({ run }) => run || inject('allCandidates'))
      .map(({ c }) => c);

    it.each(cases)(
      'M %i N %i K %i %o bias weight decay %f: CPU reference, and the bits of sgd',
      async (M, N, K, update, biasDecay) => {
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
        expectClose(`matmul{biasUpdate} M ${M} N ${N} K ${K}`, inputs, outputs, got, want, tolerance);
        expectBits(got, await unfused(inputs, bias, update, biasDecay));
      },
    );

    it('every matmul candidate gives the bits of the unfused dispatches', async () => {
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
      const sampled = sampledVariants(variants);
      for (const file of ['matmul_tiled ', 'matmul_tiled_double '])
        expect(
          sampled.some((v) => v.startsWith(file)),
          file,
        ).toBe(true);
      const want = (await unfused(inputs, bias, update, biasDecay)).map(bits);
      const got = await onEachVariant((gpu as GpuContext).device, sampled, (on) =>
        runOp(on, 'matmul', attrs, inputs, updateOutputs(true, bias), { ctx }),
      );
      for (const [v, outputs] of got.entries()) expect(outputs.map(bits), sampled[v]).toEqual(want);
    });

    it('leaves W, the bias and their velocities alone once a non-finite loss was counted', async () => {
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

const wide = await requestWideDevice(ADAM_UPDATE_STORAGE_BUFFERS);

/** How a weight-gradient matmul with Adam's step treats the column sums (the bias gradient). */
type BiasMode = 'biasUpdate' | 'colSum' | 'none';

/**
 * dY [K, M], X [K, N], W [M, N], metrics, mW, vW [M, N], then with a bias update b, mb, vb [M]: a
 * weight-gradient matmul's inputs under Adam (second moments ≥ 0).
 */
function adamInputs(M: number, N: number, K: number, mode: BiasMode, metrics = [0, 0, 0, 0]): OpInput[] {
  return [
    { shape: [K, M], data: randomArray(K * M, M + K, -2, 2) },
    { shape: [K, N], data: randomArray(K * N, N + K) },
    { shape: [M, N], data: randomArray(M * N, 3) },
    { shape: [4], data: metrics },
    { shape: [M, N], data: randomArray(M * N, 4, -0.1, 0.1) },
    { shape: [M, N], data: randomArray(M * N, 5, 0, 0.01) },
    ...(mode === 'biasUpdate'
      ? [
          { shape: [M], data: randomArray(M, 6) },
          { shape: [M], data: randomArray(M, 7, -0.1, 0.1) },
          { shape: [M], data: randomArray(M, 8, 0, 0.01) },
        ]
      : []),
  ];
}

describe
  .skipIf(typeof wide === 'string')
  .concurrent('matmul epilogue: Adam update of W and of the bias', () => {
    let device: Device<unknown>;
    const cpu = new CpuDevice('f32');
    // Step 4: bias corrections well away from 1 (and from the first step's).
    const ctx = stepContext(adam({ lr: 0.01 }), 4, 0.01, 0);
    beforeAll(async () => {
      device = await openWebGpu({ device: (wide as GpuContext).device });
      expect(device.fusesAdamUpdates).toBe(true);
    });

    const fusedAttrs = (adamUpdate: AdamUpdate, mode: BiasMode, biasDecay: number): MatmulAttrs => ({
      transA: true,
      transB: false,
      adamUpdate,
      ...(mode === 'none' ? {} : { colSum: true }),
      ...(mode === 'biasUpdate' ? { biasUpdate: { weightDecay: biasDecay } } : {}),
    });
    /** W, mW, vW in place, then the bias and its moments in place, or the stored column sums. */
    const fusedOutputs = (M: number, mode: BiasMode) =>
      mode === 'biasUpdate' ? [2, 4, 5, 6, 7, 8] : mode === 'colSum' ? [2, 4, 5, [M]] : [2, 4, 5];

    /** The dispatches it replaces: matmul{colSum?} → [dW, db?], adam on W, adam on the bias. */
    async function unfused(inputs: OpInput[], mode: BiasMode, adamUpdate: AdamUpdate, biasDecay: number) {
      const [M, N] = (inputs[2] as OpInput).shape as [number, number];
      const attrs: MatmulAttrs = {
        transA: true,
        transB: false,
        ...(mode === 'none' ? {} : { colSum: true }),
      };
      const products = await runOp(
        device,
        'matmul',
        attrs,
        inputs.slice(0, 2),
        [[M, N], ...(mode === 'none' ? [] : [[M]])],
        { ctx },
      );
      const [dW, db] = products as [Float32Array, Float32Array | undefined];
      const [w, metrics, mW, vW] = inputs.slice(2, 6) as [OpInput, OpInput, OpInput, OpInput];
      const weights = await runOp(
        device,
        'adam',
        adamUpdate,
        [w, { shape: [M, N], data: dW }, metrics, mW, vW],
        [0, 3, 4],
        { ctx },
      );
      if (mode === 'none') return weights;
      if (mode === 'colSum') return [...weights, db as Float32Array];
      const [b, mb, vb] = inputs.slice(6) as [OpInput, OpInput, OpInput];
      const bias = { ...adamUpdate, weightDecay: biasDecay };
      const biases = await runOp(
        device,
        'adam',
        bias,
        [b, { shape: [M], data: db as Float32Array }, metrics, mb, vb],
        [0, 3, 4],
        { ctx },
      );
      return [...weights, ...biases];
    }

    const updates: [AdamUpdate, number][] = [
      [{ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, 0],
      [{ beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.01 }, 0.05],
    ];
    // M % 4 == 0 and N % 4 == 0 run matmul_vec4 by default, the others matmul.wgsl.
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [7, 33, 65],
      [33, 20, 9],
      [36, 20, 7],
      [65, 7, 33],
      [68, 12, 33],
    ];
    const modes: BiasMode[] = ['biasUpdate', 'colSum', 'none'];
    // As for SGD: `npm test` runs each shape with one bias mode and one setting, in turn (each mode on
    // two shapes, each setting on three); `npm run test:candidates` (CI) every combination.
    const cases = shapes
      .flatMap((shape, i) =>
        modes.flatMap((mode, j) =>
          updates.map(([u, d], k) => ({
            run: j === i % modes.length && k === i % updates.length,
            c: [...shape, mode, u, d] as const,
          })),
        ),
      )
      .filter(({ run }) => run || inject('allCandidates'))
      .map(({ c }) => c);

    it.each(cases)(
      'M %i N %i K %i %s %o bias weight decay %f: CPU reference, and the bits of the adam dispatches',
      async (M, N, K, mode, adamUpdate, biasDecay) => {
        const inputs = adamInputs(M, N, K, mode);
        const attrs = fusedAttrs(adamUpdate, mode, biasDecay);
        const outputs = fusedOutputs(M, mode);
        const [want, got] = [
          await runOp(cpu, 'matmul', attrs, inputs, outputs, { ctx }),
          await runOp(device, 'matmul', attrs, inputs, outputs, { ctx }),
        ];
        // The reference takes its gradient in double precision, the separate adam its f32 rounding: a
        // step of ±lr·m/√v moves with it, most where the gradient is near 0 (see ADAM_STEP_TOLERANCE in
        // training.test.ts). The bits are held to the separate dispatches below.
        const tolerance = { atol: 1e-5, rtol: 1e-4 };
        expectClose(`matmul{adamUpdate} M ${M} N ${N} K ${K} ${mode}`, inputs, outputs, got, want, tolerance);
        expectBits(got, await unfused(inputs, mode, adamUpdate, biasDecay));
      },
    );

    it('every matmul candidate (its Adam twin) gives the bits of the unfused dispatches', async () => {
      for (const [M, N, K] of [
        [68, 20, 33],
        [33, 20, 9],
      ] as const) {
        const [adamUpdate, biasDecay] = updates[1] as [AdamUpdate, number];
        const inputs = adamInputs(M, N, K, 'biasUpdate');
        const attrs = fusedAttrs(adamUpdate, 'biasUpdate', biasDecay);
        const shape = { M, N, K, transA: true, transB: false, ...PLAIN_EPILOGUE };
        const twins = OPS.matmul.kernel.tuning?.candidates({ ...shape, adamUpdate, colSum: true }) ?? [];
        const variants = twins.map((kernel) => kernel.variant as string);
        // The twins: the plain candidates' variants, in their order, behind the Adam epilogue.
        const plain = (OPS.matmul.kernel.tuning?.candidates(shape) ?? []).map((kernel) => kernel.variant);
        expect(variants).toEqual(plain);
        expect(
          twins.every((kernel) => kernel.wgsl.files.some((f) => f.name === 'matmul_adam_epilogue.wgsl')),
        ).toBe(true);
        const sampled = sampledVariants(variants);
        for (const file of ['matmul_tiled ', 'matmul_tiled_double '])
          expect(
            sampled.some((v) => v.startsWith(file)),
            file,
          ).toBe(true);
        const want = (await unfused(inputs, 'biasUpdate', adamUpdate, biasDecay)).map(bits);
        const got = await onEachVariant((wide as GpuContext).device, sampled, (on) =>
          runOp(on, 'matmul', attrs, inputs, fusedOutputs(M, 'biasUpdate'), { ctx }),
        );
        for (const [v, outputs] of got.entries())
          expect(outputs.map(bits), `${sampled[v]} M ${M} N ${N} K ${K}`).toEqual(want);
      }
    });

    it.each(modes)(
      '%s: leaves W, the bias and their moments alone once a non-finite loss was counted',
      async (mode) => {
        const [M, N, K] = [33, 20, 9];
        const adamUpdate = updates[1]?.[0] as AdamUpdate;
        const inputs = adamInputs(M, N, K, mode, [1, 2, 3, 1]);
        const attrs = fusedAttrs(adamUpdate, mode, 0.05);
        const outputs = fusedOutputs(M, mode);
        const separate = await unfused(inputs, mode, adamUpdate, 0.05);
        for (const on of [cpu, device]) {
          const got = await runOp(on, 'matmul', attrs, inputs, outputs, { ctx });
          got.forEach((values, i) => {
            const output = outputs[i];
            // In place: untouched. The stored column sums are still stored, as by the separate matmul.
            const want =
              typeof output === 'number'
                ? Float32Array.from(inputs[output]?.data ?? [])
                : (separate[i] as Float32Array);
            if (on === device) expect(bits(values), `${on.kind} output ${i}`).toEqual(bits(want));
            else if (typeof output === 'number') expect(values, `${on.kind} output ${i}`).toEqual(want);
          });
        }
      },
    );
  });
