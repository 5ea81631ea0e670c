/**
 * The matmul candidates added for GPUs — shaders/matmul_block.wgsl (4×4, 4×8, 8×4 blocks) and
 * shaders/matmul_tiled.wgsl (workgroup-memory tiles) and its double-buffered twin
 * shaders/matmul_tiled_double.wgsl, in every workgroup shape and tile depth — give
 * the default kernel's bits, on every layout, on odd shapes (edges past the block, the tile and the
 * workgroup; K % 4 != 0 where a layout allows it), with the plain product and with fused epilogues
 * (bias + ReLU + dropout forward; the SGD update in place + column sums of the weight gradient).
 *
 * Each pipeline costs about a second to compile on a software adapter, so `npm test` leaves this file
 * out (vitest.config.ts): `npm run test:candidates` and `npm run test:lavapipe` (both in CI) run every
 * candidate on every case (DROPGPU_ALL_CANDIDATES=1); without that flag (the dawn project run by hand)
 * each case runs one candidate, a different one per case.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Device } from '../../src/device/device.js';
import { sgd as sgdOptimizer, stepContext } from '../../src/nn/optim.js';
import { OPS } from '../../src/ops/index.js';
import { type MatmulParams, matmulVec4Fits, PLAIN_EPILOGUE } from '../../src/ops/matmul.js';
import { openWebGpu } from '../../src/webgpu/open.js';
import { randomArray } from '../helpers.js';
import { type GpuContext, requestTestDevice } from './gpu.js';
import { type OpInput, type OpOutput, runOp } from './run-op.js';

const gpu = await requestTestDevice();
/** Every candidate on every case (`npm run test:candidates`, in CI), or one per case, rotating. */
const ALL = inject('allCandidates');
/** Which case this is (each `same` call), to rotate the sampled candidate. */
let caseIndex = 0;

/**
 * The candidates of `p` that are not matmul.wgsl or matmul_vec4.wgsl (those: test/conformance);
 * `matmul_tiled` also matches matmul_tiled_double.
 */
function newCandidates(p: MatmulParams): string[] {
  const all = OPS.matmul.kernel.tuning?.candidates(p) ?? [];
  return all
    .map((kernel) => kernel.variant ?? '')
    .filter((variant) => variant.startsWith('matmul_block') || variant.startsWith('matmul_tiled'));
}

function bits(values: readonly Float32Array[]): Uint32Array[] {
  return values.map((v) => new Uint32Array(v.buffer, v.byteOffset, v.length));
}

describe.skipIf(typeof gpu === 'string')('matmul candidates: the default kernel’s bits', () => {
  let device: Device<unknown>;
  let forced: string | undefined;
  beforeAll(async () => {
    device = await openWebGpu({ device: (gpu as GpuContext).device, kernelChoice: () => forced });
  });

  /** Runs every new candidate of `p` and the default, and compares their outputs' bits. */
  async function same(
    p: MatmulParams,
    attrs: Parameters<typeof runOp<'matmul'>>[2],
    inputs: readonly OpInput[],
    outputs: readonly OpOutput[],
    options: Parameters<typeof runOp>[5] = {},
  ): Promise<void> {
    const all = newCandidates(p);
    expect(all.some((v) => v.startsWith('matmul_tiled'))).toBe(true);
    expect(all.some((v) => v.startsWith('matmul_block'))).toBe(matmulVec4Fits(p));
    const offset = caseIndex++;
    const variants = ALL ? all : all.filter((_, v) => v === offset % all.length);
    forced = undefined;
    const reference = bits(await runOp(device, 'matmul', attrs, inputs, outputs, options));
    for (const variant of variants) {
      forced = variant;
      try {
        const got = bits(await runOp(device, 'matmul', attrs, inputs, outputs, options));
        got.forEach((words, o) => {
          const first = words.findIndex((word, i) => word !== reference[o]?.[i]);
          expect(first, `${variant}, output ${o}: first differing index`).toBe(-1);
        });
      } finally {
        forced = undefined;
      }
    }
  }

  // [transA, transB, M, N, K]: vec4 fits (all candidates) and does not (matmul.wgsl + tiled).
  const cases: [boolean, boolean, number, number, number][] = [
    [false, true, 68, 36, 20], // forward Y = X·Wᵀ
    [false, true, 7, 65, 12],
    [false, false, 36, 68, 12], // dX = dY·W
    [true, false, 68, 36, 7], // dW = dYᵀ·X: K % 4 != 0
    [true, false, 12, 132, 37],
    [true, true, 36, 12, 20],
    [false, true, 33, 20, 7], // no vec4: matmul.wgsl's shapes
    [true, false, 65, 33, 9],
    [false, false, 1, 7, 33],
  ];
  it.each(cases)('plain: transA %s transB %s M %i N %i K %i', async (transA, transB, M, N, K) => {
    const inputs = [
      { shape: transA ? [K, M] : [M, K], data: randomArray(M * K, M * 31 + K) },
      { shape: transB ? [N, K] : [K, N], data: randomArray(K * N, N * 37 + K) },
    ];
    await same({ M, N, K, transA, transB, ...PLAIN_EPILOGUE }, { transA, transB }, inputs, [[M, N]]);
  });

  it('forward epilogue: bias + ReLU + dropout, both outputs', async () => {
    const [M, N, K] = [36, 68, 12];
    const dropout = { site: 2, keepProb: 0.7, seed: 2 ** 40 + 5, stream: 0 };
    const inputs = [
      { shape: [M, K], data: randomArray(M * K, 1) },
      { shape: [N, K], data: randomArray(N * K, 2) },
      { shape: [N], data: randomArray(N, 3) },
    ];
    const attrs = { transA: false, transB: true, bias: true, activation: 'relu' as const, dropout };
    const p = { M, N, K, transA: false, transB: true, ...PLAIN_EPILOGUE };
    await same(p, attrs, inputs, [
      [M, N],
      [M, N],
    ]);
  });

  it('weight gradient: SGD update with momentum in place + column sums (K % 4 != 0)', async () => {
    const [M, N, K] = [36, 20, 7];
    const inputs = [
      { shape: [K, M], data: randomArray(K * M, 5) },
      { shape: [K, N], data: randomArray(K * N, 6) },
      { shape: [M, N], data: randomArray(M * N, 7) },
      { shape: [4], data: [0, 0, 0, 0] },
      { shape: [M, N], data: randomArray(M * N, 8) },
    ];
    const update = { momentum: true, nesterov: false, weightDecay: 0.01 };
    const attrs = { transA: true, transB: false, update, colSum: true };
    const ctx = stepContext(sgdOptimizer({ lr: 0.1, momentum: 0.9 }), 0, 0.1, 0.9);
    const p = { M, N, K, transA: true, transB: false, ...PLAIN_EPILOGUE };
    await same(p, attrs, inputs, [2, 4, [M]], { ctx });
  });
});
