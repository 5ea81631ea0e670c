/**
 * Each CPU reference op against a direct float64 computation written here, independently of the op's
 * own loops (different loop order, explicit transposes, closed forms, finite differences).
 */
import { describe, expect, it } from 'vitest';
import { actGradReference } from '../src/ops/act-grad.js';
import { adamReference } from '../src/ops/adam.js';
import { biasActReference } from '../src/ops/bias-act.js';
import { biasGradReference } from '../src/ops/bias-grad.js';
import { dropoutReference } from '../src/ops/dropout.js';
import { gatherRowsReference } from '../src/ops/gather-rows.js';
import { matmulReference, PLAIN_EPILOGUE } from '../src/ops/matmul.js';
import { maxNormReference } from '../src/ops/max-norm.js';
import { sgdReference } from '../src/ops/sgd.js';
import { softmaxReference, softmaxXentGradReference, softmaxXentReference } from '../src/ops/softmax-xent.js';
import { dropoutMask } from '../src/rng/philox.js';
import { expectAllClose, randomArray, randomLabels } from './helpers.js';

const EXACT = { atol: 0, rtol: 0 };
const F64 = { atol: 1e-12, rtol: 1e-12 };

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c] as number;
  return t;
}

describe('matmul', () => {
  it('computes a hand-worked 2×3·3×2 product', () => {
    // [[1,2,3],[4,5,6]]·[[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
    const out = new Float64Array(4);
    matmulReference(
      { M: 2, N: 2, K: 3, transA: false, transB: false, ...PLAIN_EPILOGUE },
      [Float64Array.of(1, 2, 3, 4, 5, 6), Float64Array.of(7, 8, 9, 10, 11, 12)],
      [out],
    );
    expect(Array.from(out)).toEqual([58, 64, 139, 154]);
  });

  describe.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])('transA %s transB %s', (transA, transB) => {
    it.each([
      [1, 1, 1],
      [7, 33, 5],
      [33, 7, 65],
      [4, 9, 1],
    ])('M %i N %i K %i against k-outer accumulation of explicit transposes', (M, N, K) => {
      const a = randomArray(M * K, 1);
      const b = randomArray(K * N, 2);
      const storedA = transA ? transpose(a, M, K) : a;
      const storedB = transB ? transpose(b, K, N) : b;
      const expected = new Float64Array(M * N);
      for (let k = 0; k < K; k++) {
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            expected[m * N + n] =
              (expected[m * N + n] as number) + (a[m * K + k] as number) * (b[k * N + n] as number);
          }
        }
      }
      const out = new Float64Array(M * N);
      matmulReference({ M, N, K, transA, transB, ...PLAIN_EPILOGUE }, [storedA, storedB], [out]);
      expectAllClose('matmul', [M, N, K], out, expected, F64);
    });
  });
});

describe('bias_act and act_grad', () => {
  const rows = 5;
  const cols = 7;
  const x = randomArray(rows * cols, 3, -4, 4);
  const b = randomArray(cols, 4);
  const closedForms = {
    relu: { f: (z: number) => Math.max(0, z), df: (z: number) => (z > 0 ? 1 : 0) },
    tanh: { f: Math.tanh, df: (z: number) => 1 / Math.cosh(z) ** 2 },
    sigmoid: {
      f: (z: number) => Math.exp(z) / (1 + Math.exp(z)),
      df: (z: number) => Math.exp(-z) / (1 + Math.exp(-z)) ** 2,
    },
    identity: { f: (z: number) => z, df: () => 1 },
  };
  it.each(Object.keys(closedForms) as (keyof typeof closedForms)[])(
    '%s forward and derivative',
    (activation) => {
      const { f, df } = closedForms[activation];
      const z = x.map((v, i) => v + (b[i % cols] as number));
      const y = new Float64Array(rows * cols);
      biasActReference({ rows, cols, activation }, [x, b], [y]);
      expectAllClose(`bias_act ${activation}`, [rows, cols], y, z.map(f), F64);
      const dy = randomArray(rows * cols, 5);
      const dz = new Float64Array(rows * cols);
      actGradReference({ length: rows * cols, activation }, [dy, y], [dz]);
      expectAllClose(
        `act_grad ${activation}`,
        [rows, cols],
        dz,
        z.map((v, i) => (dy[i] as number) * df(v)),
        {
          atol: 1e-12,
          rtol: 1e-9,
        },
      );
    },
  );
});

describe('bias_grad', () => {
  it('sums columns', () => {
    const dz = randomArray(33 * 7, 6);
    const db = new Float64Array(7);
    biasGradReference({ rows: 33, cols: 7 }, [dz], [db]);
    const expected = new Float64Array(7);
    dz.forEach((v, i) => {
      expected[i % 7] = (expected[i % 7] as number) + v;
    });
    expectAllClose('bias_grad', [33, 7], db, expected, F64);
  });
});

describe('dropout', () => {
  it.each([0.5, 0.8, 1])(
    'keeps exactly the mask of docs/contracts.md, "Dropout masks" and scales by 1/keepProb (p = %f)',
    (keepProb) => {
      const length = 257;
      const x = randomArray(length, 7);
      const out = new Float64Array(length);
      dropoutReference({ length, keepProb, seed: 99, site: 1, stream: 0 }, [x], [out], { step: 5 });
      const mask = dropoutMask(99, 5, 1, keepProb, length);
      expectAllClose(
        `dropout p=${keepProb}`,
        [length],
        out,
        x.map((v, i) => (mask[i] ? v / keepProb : 0)),
        F64,
      );
    },
  );

  it('is unbiased: E[dropout(x)] = x', () => {
    const length = 200_000;
    const out = new Float64Array(length);
    dropoutReference(
      { length, keepProb: 0.8, seed: 3, site: 0, stream: 0 },
      [new Float64Array(length).fill(1)],
      [out],
      {
        step: 0,
      },
    );
    const mean = out.reduce((s, v) => s + v, 0) / length;
    // sd of one draw is sqrt(p(1-p))/p = 0.5; 4σ of the mean:
    expect(Math.abs(mean - 1)).toBeLessThan((4 * 0.5) / Math.sqrt(length));
  });
});

describe('gather_rows', () => {
  // A dataset of n = 3 rows × 3 features; labels 7, 8, 9. Words are little-endian: byte k of a word
  // is bits 8k…8k+7, so the bytes 0…8 are the words 0x03020100, 0x07060504, 0x00000008.
  const labelWords = Uint32Array.of(0x00090807);

  it('reads bytes through the table, across word boundaries', () => {
    const words = Uint32Array.of(0x03020100, 0x07060504, 0x00000008);
    const table = Float64Array.from({ length: 256 }, (_, b) => b * 0.5);
    const x = new Float64Array(6);
    const labels = new Uint32Array(2);
    gatherRowsReference(
      { batch: 2, features: 3, bytes: true },
      [Uint32Array.of(2, 0), words, table, labelWords],
      [x, labels],
    );
    // row 2 = bytes 6, 7, 8 → 3, 3.5, 4; row 0 = bytes 0, 1, 2 → 0, 0.5, 1.
    expect(Array.from(x)).toEqual([3, 3.5, 4, 0, 0.5, 1]);
    expect(Array.from(labels)).toEqual([9, 7]);
  });

  it('copies f32 rows bit for bit, repeating a row when asked', () => {
    const values = Float32Array.of(10, 11, 12, 20, 21, 22, -0, Number.NaN, 1e-40);
    const x = new Float32Array(9);
    const labels = new Uint32Array(3);
    gatherRowsReference(
      { batch: 3, features: 3, bytes: false },
      [Uint32Array.of(1, 1, 2), new Uint32Array(values.buffer), new Float32Array(1), labelWords],
      [x, labels],
    );
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer));
    expect(bits(x)).toEqual(bits(Float32Array.of(20, 21, 22, 20, 21, 22, -0, Number.NaN, 1e-40)));
    expect(Array.from(labels)).toEqual([8, 8, 9]);
  });
});

describe('softmax cross-entropy', () => {
  const rows = 7;
  const classes = 5;
  const logits = randomArray(rows * classes, 8, -3, 3);
  const labels = randomLabels(rows, 9, classes);
  const lossOf = (z: Float64Array): number => {
    let total = 0;
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += Math.exp(z[r * classes + c] as number);
      total += -Math.log(Math.exp(z[r * classes + (labels[r] as number)] as number) / sum);
    }
    return total / rows;
  };

  it('loss is the batch mean of −log softmax at the label, and the metrics accumulate', () => {
    const loss = new Float64Array(1);
    const metrics = Float64Array.of(1, 2, 3, 0);
    softmaxXentReference({ rows, classes }, [logits, labels, metrics], [loss, metrics]);
    expectAllClose('softmax_xent', [rows, classes], loss, [lossOf(logits)], F64);
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      const row = Array.from(logits.subarray(r * classes, (r + 1) * classes));
      if (row.indexOf(Math.max(...row)) === labels[r]) correct++;
    }
    expectAllClose('softmax_xent metrics', [4], metrics, [1 + lossOf(logits), 2 + correct, 3 + rows, 0], F64);
    const nan = Float64Array.from(logits);
    nan[3] = Number.NaN;
    softmaxXentReference({ rows, classes }, [nan, labels, metrics], [loss, metrics]);
    expect(metrics[3]).toBe(1);
  });

  it('is stable for huge logits', () => {
    const loss = new Float32Array(1);
    softmaxXentReference({ rows: 1, classes: 2 }, [Float32Array.of(1000, 0), Uint32Array.of(1)], [loss]);
    expect(loss[0]).toBe(1000);
    const probs = new Float32Array(2);
    softmaxReference({ rows: 1, classes: 2 }, [Float32Array.of(1000, 0)], [probs]);
    expect(Array.from(probs)).toEqual([1, 0]);
  });

  it('gradient equals (softmax − onehot)/B and central differences of the loss', () => {
    const grad = new Float64Array(rows * classes);
    softmaxXentGradReference({ rows, classes }, [logits, labels], [grad]);
    const numeric = logits.map((_, i) => {
      const h = 1e-5;
      const plus = logits.slice();
      const minus = logits.slice();
      plus[i] = (plus[i] as number) + h;
      minus[i] = (minus[i] as number) - h;
      return (lossOf(plus) - lossOf(minus)) / (2 * h);
    });
    expectAllClose('softmax_xent_grad', [rows, classes], grad, numeric, { atol: 1e-9, rtol: 1e-6 });
  });

  it('softmax rows sum to 1', () => {
    const probs = new Float64Array(rows * classes);
    softmaxReference({ rows, classes }, [logits], [probs]);
    for (let r = 0; r < rows; r++) {
      expect(probs.subarray(r * classes, (r + 1) * classes).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    }
  });
});

describe('optimizers', () => {
  // The loss kernel's metrics (ops/softmax-xent.ts): the optimizers read only slot 3, the count of
  // non-finite losses, and skip their update when it is nonzero.
  const NO_NON_FINITE = new Float64Array(4);

  it('sgd and adam skip the update once a non-finite loss was counted', () => {
    const nonFinite = Float64Array.of(0, 0, 0, 1);
    const p = Float64Array.of(1, 2);
    const v = Float64Array.of(3, 4);
    sgdReference(
      { length: 2, momentum: true, nesterov: false, weightDecay: 0 },
      [p, Float64Array.of(1, 1), nonFinite, v],
      [p, v],
      {
        lr: 0.1,
        momentum: 0.9,
      },
    );
    adamReference(
      { length: 2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
      [p, Float64Array.of(1, 1), nonFinite, v, v],
      [p, v, v],
      {
        lr: 0.1,
        biasCorrection1: 0.1,
        biasCorrection2: 0.001,
      },
    );
    expect([...p, ...v]).toEqual([1, 2, 3, 4]);
  });

  it('sgd: plain, with weight decay', () => {
    const p = Float64Array.of(1, -2);
    sgdReference(
      { length: 2, momentum: false, nesterov: false, weightDecay: 0.1 },
      [p, Float64Array.of(0.5, 0.5), NO_NON_FINITE],
      [p],
      {
        lr: 0.1,
        momentum: 0,
      },
    );
    // g = 0.5 + 0.1·p → p − 0.1·g
    expectAllClose('sgd', [2], p, [1 - 0.1 * 0.6, -2 - 0.1 * 0.3], F64);
  });

  it('sgd: momentum and nesterov over two steps (PyTorch semantics)', () => {
    for (const nesterov of [false, true]) {
      const p = Float64Array.of(1);
      const v = Float64Array.of(0);
      const ctx = { lr: 0.5, momentum: 0.9 };
      const params = { length: 1, momentum: true, nesterov, weightDecay: 0 };
      sgdReference(params, [p, Float64Array.of(2), NO_NON_FINITE, v], [p, v], ctx);
      sgdReference(params, [p, Float64Array.of(1), NO_NON_FINITE, v], [p, v], ctx);
      // v1 = 2, v2 = 0.9·2 + 1 = 2.8; plain: p = 1 − 0.5·2 − 0.5·2.8
      // nesterov: d1 = 2 + 0.9·2 = 3.8, d2 = 1 + 0.9·2.8 = 3.52
      const expected = nesterov ? 1 - 0.5 * 3.8 - 0.5 * 3.52 : 1 - 0.5 * 2 - 0.5 * 2.8;
      expectAllClose(`sgd nesterov=${nesterov}`, [1], p, [expected], F64);
      expectAllClose('sgd velocity', [1], v, [2.8], F64);
    }
  });

  it('adam: the first step moves each parameter by lr·g/(|g| + ε)', () => {
    const p = Float64Array.of(1, 1, 1);
    const g = Float64Array.of(0.3, -2, 0);
    const m = new Float64Array(3);
    const v = new Float64Array(3);
    adamReference(
      { length: 3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
      [p, g, NO_NON_FINITE, m, v],
      [p, m, v],
      { lr: 0.01, biasCorrection1: 1 - 0.9, biasCorrection2: 1 - 0.999 },
    );
    expectAllClose('adam', [3], p, [1 - (0.01 * 0.3) / (0.3 + 1e-8), 1 + (0.01 * 2) / (2 + 1e-8), 1], F64);
    expectAllClose('adam m', [3], m, [0.03, -0.2, 0], F64);
    expectAllClose('adam v', [3], v, [0.001 * 0.09, 0.001 * 4, 0], F64);
  });

  it('max_norm scales rows above c to norm c and leaves the others bit for bit', () => {
    const w = Float32Array.of(3, 4, 0.1, 0.2, 0, 0);
    maxNormReference({ rows: 3, cols: 2, maxNorm: 2 }, [w]);
    expectAllClose('max_norm', [3, 2], w, [1.2, 1.6, 0.1, 0.2, 0, 0], { atol: 1e-7, rtol: 0 });
    expect(w[2]).toBe(Math.fround(0.1));
    expect(w[3]).toBe(Math.fround(0.2));
  });
});

describe('exactness of elementwise f32 ops', () => {
  it('relu forward is exact in f32', () => {
    const x = Float32Array.from(randomArray(64, 10));
    const b = new Float32Array(8);
    const y = new Float32Array(64);
    biasActReference({ rows: 8, cols: 8, activation: 'relu' }, [x, b], [y]);
    expectAllClose(
      'bias_act relu',
      [8, 8],
      y,
      x.map((v) => Math.max(0, v)),
      EXACT,
    );
  });
});
