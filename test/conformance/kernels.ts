/**
 * A device's kernels vs the CPU reference, one op at a time, on shapes that break tile guards (1, 7,
 * 33, 65, 257 and the 32-wide tile's edges). Each comparison uses the op's stated tolerance:
 * |device − cpu| ≤ atol + rtol·|cpu|. One suite for every backend: test/browser/kernels.test.ts runs it
 * on WebGPU (with the tests of WebGPU's own kernel variants) and on Wasm in the page,
 * test/wasm/kernels.test.ts on Wasm in Node.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CpuDevice } from '../../src/device/cpu.js';
import type { Device } from '../../src/device/device.js';
import type { Activation, OpAttrs, OpName } from '../../src/ir/ir.js';
import { kernelFor } from '../../src/kernels/gpu.js';
import { adam, sgd as sgdOptimizer, stepContext } from '../../src/nn/optim.js';
import { OPS } from '../../src/ops/index.js';
import { matmulVec4Fits, PLAIN_EPILOGUE } from '../../src/ops/matmul.js';
import type { Tolerance } from '../../src/ops/op.js';
import { type OpInput, type OpOutput, runOp } from '../browser/run-op.js';
import { compareClose, randomArray, randomLabels } from '../helpers.js';

const cpu = new CpuDevice('f32');
/** Max |gpu − cpu| per op, or per kernel where a test names it (`options.kernel`). */
const maxErrors: Record<string, number> = {};

/** Runs `op` on both devices and compares every output with the op's tolerance. */
async function conform<O extends OpName>(
  device: Device<unknown>,
  op: O,
  attrs: OpAttrs[O],
  inputs: readonly OpInput[],
  outputs: readonly OpOutput[],
  tolerance: Tolerance,
  options: Parameters<typeof runOp>[5] & { kernel?: string } = {},
): Promise<void> {
  const key = `${device.kind} ${options.kernel ?? op}`;
  const [expected, actual] = [
    await runOp(cpu, op, attrs, inputs, outputs, options),
    await runOp(device, op, attrs, inputs, outputs, options),
  ];
  expected.forEach((want, i) => {
    const got = actual[i] as Float32Array;
    const output = outputs[i] ?? [];
    const shape = typeof output === 'number' ? (inputs[output]?.shape ?? []) : output;
    const message = compareClose(`${op} output ${i} ${JSON.stringify(attrs)}`, shape, got, want, tolerance);
    for (let j = 0; j < want.length; j++) {
      maxErrors[key] = Math.max(maxErrors[key] ?? 0, Math.abs((got[j] as number) - (want[j] as number)));
    }
    if (message) throw new Error(message);
  });
}

function tolerance<O extends OpName>(op: O, params: unknown): Tolerance {
  return (OPS[op].tolerance as (p: unknown) => Tolerance)(params);
}

const ACTIVATIONS: Activation[] = ['identity', 'relu', 'tanh', 'sigmoid'];
const SIZES = [1, 7, 33, 65, 257];

/**
 * The suite, titled `title`, on the device `open` makes. `open` receives a getter of the kernel variant
 * the device runs where a node has several (WebGPU's kernelChoice; undefined: its own choice);
 * `webgpu` adds the tests of WebGPU's own kernel variants.
 */
export function kernelConformance(
  title: string,
  open: (forced: () => string | undefined) => Promise<Device<unknown>>,
  webgpu: boolean,
): void {
  // WebGPU's own kernel variants: registered only for it (elsewhere there is nothing to skip).
  const gpuOnly = (name: string, body: () => void) => {
    if (webgpu) describe(name, body);
  };
  // Concurrent: the tests are independent, each of a pipeline of its own on WebGPU, and a device
  // compiles several at once.
  describe.concurrent(title, () => {
    let device: Device<unknown>;
    beforeAll(async () => {
      device = await open(() => undefined);
      return () => console.info(`${title}: max |device − cpu| per op: ${JSON.stringify(maxErrors)}`);
    });

    describe('matmul', () => {
      const shapes: [number, number, number][] = [];
      for (const M of [1, 7, 33])
        for (const N of [1, 7, 33]) for (const K of [1, 7, 33]) shapes.push([M, N, K]);
      for (const big of [65, 257]) shapes.push([big, 33, 7], [7, big, 33], [33, 7, big]);
      shapes.push([31, 32, 33], [32, 32, 32], [64, 65, 63], [257, 65, 257]);
      describe.each([
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ])('transA %s transB %s', (transA, transB) => {
        // On WebGPU each shape is a pipeline of its own (slow to compile on SwiftShader): `npm test`
        // runs a third of the 27 small shapes per layout, in turn (each shape in one layout or two),
        // and every larger one; `npm run test:candidates` (CI) and the other devices every shape.
        const layout = 2 * Number(transA) + Number(transB);
        const sampled = shapes.filter(
          (_, i) => !webgpu || inject('allCandidates') || i >= 27 || (i + layout) % 3 === 0,
        );
        it.each(sampled)('M %i N %i K %i', async (M, N, K) => {
          const a = randomArray(M * K, M * 1000 + K);
          const b = randomArray(K * N, N * 1000 + K + 1);
          const inputs = [
            { shape: transA ? [K, M] : [M, K], data: a },
            { shape: transB ? [N, K] : [K, N], data: b },
          ];
          await conform(device, 'matmul', { transA, transB }, inputs, [[M, N]], tolerance('matmul', { K }));
        });
      });

      it.each(ACTIVATIONS)('forward epilogue: bias + %s + dropout, both outputs', async (activation) => {
        const [M, N, K] = [33, 65, 7];
        const dropout = { site: 2, keepProb: 0.7, seed: 2 ** 40 + 5, stream: 0 };
        const inputs = [
          { shape: [M, K], data: randomArray(M * K, 1) },
          { shape: [N, K], data: randomArray(N * K, 2) },
          { shape: [N], data: randomArray(N, 3) },
        ];
        const attrs = { transA: false, transB: true, bias: true, activation, dropout };
        await conform(
          device,
          'matmul',
          attrs,
          inputs,
          [
            [M, N],
            [M, N],
          ],
          { atol: 1e-5, rtol: 1e-5 },
          { step: 11 },
        );
      });

      gpuOnly('matmul_vec4 by default: the forward layout (transB) with K % 4 == 0', () => {
        /** The kernel the device picks for a forward matmul of this shape, with or without an epilogue. */
        const kernelName = (M: number, N: number, K: number, bias = false) =>
          kernelFor(OPS.matmul.kernel, { M, N, K, transA: false, transB: true, ...PLAIN_EPILOGUE, bias })
            .name;
        const vec4Shapes: [number, number, number][] = [];
        for (const K of [4, 32, 64, 256])
          for (const M of [1, 7, 33, 65]) for (const N of [1, 7, 33, 65]) vec4Shapes.push([M, N, K]);

        it.each(vec4Shapes)('M %i N %i K %i', async (M, N, K) => {
          expect(kernelName(M, N, K)).toBe('matmul_vec4');
          const inputs = [
            { shape: [M, K], data: randomArray(M * K, M * 1000 + K) },
            { shape: [N, K], data: randomArray(N * K, N * 1000 + K + 1) },
          ];
          await conform(
            device,
            'matmul',
            { transA: false, transB: true },
            inputs,
            [[M, N]],
            tolerance('matmul', { K }),
            { kernel: 'matmul_vec4' },
          );
        });

        it.each(ACTIVATIONS)('forward epilogue: bias + %s + dropout, both outputs', async (activation) => {
          const [M, N, K] = [33, 65, 32];
          expect(kernelName(M, N, K, true)).toBe('matmul_vec4');
          const dropout = { site: 2, keepProb: 0.7, seed: 2 ** 40 + 5, stream: 0 };
          const inputs = [
            { shape: [M, K], data: randomArray(M * K, 1) },
            { shape: [N, K], data: randomArray(N * K, 2) },
            { shape: [N], data: randomArray(N, 3) },
          ];
          const attrs = { transA: false, transB: true, bias: true, activation, dropout };
          await conform(
            device,
            'matmul',
            attrs,
            inputs,
            [
              [M, N],
              [M, N],
            ],
            tolerance('matmul', { K }),
            { step: 11, kernel: 'matmul_vec4' },
          );
        });
      });

      gpuOnly('every tuning candidate (both files × each workgroup shape) gives the same bits', () => {
        // Shapes where matmul_vec4 fits each layout (and two where it does not), with edges past the 8×8 block and the workgroup.
        const cases: [boolean, boolean, number, number, number][] = [
          [false, true, 36, 12, 20],
          [false, true, 68, 65, 8],
          [false, false, 33, 36, 12],
          [false, false, 5, 68, 36],
          [true, false, 36, 20, 7],
          [true, false, 68, 12, 33],
          [true, true, 12, 33, 16],
          [true, true, 68, 7, 36],
          // matmul_vec4 does not fit: the scalar file's candidates.
          [false, true, 33, 20, 7],
          [true, false, 33, 20, 8],
        ];
        it.each(cases.map((c, i) => [...c, i] as const))(
          'transA %s transB %s: M %i N %i K %i',
          async (transA, transB, M, N, K, index) => {
            const inputs = [
              { shape: transA ? [K, M] : [M, K], data: randomArray(M * K, M * 31 + K) },
              { shape: transB ? [N, K] : [K, N], data: randomArray(K * N, N * 37 + K) },
            ];
            const p = { M, N, K, transA, transB, ...PLAIN_EPILOGUE };
            // matmul.wgsl's and matmul_vec4.wgsl's candidates; the block and tiled kernels' bits are
            // tested in test/browser/matmul-candidates.test.ts.
            const variants = (OPS.matmul.kernel.tuning?.candidates(p) ?? [])
              .map((kernel) => kernel.variant)
              .filter((variant) => /^matmul(_vec4)? /.test(variant ?? ''));
            expect(variants.length).toBeGreaterThan(2);
            const files = new Set(variants.map((variant) => variant?.split(' ')[0]));
            expect([...files]).toEqual(matmulVec4Fits(p) ? ['matmul_vec4', 'matmul'] : ['matmul']);
            // Each workgroup shape is a pipeline (about a second to compile on SwiftShader): `npm test`
            // runs each file's first and one more, a different one per case; `npm run test:candidates`
            // (CI) all of them.
            const sampled = variants.filter((variant) => {
              if (inject('allCandidates')) return true;
              const file = variant?.split(' ')[0];
              const ofFile = variants.filter((other) => other?.split(' ')[0] === file);
              const at = ofFile.indexOf(variant);
              return at === 0 || at === 1 + (index % (ofFile.length - 1));
            });
            // One device per variant, all at once: their pipelines compile concurrently.
            const results = await Promise.all(
              sampled.map(async (variant) => {
                const on = await open(() => variant);
                try {
                  const kernel = variant?.split(' ')[0] ?? 'matmul';
                  const attrs = { transA, transB };
                  await conform(on, 'matmul', attrs, inputs, [[M, N]], tolerance('matmul', { K }), {
                    kernel,
                  });
                  const [got] = await runOp(on, 'matmul', attrs, inputs, [[M, N]]);
                  return new Uint32Array((got as Float32Array).buffer);
                } finally {
                  on.destroy();
                }
              }),
            );
            const first = results[0] as Uint32Array;
            results.forEach((bits, v) => {
              const differ = bits.findIndex((word, i) => word !== first[i]);
              expect(differ, `${sampled[v]} vs ${sampled[0]}: first differing index`).toBe(-1);
            });
          },
        );
      });

      describe('weight-gradient epilogue: SGD update in place + bias gradient (column sums of dY)', () => {
        // [M, N, K]: M % 4 == 0 and N % 4 == 0 run matmul_vec4 (K free), the others matmul.
        const shapes: [number, number, number][] = [
          [36, 20, 7],
          [68, 12, 32],
          [33, 20, 9],
          [10, 65, 16],
        ];
        const updates = [
          { momentum: false, nesterov: false, weightDecay: 0 },
          { momentum: true, nesterov: false, weightDecay: 0.01 },
          { momentum: true, nesterov: true, weightDecay: 0 },
        ];
        const cases = shapes.flatMap((shape) => updates.map((update) => [...shape, update] as const));
        it.each(cases)('M %i N %i K %i %o', async (M, N, K, update) => {
          const dY = randomArray(K * M, M + K);
          const inputs = [
            { shape: [K, M], data: dY },
            { shape: [K, N], data: randomArray(K * N, N + K) },
            { shape: [M, N], data: randomArray(M * N, 3) },
            { shape: [4], data: [0, 0, 0, 0] },
            ...(update.momentum ? [{ shape: [M, N], data: randomArray(M * N, 4) }] : []),
          ];
          const outputs = [2, ...(update.momentum ? [4] : []), [M]];
          const attrs = { transA: true, transB: false, update, colSum: true };
          const ctx = stepContext(sgdOptimizer({ lr: 0.1, momentum: 0.9 }), 0, 0.1, 0.9);
          await conform(device, 'matmul', attrs, inputs, outputs, tolerance('matmul', { K }), { ctx });
          // The column sums are the bias_grad kernel's, bit for bit (same order of additions).
          const [colsum] = (await runOp(device, 'matmul', attrs, inputs, outputs, { ctx })).slice(-1);
          const [db] = await runOp(device, 'bias_grad', {}, [{ shape: [K, M], data: dY }], [[M]]);
          expect(new Uint32Array((colsum as Float32Array).buffer)).toEqual(
            new Uint32Array((db as Float32Array).buffer),
          );
        });

        it('leaves the parameter and velocity alone once a non-finite loss was counted', async () => {
          const [M, N, K] = [36, 20, 7];
          const param = randomArray(M * N, 3);
          const velocity = randomArray(M * N, 4);
          const inputs = [
            { shape: [K, M], data: randomArray(K * M, 1) },
            { shape: [K, N], data: randomArray(K * N, 2) },
            { shape: [M, N], data: param },
            { shape: [4], data: [1, 2, 3, 1] },
            { shape: [M, N], data: velocity },
          ];
          const attrs = {
            transA: true,
            transB: false,
            update: { momentum: true, nesterov: false, weightDecay: 0 },
          };
          const [p, v] = await runOp(device, 'matmul', attrs, inputs, [2, 4], { step: 0 });
          expect(p).toEqual(Float32Array.from(param));
          expect(v).toEqual(Float32Array.from(velocity));
        });
      });

      it.each(ACTIVATIONS.slice(1))('backward epilogue: mask × %s derivative', async (activationGrad) => {
        const [M, N, K] = [65, 33, 9];
        const dropout = { site: 1, keepProb: 0.5, seed: 77, stream: 3 };
        const y = randomArray(M * N, 5, activationGrad === 'tanh' ? -1 : 0, 1);
        const inputs = [
          { shape: [M, K], data: randomArray(M * K, 1) },
          { shape: [K, N], data: randomArray(K * N, 2) },
          { shape: [M, N], data: y },
        ];
        const attrs = { transA: false, transB: false, activationGrad, dropout, dropoutBackward: true };
        await conform(device, 'matmul', attrs, inputs, [[M, N]], { atol: 1e-5, rtol: 1e-5 }, { step: 3 });
      });
    });

    describe('elementwise and reductions', () => {
      it.each(ACTIVATIONS.flatMap((a) => [1, 7, 257].map((rows) => [a, rows] as const)))(
        'bias_act %s rows %i',
        async (activation, rows) => {
          const cols = 33;
          const inputs = [
            { shape: [rows, cols], data: randomArray(rows * cols, rows, -12, 12) },
            { shape: [cols], data: randomArray(cols, 2) },
          ];
          await conform(
            device,
            'bias_act',
            { activation },
            inputs,
            [[rows, cols]],
            tolerance('bias_act', { activation }),
          );
        },
      );

      it.each(ACTIVATIONS)('act_grad %s', async (activation) => {
        const length = 257 * 7;
        const low = activation === 'tanh' ? -1 : activation === 'relu' ? -1 : 0;
        const inputs = [
          { shape: [length], data: randomArray(length, 1) },
          { shape: [length], data: randomArray(length, 2, low, 1) },
        ];
        await conform(
          device,
          'act_grad',
          { activation },
          inputs,
          [[length]],
          tolerance('act_grad', { activation }),
        );
      });

      it.each(SIZES)('bias_grad rows %i', async (rows) => {
        const cols = 65;
        const inputs = [{ shape: [rows, cols], data: randomArray(rows * cols, rows) }];
        await conform(device, 'bias_grad', {}, inputs, [[cols]], tolerance('bias_grad', { rows }));
      });

      it.each([1, 7, 257, 70_001])('add length %i', async (length) => {
        const inputs = [
          { shape: [length], data: randomArray(length, 1) },
          { shape: [length], data: randomArray(length, 2) },
        ];
        await conform(device, 'add', {}, inputs, [[length]], tolerance('add', {}));
      });

      it.each(SIZES)('softmax_xent, softmax_xent_grad and softmax, rows %i', async (rows) => {
        const classes = 10;
        const inputs: OpInput[] = [
          { shape: [rows, classes], data: randomArray(rows * classes, rows, -30, 30) },
          { shape: [rows], data: randomLabels(rows, rows, classes), dtype: 'u32' },
        ];
        // The metrics accumulate in place: start from a previous interval's sums.
        const metrics = { shape: [4], data: [12.5, 40, 64, 0] };
        await conform(
          device,
          'softmax_xent',
          {},
          [...inputs, metrics],
          [[1], 2],
          tolerance('softmax_xent', {}),
        );
        await conform(
          device,
          'softmax_xent_grad',
          {},
          inputs,
          [[rows, classes]],
          tolerance('softmax_xent_grad', {}),
        );
        await conform(device, 'softmax', {}, inputs.slice(0, 1), [[rows, classes]], tolerance('softmax', {}));
      });
    });

    describe('gather_rows', () => {
      // batch × features from n rows; features and n not multiples of 4, so bytes straddle words.
      it.each([
        [true, 7, 13, 9],
        [false, 7, 13, 9],
        [true, 1, 5, 1],
        [false, 33, 65, 257],
      ])('bytes %s: batch %i, features %i, n %i, bit-exact', async (bytes, batch, features, n) => {
        const pixels = Uint8Array.from({ length: n * features }, (_, i) => (i * 97 + 13) & 0xff);
        const table = Float32Array.from({ length: 256 }, (_, b) => Math.fround(b / 255 - 0.5));
        const values = Float32Array.from(randomArray(n * features, n));
        const words = bytes
          ? new Uint32Array(
              Uint8Array.from({ length: Math.ceil(pixels.length / 4) * 4 }, (_, i) => pixels[i] ?? 0).buffer,
            )
          : new Uint32Array(values.buffer);
        const labelWords = new Uint32Array(
          Uint8Array.from({ length: Math.ceil(n / 4) * 4 }, (_, i) => (i < n ? (i * 5) % 10 : 0)).buffer,
        );
        const rows = Array.from({ length: batch }, (_, r) => (r * 7 + 3) % n);
        const inputs = [
          { shape: [batch], data: rows, dtype: 'u32' as const },
          { shape: [words.length], data: words, dtype: 'u32' as const },
          { shape: [bytes ? 256 : 1], data: bytes ? table : [0] },
          { shape: [labelWords.length], data: labelWords, dtype: 'u32' as const },
        ];
        const outputs = [[batch, features], [batch]];
        const [x, labels] = await runOp(device, 'gather_rows', { bytes }, inputs, outputs);
        const want = Float32Array.from({ length: batch * features }, (_, i) => {
          const at = (rows[Math.floor(i / features)] as number) * features + (i % features);
          return bytes ? (table[pixels[at] as number] as number) : (values[at] as number);
        });
        expect(new Uint32Array((x as Float32Array).buffer)).toEqual(new Uint32Array(want.buffer));
        // The labels buffer holds u32s; runOp reads every output as f32, so look at its bits.
        expect(Array.from(new Uint32Array((labels as Float32Array).buffer))).toEqual(
          rows.map((row) => (row * 5) % 10),
        );
        // And the CPU reference agrees with the same expectations.
        const [cpuX] = await runOp(cpu, 'gather_rows', { bytes }, inputs, outputs);
        expect(new Uint32Array((cpuX as Float32Array).buffer)).toEqual(new Uint32Array(want.buffer));
      });
    });

    describe('optimizers and max-norm', () => {
      const length = 1031;
      const param = { shape: [length], data: randomArray(length, 1) };
      const grad = { shape: [length], data: randomArray(length, 2) };
      const state = { shape: [length], data: randomArray(length, 3) };
      const finite = { shape: [4], data: [1, 2, 3, 0] };
      const nonFinite = { shape: [4], data: [1, 2, 3, 1] };
      it.each([
        [false, false, 0],
        [true, false, 0.01],
        [true, true, 0.01],
      ])('sgd momentum %s nesterov %s weight decay %f', async (momentum, nesterov, weightDecay) => {
        const inputs = momentum ? [param, grad, finite, state] : [param, grad, finite];
        const outputs = momentum ? [0, 3] : [0];
        await conform(
          device,
          'sgd',
          { momentum, nesterov, weightDecay },
          inputs,
          outputs,
          tolerance('sgd', {}),
        );
      });

      it.each([0, 9, 999])(
        'adam at step %i, from zero parameters (a step of ≈ lr exposes the bias corrections)',
        async (step) => {
          const v = { shape: [length], data: randomArray(length, 4, 0, 1) };
          const zeros = { shape: [length], data: new Float32Array(length) };
          const attrs = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.001 };
          const ctx = stepContext(adam({ lr: 0.01 }), step, 0.01, 0);
          const inputs = [zeros, grad, finite, state, v];
          await conform(device, 'adam', attrs, inputs, [0, 3, 4], tolerance('adam', {}), { ctx });
        },
      );

      it.each([
        [7, 33],
        [257, 65],
      ])('max_norm %i×%i', async (rows, cols) => {
        const w = { shape: [rows, cols], data: randomArray(rows * cols, rows, -0.5, 0.5) };
        await conform(device, 'max_norm', { maxNorm: 1.5 }, [w], [0], tolerance('max_norm', {}));
      });

      it('sgd and adam leave everything untouched once a loss was not finite', async () => {
        const exact = { atol: 0, rtol: 0 };
        const sgdAttrs = { momentum: true, nesterov: false, weightDecay: 0 };
        const inputs = [param, grad, nonFinite, state];
        await conform(device, 'sgd', sgdAttrs, inputs, [0, 3], exact);
        const [after] = await runOp(device, 'sgd', sgdAttrs, inputs, [0, 3]);
        expect(Array.from(after as Float32Array)).toEqual(Array.from(Float32Array.from(param.data)));
        const adamAttrs = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };
        await conform(device, 'adam', adamAttrs, [param, grad, nonFinite, state, state], [0, 3, 4], exact);
      });
    });
  });
}
