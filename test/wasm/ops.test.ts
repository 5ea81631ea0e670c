/**
 * The Wasm kernels of every op but matmul (wasm/op_kernels.ts, descriptors in src/ops/wasm/) against
 * the CPU references, each with its op's tolerance, on odd shapes; NaN must come out where the
 * reference has NaN. Every case also runs split into 2, 3 and 8 parts and must give the same bits as one.
 */
import { describe, expect, it } from 'vitest';
import type { WasmKernel } from '../../src/kernels/wasm.js';
import { actGrad } from '../../src/ops/act-grad.js';
import { adam } from '../../src/ops/adam.js';
import { add } from '../../src/ops/add.js';
import { biasAct } from '../../src/ops/bias-act.js';
import { biasGrad } from '../../src/ops/bias-grad.js';
import { dropout } from '../../src/ops/dropout.js';
import { gatherRows } from '../../src/ops/gather-rows.js';
import { maxNorm } from '../../src/ops/max-norm.js';
import type { NumArray, Tolerance } from '../../src/ops/op.js';
import { sgd } from '../../src/ops/sgd.js';
import { softmax, softmaxXent, softmaxXentGrad } from '../../src/ops/softmax-xent.js';
import { actGradWasm } from '../../src/ops/wasm/act-grad.js';
import { adamWasm } from '../../src/ops/wasm/adam.js';
import { addWasm } from '../../src/ops/wasm/add.js';
import { biasActWasm } from '../../src/ops/wasm/bias-act.js';
import { biasGradWasm } from '../../src/ops/wasm/bias-grad.js';
import { dropoutWasm } from '../../src/ops/wasm/dropout.js';
import { gatherRowsWasm } from '../../src/ops/wasm/gather-rows.js';
import { maxNormWasm } from '../../src/ops/wasm/max-norm.js';
import { sgdWasm } from '../../src/ops/wasm/sgd.js';
import { softmaxWasm, softmaxXentGradWasm, softmaxXentWasm } from '../../src/ops/wasm/softmax-xent.js';
import { compareClose, randomArray, randomLabels } from '../helpers.js';
import { runWasmKernel } from './harness.js';

type StepContext = Parameters<typeof runWasmKernel>[4];
type Reference<P> = (
  p: P,
  inputs: readonly NumArray[],
  outputs: readonly NumArray[],
  ctx: StepContext,
) => void;

/** A fresh output of this length (u32 or f32), or (a number) the input at that index, in place. */
type Out = number | { length: number; u32?: boolean };

interface Case<P> {
  op: string;
  shape: readonly number[];
  kernel: WasmKernel<P>;
  reference: Reference<P>;
  p: P;
  inputs: readonly NumArray[];
  outputs: readonly Out[];
  tolerance: Tolerance;
  ctx?: StepContext;
  /** Compare with Object.is (bits up to NaN payloads) instead of the tolerance. */
  exact?: boolean;
}

const STEP: StepContext = { step: 0, lr: 0.1, momentum: 0.9, biasCorrection1: 1, biasCorrection2: 1 };
/** Part counts checked against one part (8: more parts than some shapes have rows or blocks). */
const PARTS = [2, 3, 8];
/** Fresh outputs start as this, so a value the kernel forgets to write shows. */
const UNWRITTEN = 7.25;

function materialize(inputs: readonly NumArray[], outputs: readonly Out[]): [NumArray[], NumArray[]] {
  const ins = inputs.map((a) => a.slice());
  const outs = outputs.map((o) => {
    if (typeof o === 'number') return ins[o] as NumArray;
    return o.u32 ? new Uint32Array(o.length).fill(UNWRITTEN) : new Float32Array(o.length).fill(UNWRITTEN);
  });
  return [ins, outs];
}

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function bitsOf(a: NumArray): Uint32Array {
  if (a instanceof Uint32Array) return a;
  const f32 = a instanceof Float32Array ? a : Float32Array.from(a);
  return new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
}

async function check<P>(c: Case<P>): Promise<NumArray[]> {
  const ctx = c.ctx ?? STEP;
  const [refIns, refOuts] = materialize(c.inputs, c.outputs);
  c.reference(c.p, refIns, refOuts, ctx);
  const [ins, outs] = materialize(c.inputs, c.outputs);
  const got = await runWasmKernel(c.kernel, c.p, ins, outs, ctx, 1);
  got.forEach((actual, i) => {
    const name = `${c.op} output ${i} ${JSON.stringify(c.p)}`;
    const expected = refOuts[i] as NumArray;
    if (c.exact || actual instanceof Uint32Array) {
      const at = firstDifference(actual, expected);
      if (at >= 0) {
        throw new Error(
          `${name} [${c.shape}]: first difference at ${at}: got ${actual[at]}, expected ${expected[at]}`,
        );
      }
    } else {
      const message = compareClose(name, c.shape, actual, expected, c.tolerance);
      if (message) throw new Error(message);
    }
  });
  for (const parts of PARTS) {
    const [pIns, pOuts] = materialize(c.inputs, c.outputs);
    const split = await runWasmKernel(c.kernel, c.p, pIns, pOuts, ctx, parts);
    split.forEach((actual, i) => {
      const one = bitsOf(got[i] as NumArray);
      const bits = bitsOf(actual);
      const at = one.findIndex((word, j) => word !== bits[j]);
      if (at >= 0) {
        throw new Error(
          `${c.op} output ${i} [${c.shape}] ${parts} parts vs 1: first difference at ${at}: ` +
            `got ${actual[at]}, expected ${(got[i] as NumArray)[at]}`,
        );
      }
    });
  }
  return got;
}

/** Random f32 values in [lo, hi) with NaN, ±∞ and −0 among them (when there is room). */
function values(n: number, seed: number, lo = -1, hi = 1, specials = true): Float32Array {
  const out = Float32Array.from(randomArray(n, seed, lo, hi));
  if (specials && n >= 16) {
    out[3] = Number.NaN;
    out[5] = Number.POSITIVE_INFINITY;
    out[8] = Number.NEGATIVE_INFINITY;
    out[13] = -0;
  }
  return out;
}

const ACTIVATIONS = ['identity', 'relu', 'tanh', 'sigmoid'] as const;
const SIZES = [1, 7, 33, 65, 257];
const SHAPES: [number, number][] = [];
for (const rows of [1, 7, 33, 65]) for (const cols of [1, 7, 33, 65]) SHAPES.push([rows, cols]);
SHAPES.push([257, 33], [33, 257], [3, 257]);
const LENGTHS = [...SIZES, 33 * 257 + 1];

describe('bias_act', () => {
  const cases = ACTIVATIONS.flatMap((activation) => SHAPES.map((shape) => [activation, ...shape] as const));
  it.each(cases)('%s rows %i cols %i', async (activation, rows, cols) => {
    const p = { rows, cols, activation };
    const x = values(rows * cols, rows * 100 + cols, -12, 12);
    // Large arguments: exp over- and underflows.
    if (x.length > 40) x.set([88, -88, 100, -100, 1e-6, -1e-6, 0.1, -0.1], 30);
    await check({
      op: `bias_act ${activation}`,
      shape: [rows, cols],
      kernel: biasActWasm,
      reference: biasAct.reference,
      p,
      inputs: [x, values(cols, cols, -1, 1, false)],
      outputs: [{ length: rows * cols }],
      tolerance: biasAct.tolerance(p),
    });
  });

  it('tanh and sigmoid on a fine sweep of [-20, 20]', async () => {
    const n = 80_001;
    const x = Float32Array.from({ length: n }, (_, i) => -20 + (40 * i) / (n - 1));
    for (const activation of ['tanh', 'sigmoid'] as const) {
      const p = { rows: n, cols: 1, activation };
      await check({
        op: `bias_act ${activation} sweep`,
        shape: [n, 1],
        kernel: biasActWasm,
        reference: biasAct.reference,
        p,
        inputs: [x, Float32Array.of(0)],
        outputs: [{ length: n }],
        tolerance: biasAct.tolerance(p),
      });
    }
  });
});

describe('act_grad', () => {
  const cases = ACTIVATIONS.flatMap((activation) => LENGTHS.map((length) => [activation, length] as const));
  it.each(cases)('%s length %i', async (activation, length) => {
    const p = { length, activation };
    const low = activation === 'sigmoid' || activation === 'identity' ? 0 : -1;
    const y = values(length, length + 1, low, 1);
    if (length > 40) y.set([1, -1, 0, 1 - 2 ** -24, 0.5], 20);
    await check({
      op: `act_grad ${activation}`,
      shape: [length],
      kernel: actGradWasm,
      reference: actGrad.reference,
      p,
      inputs: [values(length, length), y],
      outputs: [{ length }],
      tolerance: actGrad.tolerance(p),
    });
  });
});

describe('bias_grad', () => {
  it.each(SHAPES)('rows %i cols %i', async (rows, cols) => {
    const p = { rows, cols };
    const dz = values(rows * cols, rows + cols, -1, 1, false);
    if (dz.length > 20) dz[17] = Number.NaN;
    await check({
      op: 'bias_grad',
      shape: [rows, cols],
      kernel: biasGradWasm,
      reference: biasGrad.reference,
      p,
      inputs: [dz],
      outputs: [{ length: cols }],
      tolerance: biasGrad.tolerance(p),
    });
  });
});

describe('add', () => {
  it.each(LENGTHS)('length %i', async (length) => {
    const p = { length };
    await check({
      op: 'add',
      shape: [length],
      kernel: addWasm,
      reference: add.reference,
      p,
      inputs: [values(length, 1), values(length, 2)],
      outputs: [{ length }],
      tolerance: add.tolerance(p),
    });
  });

  it('in place (out = a)', async () => {
    const length = 257;
    const p = { length };
    await check({
      op: 'add in place',
      shape: [length],
      kernel: addWasm,
      reference: add.reference,
      p,
      inputs: [values(length, 1), values(length, 2)],
      outputs: [0],
      tolerance: add.tolerance(p),
    });
  });
});

describe('dropout', () => {
  const settings = [
    { keepProb: 0.5, seed: 99, site: 1, stream: 0 },
    { keepProb: 0.8, seed: 2 ** 40 + 5, site: 2, stream: 0 },
    { keepProb: 0.3, seed: 7, site: 0, stream: 3 },
    { keepProb: 1, seed: 3, site: 4, stream: 0 },
  ];
  const cases = settings.flatMap((s) => LENGTHS.map((length) => [s, length] as const));
  it.each(cases)('%o length %i', async (s, length) => {
    const p = { length, ...s };
    const got = await check({
      op: 'dropout',
      shape: [length],
      kernel: dropoutWasm,
      reference: dropout.reference,
      p,
      inputs: [values(length, length)],
      outputs: [{ length }],
      tolerance: dropout.tolerance(p),
      ctx: { ...STEP, step: 11 },
    });
    if (s.keepProb === 1)
      expect(Array.from(got[0] as Float32Array)).toEqual(Array.from(values(length, length)));
  });
});

describe('softmax_xent, softmax_xent_grad and softmax', () => {
  const cases: [number, number, number][] = [];
  for (const rows of SIZES) for (const classes of [1, 7, 10, 33]) cases.push([rows, classes, 30]);
  cases.push([65, 10, 3], [7, 257, 3], [257, 5, 100]);
  it.each(cases)('rows %i classes %i logits in ±%i', async (rows, classes, range) => {
    const p = { rows, classes };
    const logits = values(rows * classes, rows * 31 + classes, -range, range, false);
    const labels = randomLabels(rows, rows + classes, classes);
    // The metrics accumulate in place: start from a previous interval's sums.
    const metrics = Float32Array.of(12.5, 40, 64, 0);
    await check({
      op: 'softmax_xent',
      shape: [rows, classes],
      kernel: softmaxXentWasm,
      reference: softmaxXent.reference,
      p,
      inputs: [logits, labels, metrics],
      outputs: [{ length: 1 }, 2],
      tolerance: softmaxXent.tolerance(p),
    });
    await check({
      op: 'softmax_xent_grad',
      shape: [rows, classes],
      kernel: softmaxXentGradWasm,
      reference: softmaxXentGrad.reference,
      p,
      inputs: [logits, labels],
      outputs: [{ length: rows * classes }],
      tolerance: softmaxXentGrad.tolerance(p),
    });
    await check({
      op: 'softmax',
      shape: [rows, classes],
      kernel: softmaxWasm,
      reference: softmax.reference,
      p,
      inputs: [logits],
      outputs: [{ length: rows * classes }],
      tolerance: softmax.tolerance(p),
    });
  });

  it.each([
    ['NaN in row 3', Number.NaN],
    ['+∞ in row 3', Number.POSITIVE_INFINITY],
    ['−∞ in row 3', Number.NEGATIVE_INFINITY],
  ])('%s: non-finite loss counted, rows as the reference', async (_name, special) => {
    const [rows, classes] = [7, 10];
    const p = { rows, classes };
    for (const column of [0, 4]) {
      const logits = values(rows * classes, 5, -3, 3, false);
      logits[3 * classes + column] = special;
      const labels = randomLabels(rows, 6, classes);
      const metrics = Float32Array.of(1, 2, 3, 0);
      const [loss, m] = await check({
        op: 'softmax_xent',
        shape: [rows, classes],
        kernel: softmaxXentWasm,
        reference: softmaxXent.reference,
        p,
        inputs: [logits, labels, metrics],
        outputs: [{ length: 1 }, 2],
        tolerance: softmaxXent.tolerance(p),
      });
      const finite = Number.isFinite((loss as Float32Array)[0]);
      expect((m as Float32Array)[3]).toBe(finite ? 0 : 1);
      for (const [kernel, def, op] of [
        [softmaxXentGradWasm, softmaxXentGrad, 'softmax_xent_grad'],
        [softmaxWasm, softmax, 'softmax'],
      ] as const) {
        await check({
          op: `${op} with ${special}`,
          shape: [rows, classes],
          kernel,
          reference: def.reference,
          p,
          inputs: op === 'softmax' ? [logits] : [logits, labels],
          outputs: [{ length: rows * classes }],
          tolerance: def.tolerance(p),
        });
      }
    }
  });
});

describe('sgd', () => {
  const updates = [
    { momentum: false, nesterov: false, weightDecay: 0 },
    { momentum: false, nesterov: false, weightDecay: 1e-4 },
    { momentum: true, nesterov: false, weightDecay: 0.01 },
    { momentum: true, nesterov: true, weightDecay: 0 },
    { momentum: true, nesterov: true, weightDecay: 5e-4 },
  ];
  const cases = updates.flatMap((u) => LENGTHS.map((length) => [u, length] as const));
  it.each(cases)('%o length %i', async (u, length) => {
    const p = { length, ...u };
    const inputs = [
      values(length, 1, -1, 1, false),
      values(length, 2, -1, 1, false),
      Float32Array.of(0, 0, 0, 0),
      ...(u.momentum ? [values(length, 3, -1, 1, false)] : []),
    ];
    await check({
      op: 'sgd',
      shape: [length],
      kernel: sgdWasm,
      reference: sgd.reference,
      p,
      inputs,
      outputs: u.momentum ? [0, 3] : [0],
      tolerance: sgd.tolerance(p),
      ctx: { ...STEP, lr: 0.05, momentum: 0.9 },
    });
  });

  it.each(updates)('skips the update once metrics[3] > 0: %o', async (u) => {
    const length = 65;
    const p = { length, ...u };
    const param = values(length, 1);
    const velocity = values(length, 3);
    const got = await check({
      op: 'sgd skip',
      shape: [length],
      kernel: sgdWasm,
      reference: sgd.reference,
      p,
      inputs: [param, values(length, 2), Float32Array.of(1, 2, 3, 1), ...(u.momentum ? [velocity] : [])],
      outputs: u.momentum ? [0, 3] : [0],
      tolerance: { atol: 0, rtol: 0 },
      exact: true,
    });
    expect(Array.from(got[0] as Float32Array)).toEqual(Array.from(param));
    if (u.momentum) expect(Array.from(got[1] as Float32Array)).toEqual(Array.from(velocity));
  });
});

describe('adam', () => {
  const settings = [
    { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
    { beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.01 },
  ];
  const cases = settings.flatMap((s) => LENGTHS.map((length) => [s, length] as const));
  it.each(cases)('%o length %i', async (s, length) => {
    const p = { length, ...s };
    const t = 4;
    await check({
      op: 'adam',
      shape: [length],
      kernel: adamWasm,
      reference: adam.reference,
      p,
      inputs: [
        values(length, 1, -1, 1, false),
        values(length, 2, -1, 1, false),
        Float32Array.of(0, 0, 0, 0),
        values(length, 3, -0.1, 0.1, false),
        values(length, 4, 0, 0.01, false),
      ],
      outputs: [0, 3, 4],
      tolerance: adam.tolerance(p),
      ctx: {
        ...STEP,
        step: t - 1,
        lr: 1e-3,
        biasCorrection1: 1 - s.beta1 ** t,
        biasCorrection2: 1 - s.beta2 ** t,
      },
    });
  });

  it('skips the update once metrics[3] > 0', async () => {
    const length = 33;
    const p = { length, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };
    const inputs = [
      values(length, 1),
      values(length, 2),
      Float32Array.of(0, 0, 0, 2),
      values(length, 3),
      values(length, 4, 0, 1),
    ];
    const got = await check({
      op: 'adam skip',
      shape: [length],
      kernel: adamWasm,
      reference: adam.reference,
      p,
      inputs,
      outputs: [0, 3, 4],
      tolerance: { atol: 0, rtol: 0 },
      exact: true,
    });
    for (const [i, input] of [0, 3, 4].entries()) {
      expect(Array.from(got[i] as NumArray)).toEqual(Array.from(inputs[input] as NumArray));
    }
  });
});

describe('max_norm', () => {
  it.each(SHAPES)('rows %i cols %i', async (rows, cols) => {
    // Row norms are about √(cols/3): about half of the rows exceed the bound.
    const p = { rows, cols, maxNorm: Math.fround(0.95 * Math.sqrt(cols / 3)) };
    const w = values(rows * cols, rows * 7 + cols, -1, 1, false);
    if (rows > 2 && cols > 2) {
      w[cols + 1] = Number.NaN; // row 1: norm NaN, left as it is
      w[2 * cols] = Number.POSITIVE_INFINITY; // row 2: scaled by 0, ∞ becomes NaN
    }
    const got = await check({
      op: 'max_norm',
      shape: [rows, cols],
      kernel: maxNormWasm,
      reference: maxNorm.reference,
      p,
      inputs: [w],
      outputs: [0],
      tolerance: maxNorm.tolerance(p),
    });
    // Rows the reference leaves alone are not written: the same bits.
    const want = w.slice();
    maxNorm.reference(p, [want], [want], STEP);
    const out = got[0] as Float32Array;
    for (let r = 0; r < rows; r++) {
      const row = (a: Float32Array) => Array.from(bitsOf(a.subarray(r * cols, (r + 1) * cols)));
      if (row(want).every((bits, i) => bits === row(w)[i])) expect(row(out), `row ${r}`).toEqual(row(w));
    }
  });
});

describe('gather_rows', () => {
  // batch × features from n rows; features and n not multiples of 4, so bytes straddle words.
  it.each([
    [true, 7, 13, 9],
    [false, 7, 13, 9],
    [true, 1, 5, 1],
    [false, 1, 5, 1],
    [true, 33, 65, 257],
    [false, 33, 65, 257],
    [true, 65, 784, 70],
    [false, 3, 1, 7],
  ])('bytes %s: batch %i, features %i, n %i, bit-exact', async (bytes, batch, features, n) => {
    const p = { batch, features, bytes };
    const pixels = Uint8Array.from({ length: n * features }, (_, i) => (i * 97 + 13) & 0xff);
    const table = Float32Array.from({ length: 256 }, (_, b) => Math.fround(b / 255 - 0.5));
    table[13] = -0;
    table[110] = Number.NaN;
    const f32 = values(n * features, n, -1, 1);
    if (f32.length > 20) f32[19] = 1e-40; // subnormal
    const words = bytes
      ? new Uint32Array(
          Uint8Array.from({ length: Math.ceil(pixels.length / 4) * 4 }, (_, i) => pixels[i] ?? 0).buffer,
        )
      : new Uint32Array(f32.buffer);
    const labelWords = new Uint32Array(
      Uint8Array.from({ length: Math.ceil(n / 4) * 4 }, (_, i) => (i < n ? (i * 5 + 200) % 256 : 0)).buffer,
    );
    const rows = Uint32Array.from({ length: batch }, (_, r) => (r * 7 + 3) % n);
    await check({
      op: `gather_rows bytes ${bytes}`,
      shape: [batch, features],
      kernel: gatherRowsWasm,
      reference: gatherRows.reference,
      p,
      inputs: [rows, words, bytes ? table : Float32Array.of(0), labelWords],
      outputs: [{ length: batch * features }, { length: batch, u32: true }],
      tolerance: gatherRows.tolerance(p),
      exact: true,
    });
  });
});
