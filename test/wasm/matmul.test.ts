/**
 * matmul on the Wasm backend (wasm/matmul_kernels.ts, descriptor src/ops/wasm/matmul.ts) against
 * matmulReference with matmul's tolerance: every layout, every epilogue (bias + activation + dropout
 * forward, dropout backward and each activation derivative, the fused SGD update with and without
 * momentum, Nesterov and weight decay, skipped once metrics[3] > 0, the column sums), odd shapes and the
 * MLP's shapes at a small batch. NaN must come out where the reference has NaN; dropped elements must
 * equal the reference exactly (the masks are the contract's bit for bit); every case split into 2 and 3
 * parts must give the same bits as one part. The relaxed-SIMD build runs too where this Node validates
 * it (V8 11 has it behind a flag, switched on here).
 */
import { maximumPages, relaxed } from 'virtual:wasm-kernels';
import { describe, expect, it } from 'vitest';
import type { StepContext } from '../../src/ir/ir.js';
import { f32Bits } from '../../src/kernels/bindings.js';
import type { WasmKernel } from '../../src/kernels/wasm.js';
import { type MatmulParams, matmul, PLAIN_EPILOGUE } from '../../src/ops/matmul.js';
import type { NumArray, Tolerance } from '../../src/ops/op.js';
import { METRICS } from '../../src/ops/softmax-xent.js';
import { MATMUL_B_MODE, matmulSwaps, matmulWasm, matmulWasmKernel } from '../../src/ops/wasm/matmul.js';
import { keepThreshold, keptAt, seedKey } from '../../src/rng/philox.js';
import { randomArray } from '../helpers.js';
import { runWasmKernel } from './harness.js';

const STEP: StepContext = { step: 5, lr: 0.1, momentum: 0.9, biasCorrection1: 1, biasCorrection2: 1 };
/** Fresh outputs start as this, so a value the kernel forgets to write shows. */
const UNWRITTEN = 7.25;
const ACTIVATIONS = ['identity', 'relu', 'tanh', 'sigmoid'] as const;

/** A fresh f32 output of this length, or (a number) the input at that index, updated in place. */
type Out = number | { length: number };

interface Case {
  name: string;
  p: MatmulParams;
  inputs: readonly NumArray[];
  outputs: readonly Out[];
  ctx?: StepContext;
}

type Runner = (
  kernel: WasmKernel<MatmulParams>,
  p: MatmulParams,
  inputs: readonly NumArray[],
  outputs: readonly NumArray[],
  ctx: StepContext,
  parts: number,
) => Promise<NumArray[]>;

function params(M: number, N: number, K: number, transA: boolean, transB: boolean, extra = {}): MatmulParams {
  return { M, N, K, transA, transB, ...PLAIN_EPILOGUE, ...extra };
}

function shapeName(p: MatmulParams): string {
  return `M ${p.M} N ${p.N} K ${p.K}${p.transA ? ' transA' : ''}${p.transB ? ' transB' : ''}`;
}

/** Random f32 values in [lo, hi) with NaN, ±∞ and −0 among them (when asked and there is room). */
function values(n: number, seed: number, lo = -1, hi = 1, specials = false): Float32Array {
  const out = Float32Array.from(randomArray(n, seed, lo, hi));
  if (specials && n >= 40) {
    out[3] = Number.NaN;
    out[17] = Number.POSITIVE_INFINITY;
    out[29] = Number.NEGATIVE_INFINITY;
    out[31] = -0;
  }
  return out;
}

function materialize(c: Case): [NumArray[], NumArray[]] {
  const ins = c.inputs.map((a) => a.slice());
  const outs = c.outputs.map((o) =>
    typeof o === 'number' ? (ins[o] as NumArray) : new Float32Array(o.length).fill(UNWRITTEN),
  );
  return [ins, outs];
}

function bitsOf(a: NumArray): Uint32Array {
  const f32 = a instanceof Float32Array ? a : Float32Array.from(a);
  return new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
}

/** null when close (equal values, ±∞ included, always are; NaN only where NaN), else a message. */
function compareClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol, rtol }: Tolerance,
): string | null {
  if (actual.length !== expected.length)
    return `${what}: length ${actual.length}, expected ${expected.length}`;
  let first = -1;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok && bad++ === 0) first = i;
  }
  if (bad === 0) return null;
  return (
    `${what}: ${bad} of ${expected.length} values outside atol ${atol} + rtol ${rtol}·|ref|; ` +
    `first at index ${first}: got ${actual[first]}, expected ${expected[first]}`
  );
}

/** Which output holds the masked values (dropped activation forward, C backward), or -1. */
function maskedOutput(p: MatmulParams): number {
  if (!p.dropout) return -1;
  return p.dropoutBackward ? 0 : 1;
}

/** Dropped elements must equal the reference exactly (both zero, or NaN where the reference is). */
function checkMask(c: Case, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const d = c.p.dropout;
  if (!d) return;
  const threshold = keepThreshold(d.keepProb);
  const key = seedKey(d.seed);
  const ctx = c.ctx ?? STEP;
  for (let i = 0; i < c.p.M * c.p.N; i++) {
    if (keptAt(key, ctx.step, d.site, d.stream, threshold, i)) continue;
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(a === e || (Number.isNaN(a) && Number.isNaN(e)))) {
      throw new Error(`${c.name} [${shapeName(c.p)}]: dropped element ${i}: got ${a}, expected ${e}`);
    }
  }
}

async function check(
  c: Case,
  run: Runner = runWasmKernel,
  splits = [2, 3],
  kernel: WasmKernel<MatmulParams> = matmulWasm,
): Promise<void> {
  const ctx = c.ctx ?? STEP;
  const [refIns, refOuts] = materialize(c);
  matmul.reference(c.p, refIns, refOuts, ctx);
  const [ins, outs] = materialize(c);
  const got = await run(kernel, c.p, ins, outs, ctx, 1);
  const tolerance = matmul.tolerance(c.p);
  got.forEach((actual, i) => {
    const expected = refOuts[i] as NumArray;
    const message = compareClose(`${c.name} output ${i} [${shapeName(c.p)}]`, actual, expected, tolerance);
    if (message) throw new Error(message);
    if (i === maskedOutput(c.p)) checkMask(c, actual, expected);
  });
  for (const parts of splits) {
    const [pIns, pOuts] = materialize(c);
    const split = await run(kernel, c.p, pIns, pOuts, ctx, parts);
    split.forEach((actual, i) => {
      const one = bitsOf(got[i] as NumArray);
      const bits = bitsOf(actual);
      const at = one.findIndex((word, j) => word !== bits[j]);
      if (at >= 0) {
        throw new Error(
          `${c.name} output ${i} [${shapeName(c.p)}] ${parts} parts vs 1: first difference at ${at}: ` +
            `got ${actual[at]}, expected ${(got[i] as NumArray)[at]}`,
        );
      }
    });
  }
}

/** A plain matmul (optionally with colSum), NaN and ±∞ among the operands. */
function plainCase(M: number, N: number, K: number, transA: boolean, transB: boolean, colSum = false): Case {
  const p = params(M, N, K, transA, transB, { colSum });
  const seed = M * 1000 + N * 10 + K;
  return {
    name: colSum ? 'matmul colSum' : 'matmul',
    p,
    inputs: [values(M * K, seed, -1, 1, true), values(K * N, seed + 1, -1, 1, true)],
    outputs: colSum ? [{ length: M * N }, { length: M }] : [{ length: M * N }],
  };
}

/** Forward: bias + activation (+ dropout: a second output, the dropped activation). */
function forwardCase(
  M: number,
  N: number,
  K: number,
  activation: MatmulParams['activation'],
  keep?: number,
): Case {
  const dropout =
    keep === undefined ? undefined : { site: 3, keepProb: keep, seed: 2 ** 32 + 12345, stream: 0 };
  const p = params(M, N, K, false, true, { bias: true, activation, ...(dropout ? { dropout } : {}) });
  const seed = M + N + K;
  return {
    name: `forward ${activation}${dropout ? ` dropout ${keep}` : ''}`,
    p,
    // A wide bias, so that tanh and sigmoid also see their flat ends.
    inputs: [values(M * K, seed), values(K * N, seed + 1), values(N, seed + 2, -4, 4)],
    outputs: dropout ? [{ length: M * N }, { length: M * N }] : [{ length: M * N }],
  };
}

/** Saved activation outputs y for act_grad: in the activation's range, exact zeros for relu. */
function savedOutputs(activation: MatmulParams['activation'], n: number, seed: number): Float32Array {
  const u = values(n, seed, -1, 1);
  return u.map((x) => {
    if (activation === 'relu') return Math.max(x, 0);
    if (activation === 'sigmoid') return (x + 1) / 2;
    return x;
  });
}

/** Backward: dX = dY·W (plain layout) with the mask and the activation derivative. */
function backwardCase(
  M: number,
  N: number,
  K: number,
  activationGrad: MatmulParams['activationGrad'],
  keep?: number,
): Case {
  const dropout = keep === undefined ? undefined : { site: 1, keepProb: keep, seed: 99, stream: 3 };
  const p = params(M, N, K, false, false, {
    activationGrad,
    ...(dropout ? { dropout, dropoutBackward: true } : {}),
  });
  const seed = 7 * M + N + K;
  const inputs: NumArray[] = [values(M * K, seed), values(K * N, seed + 1)];
  if (activationGrad !== 'identity') inputs.push(savedOutputs(activationGrad, M * N, seed + 2));
  return {
    name: `backward ${activationGrad}${dropout ? ` dropout ${keep}` : ''}`,
    p,
    inputs,
    outputs: [{ length: M * N }],
  };
}

/** The weight gradient dYᵀ·X (transA) fused with the SGD step of the [M, N] parameter. */
function updateCase(
  M: number,
  N: number,
  K: number,
  update: { momentum: boolean; nesterov: boolean; weightDecay: number },
  nonFinite = 0,
  colSum = false,
): Case {
  const p = params(M, N, K, true, false, { update, colSum });
  const seed = 3 * M + N + K;
  const metrics = Float32Array.of(0, 0, 0, 0);
  metrics[METRICS.nonFinite] = nonFinite;
  const inputs: NumArray[] = [values(K * M, seed), values(K * N, seed + 1), values(M * N, seed + 2), metrics];
  const outputs: Out[] = [2];
  if (update.momentum) {
    inputs.push(values(M * N, seed + 3));
    outputs.push(4);
  }
  if (colSum) outputs.push({ length: M });
  const flags = `${update.momentum ? ' momentum' : ''}${update.nesterov ? ' nesterov' : ''}`;
  return {
    name: `update${flags} wd ${update.weightDecay}${nonFinite ? ' skipped' : ''}${colSum ? ' colSum' : ''}`,
    p,
    inputs,
    outputs,
  };
}

const LAYOUTS = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 7, 7],
  [33, 65, 7],
  [65, 33, 257],
  [257, 7, 33],
  [1, 257, 65],
  [7, 1, 33],
  [5, 9, 4],
  [4, 8, 1],
  [257, 10, 65], // computed as Cᵀ (matmulSwaps)
];
const UPDATES = [
  { momentum: false, nesterov: false, weightDecay: 0 },
  { momentum: false, nesterov: false, weightDecay: 0.01 },
  { momentum: true, nesterov: false, weightDecay: 0 },
  { momentum: true, nesterov: false, weightDecay: 0.01 },
  { momentum: true, nesterov: true, weightDecay: 0 },
  { momentum: true, nesterov: true, weightDecay: 0.01 },
];

/** The MLP 784-1024-1024-10's matmuls at batch B: forward, input gradients, weight gradients. */
function mlpCases(B: number): Case[] {
  return [
    { ...forwardCase(B, 1024, 784, 'relu', 0.8), name: 'mlp forward 1' },
    plainCase(B, 1024, 1024, false, true),
    plainCase(B, 10, 1024, false, true),
    { ...backwardCase(B, 1024, 1024, 'relu', 0.8), name: 'mlp dX 2' },
    plainCase(B, 1024, 10, false, false),
    { ...updateCase(1024, 784, B, UPDATES[3] as (typeof UPDATES)[number], 0, true), name: 'mlp dW 1' },
    plainCase(1024, 1024, B, true, false),
    plainCase(10, 1024, B, true, false, true),
  ];
}

describe('matmul (Wasm) plain', () => {
  it('computes narrow products as Cᵀ: the cases below reach that path', () => {
    expect(matmulSwaps(params(257, 10, 65, false, false))).toBe(true);
    expect(matmulSwaps(params(40, 10, 70, false, true))).toBe(true);
    expect(matmulSwaps(params(40, 10, 70, true, false, { colSum: true }))).toBe(false);
  });

  const cases = LAYOUTS.flatMap(([transA, transB]) => SHAPES.map((s) => [...s, transA, transB] as const));
  it.each(cases)('M %i N %i K %i transA %s transB %s', async (M, N, K, transA, transB) => {
    await check(plainCase(M, N, K, transA, transB));
  });
});

describe('matmul (Wasm) epilogues', () => {
  it.each(ACTIVATIONS)('forward bias + %s, without and with dropout', async (activation) => {
    for (const [M, N, K] of [
      [33, 65, 47],
      [7, 10, 33],
      [9, 36, 20], // N % 4 == 0: rows start on Philox blocks (the vector mask path)
      [40, 10, 70], // computed as Cᵀ
    ] as const) {
      await check(forwardCase(M, N, K, activation));
      await check(forwardCase(M, N, K, activation, 0.7));
      await check(forwardCase(M, N, K, activation, 1));
    }
  });

  it('forward dropout: the dropped activation is zero exactly where the mask drops', async () => {
    // sigmoid > 0 everywhere here, so a zero can only come from the mask.
    const c = forwardCase(9, 37, 11, 'sigmoid', 0.5);
    const [ins, outs] = materialize(c);
    const [, dropped] = await runWasmKernel(matmulWasm, c.p, ins, outs, STEP, 1);
    const d = c.p.dropout as NonNullable<MatmulParams['dropout']>;
    const key = seedKey(d.seed);
    for (let i = 0; i < c.p.M * c.p.N; i++) {
      const kept = keptAt(key, STEP.step, d.site, d.stream, keepThreshold(d.keepProb), i);
      expect((dropped as NumArray)[i] !== 0, `element ${i}`).toBe(kept);
    }
  });

  it.each(ACTIVATIONS)('backward: derivative of %s, without and with the mask', async (activationGrad) => {
    for (const [M, N, K] of [
      [33, 65, 47],
      [7, 10, 33],
      [9, 36, 20], // N % 4 == 0: rows start on Philox blocks (the vector mask path)
      [40, 10, 70], // computed as Cᵀ
    ] as const) {
      await check(backwardCase(M, N, K, activationGrad));
      await check(backwardCase(M, N, K, activationGrad, 0.6));
    }
  });

  it.each(UPDATES)('update %o', async (update) => {
    for (const [M, N, K] of [
      [33, 65, 47],
      [10, 33, 7],
      [40, 10, 70], // computed as Cᵀ (without colSum)
    ] as const) {
      await check(updateCase(M, N, K, update));
      await check(updateCase(M, N, K, update, 0, true));
    }
  });

  it('update: skipped entirely when metrics[3] > 0 (column sums still computed)', async () => {
    for (const update of [UPDATES[1], UPDATES[5]] as (typeof UPDATES)[number][]) {
      const c = updateCase(33, 65, 47, update, 1, true);
      await check(c);
      const [ins, outs] = materialize(c);
      const got = await runWasmKernel(matmulWasm, c.p, ins, outs, STEP, 1);
      expect(bitsOf(got[0] as NumArray)).toEqual(bitsOf(c.inputs[2] as NumArray));
      if (update.momentum) expect(bitsOf(got[1] as NumArray)).toEqual(bitsOf(c.inputs[4] as NumArray));
    }
  });

  it.each(LAYOUTS)('colSum transA %s transB %s', async (transA, transB) => {
    await check(plainCase(65, 33, 47, transA, transB, true));
    await check(plainCase(7, 9, 257, transA, transB, true));
  });
});

describe('matmul (Wasm) every path', () => {
  // Whatever matmulWasmChoice picks, each way of getting the B panels, computing C or Cᵀ, must work.
  const paths = [false, true].flatMap((swap) =>
    Object.entries(MATMUL_B_MODE).map(([mode, bMode]) => [swap ? `${mode} Cᵀ` : mode, swap, bMode] as const),
  );
  it.each(paths)('%s', async (_name, swap, bMode) => {
    const kernel = matmulWasmKernel(() => ({ swap, bMode }));
    // Cache blocks of 2 row panels: several blocks, and parts that split them.
    const blocked = matmulWasmKernel(() => ({ swap, bMode, panelRows: 2 }));
    for (const [transA, transB] of LAYOUTS) {
      await check(plainCase(37, 29, 11, transA, transB), runWasmKernel, [2, 3, 5], blocked);
      for (const [M, N, K] of [
        [33, 65, 47],
        [6, 17, 9],
        [1, 9, 3],
      ] as const) {
        await check(plainCase(M, N, K, transA, transB), runWasmKernel, [2, 3], kernel);
      }
    }
    await check(forwardCase(13, 21, 30, 'tanh', 0.7), runWasmKernel, [3], kernel);
    await check(backwardCase(13, 21, 30, 'relu', 0.7), runWasmKernel, [3], kernel);
    await check(updateCase(13, 21, 30, UPDATES[5] as (typeof UPDATES)[number]), runWasmKernel, [3], kernel);
    await check(
      updateCase(13, 21, 30, UPDATES[3] as (typeof UPDATES)[number], 0, true),
      runWasmKernel,
      [3],
      kernel,
    );
  });
});

describe('matmul (Wasm) MLP shapes', () => {
  it.each([3, 8])('batch %i', async (B) => {
    for (const c of mlpCases(B)) await check(c, runWasmKernel, [3]);
  });
});

// --- The relaxed-SIMD build: the harness runs the plain one, so a small twin of it runs this one. ---

async function relaxedValidates(): Promise<boolean> {
  const bytes = Uint8Array.from(atob(relaxed), (c) => c.charCodeAt(0));
  if (WebAssembly.validate(bytes)) return true;
  try {
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return WebAssembly.validate(bytes);
}

let relaxedModule: Promise<WebAssembly.Module> | undefined;

/** runWasmKernel (test/wasm/harness.ts) on the relaxed build. */
const runRelaxed: Runner = async (kernel, p, inputs, outputs, ctx, parts) => {
  relaxedModule ??= WebAssembly.compile(Uint8Array.from(atob(relaxed), (c) => c.charCodeAt(0)));
  const memory = new WebAssembly.Memory({ initial: 1, maximum: maximumPages, shared: true });
  const instance = await WebAssembly.instantiate(await relaxedModule, { env: { memory } });
  let top = 1024;
  const alloc = (bytes: number) => {
    const at = top;
    top += Math.ceil(Math.max(bytes, 4) / 64) * 64;
    const pages = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536;
    if (pages > 0) memory.grow(pages);
    return at;
  };
  const where = new Map<NumArray, number>();
  const place = (array: NumArray) => {
    let at = where.get(array);
    if (at === undefined) {
      at = alloc(array.length * 4);
      where.set(array, at);
      new Float32Array(memory.buffer, at, array.length).set(array);
    }
    return at;
  };
  const refs = kernel.bind(p);
  const pointers = refs.map((ref) =>
    ref === null ? 0 : place((ref[0] === 'in' ? inputs : outputs)[ref[1]] as NumArray),
  );
  for (const output of outputs) place(output);
  const scratchBytes = kernel.scratch?.(p, parts) ?? 0;
  const words = [...pointers, scratchBytes > 0 ? alloc(scratchBytes) : 0, ...kernel.params(p)];
  const block = alloc(words.length * 4);
  new Uint32Array(memory.buffer, block, words.length).set(words);
  const step = alloc(32);
  new Uint32Array(memory.buffer, step, 5).set([
    ctx.step,
    f32Bits(ctx.lr),
    f32Bits(ctx.momentum),
    f32Bits(ctx.biasCorrection1),
    f32Bits(ctx.biasCorrection2),
  ]);
  for (const phase of kernel.phases) {
    const entry = instance.exports[phase] as (...args: number[]) => void;
    for (let part = 0; part < parts; part++) entry(block, step, part, parts);
  }
  return outputs.map((output) => {
    const at = where.get(output) as number;
    return new Float32Array(memory.buffer.slice(at, at + output.length * 4));
  });
};

describe('matmul (Wasm) relaxed-SIMD build', async () => {
  const validates = await relaxedValidates();
  it.skipIf(!validates).each(LAYOUTS)(
    'layout transA %s transB %s, every epilogue',
    async (transA, transB) => {
      for (const [M, N, K] of [
        [33, 65, 47],
        [7, 10, 257],
      ] as const) {
        await check(plainCase(M, N, K, transA, transB, true), runRelaxed, [3]);
      }
      if (transA || transB) return;
      for (const activation of ACTIVATIONS)
        await check(forwardCase(33, 65, 47, activation, 0.7), runRelaxed, [3]);
      for (const activation of ACTIVATIONS)
        await check(backwardCase(7, 10, 33, activation, 0.6), runRelaxed, [3]);
      await check(updateCase(33, 65, 47, UPDATES[5] as (typeof UPDATES)[number], 0, true), runRelaxed, [3]);
    },
  );
});
