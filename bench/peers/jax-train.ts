/**
 * jax-js's side of bench/peers, written as a jax-js user would: the MLP 784-1024-1024-10 as a
 * function of a params tree, ReLU, inverted dropout from `random.bernoulli` (keep 0.8 on the input,
 * 0.5 after each hidden layer), softmax cross-entropy from `nn.logSoftmax` and `nn.oneHot`, SGD with
 * momentum by hand, the whole step one `jit` over `valueAndGrad`; and the MLP's products with
 * `np.dot` under `jit`. Runs in a page (wasm with Web Workers where the page is cross-origin
 * isolated, or webgpu) and in Node (wasm on one thread: jax-js's pool needs a global `Worker`).
 * Never a test.
 */
import {
  type Device,
  defaultDevice,
  init,
  jit,
  nn,
  numpy as np,
  random,
  tree,
  valueAndGrad,
} from '@jax-js/jax';
import {
  KEEP,
  type Log,
  LR,
  type MatmulRow,
  MOMENTUM,
  makeBatch,
  type Prepare,
  type Row,
  SEED,
  SIZES,
  type TrainRow,
  uniform,
} from './common.js';

// A `type` alias, not an interface: jax-js's JsTree typing only accepts aliases.
type Params = {
  w1: np.Array;
  b1: np.Array;
  w2: np.Array;
  b2: np.Array;
  w3: np.Array;
  b3: np.Array;
};

/** What a step returns: the new state is threaded through the next call (jax-js arrays are immutable). */
type StepOut = { loss: np.Array; params: Params; velocity: Params; key: np.Array };

const started = new Set<Device>();

/** Starts jax-js's backend `device`; false when it is not available here (no adapter). */
export async function openJax(device: 'wasm' | 'webgpu'): Promise<boolean> {
  if (!started.has(device)) {
    const available = await init(device);
    if (!available.includes(device)) return false;
    started.add(device);
  }
  return true;
}

/** How jax-js's Wasm backend runs here: a pool of Web Workers only where SharedArrayBuffer and Worker exist. */
export function jaxWasmThreads(): number {
  const pooled = typeof SharedArrayBuffer !== 'undefined' && typeof Worker !== 'undefined';
  if (!pooled) return 1;
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency || 4;
}

function describe(device: 'wasm' | 'webgpu'): string {
  if (device === 'webgpu') return 'jax-js webgpu';
  const threads = jaxWasmThreads();
  return `jax-js wasm, ${threads} thread${threads === 1 ? '' : 's'}`;
}

/** Inverted dropout: keep each value with probability `keep`, scaled by 1/keep. */
function dropout(x: np.Array, key: np.Array, keep: number): np.Array {
  const mask = random.bernoulli(key, keep, x.shape);
  return np.where(mask, x.mul(1 / keep), 0);
}

function lossFn(p: Params, x: np.Array, labels: np.Array, key: np.Array): np.Array {
  const batch = x.shape[0] as number;
  const [k0, k1, k2] = random.split(key, 3) as unknown as [np.Array, np.Array, np.Array];
  const h0 = dropout(x, k0, KEEP.input);
  const h1 = dropout(nn.relu(np.dot(h0, p.w1).add(p.b1)), k1, KEEP.hidden);
  const h2 = dropout(nn.relu(np.dot(h1, p.w2).add(p.b2)), k2, KEEP.hidden);
  const logits = np.dot(h2, p.w3).add(p.b3);
  return nn
    .logSoftmax(logits)
    .mul(nn.oneHot(labels, SIZES[3]))
    .sum()
    .mul(-1 / batch);
}

/** v ← μ·v + g, w ← w − lr·v (PyTorch's SGD, as dropgpu's sgd() does it). */
function trainStep(p: Params, v: Params, x: np.Array, labels: np.Array, key: np.Array): StepOut {
  const [next, dropKey] = random.split(key, 2) as unknown as [np.Array, np.Array];
  const [loss, grads] = valueAndGrad(lossFn)(tree.ref(p), x, labels, dropKey);
  const velocity = tree.map((vi: np.Array, gi: np.Array) => vi.mul(MOMENTUM).add(gi), v, grads) as Params;
  const params = tree.map((pi: np.Array, vi: np.Array) => pi.sub(vi.ref.mul(LR)), p, velocity) as Params;
  return { loss, params, velocity, key: next };
}

/** He-uniform weights (W [in, out], as np.dot(x, W) wants) and zero biases, the same every run. */
function initParams(): Params {
  const layer = (i: number) => {
    const inputs = SIZES[i] as number;
    const outputs = SIZES[i + 1] as number;
    const w = np.array(uniform(inputs * outputs, Math.sqrt(6 / inputs), SEED + i), {
      shape: [inputs, outputs],
    });
    return [w, np.zeros([outputs])] as const;
  };
  const [w1, b1] = layer(0);
  const [w2, b2] = layer(1);
  const [w3, b3] = layer(2);
  return { w1, b1, w2, b2, w3, b3 };
}

async function prepareTrain(row: TrainRow, log: Log) {
  const device = row.backend;
  const { x, labels } = makeBatch(row.B);
  // Arrays (the batch, params, key) go where the default device is: set it before making any.
  defaultDevice(device);
  const step = jit(trainStep);
  let params = initParams();
  let velocity = tree.map((w: np.Array) => np.zerosLike(w.ref), params) as Params;
  let key = random.key(SEED);
  // One step, as a training loop over a data set does it: this batch's x and labels go up every step.
  const one = (): np.Array => {
    const out = step(
      params,
      velocity,
      np.array(x, { shape: [row.B, SIZES[0]] }),
      np.array(labels, { dtype: np.int32 }),
      key,
    );
    params = out.params;
    velocity = out.velocity;
    key = out.key;
    return out.loss;
  };
  const read = async (loss: np.Array) => {
    const value = (await loss.data())[0] as number;
    if (!Number.isFinite(value)) throw new Error(`jax-js: loss ${value}`);
    return value;
  };
  const compileStart = performance.now();
  const first = await read(one());
  log(
    `  jax-js ${device} B=${row.B}: first step (tracing, compiling) ${((performance.now() - compileStart) / 1000).toFixed(1)} s, loss ${first.toFixed(4)}`,
  );
  return {
    on: describe(device),
    async run() {
      for (let i = 1; i <= row.steps; i++) {
        const loss = one();
        // Unread losses are disposed at once, so nothing forces the step to finish early.
        if (i % row.readEvery === 0) await read(loss);
        else loss.dispose();
      }
    },
    dispose() {
      tree.dispose([params, velocity, key]);
      step.dispose();
    },
  };
}

async function prepareMatmul(row: MatmulRow) {
  const { B, role, inputs, outputs } = row;
  // jax-js's layout, as its training step runs them: X [B, in], W [in, out], dY [B, out].
  const shapes: Record<typeof role, [number[], number[]]> = {
    fwd: [
      [B, inputs],
      [inputs, outputs],
    ],
    dX: [
      [B, outputs],
      [inputs, outputs],
    ],
    dW: [
      [B, inputs],
      [B, outputs],
    ],
  };
  const [aShape, bShape] = shapes[role];
  defaultDevice('wasm');
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const a = np.array(uniform(size(aShape), 0.5, row.M * 31 + row.K), { shape: aShape });
  const b = np.array(uniform(size(bShape), 0.5, row.N * 17 + row.K), { shape: bShape });
  const product = jit((x: np.Array, y: np.Array) =>
    role === 'fwd' ? np.dot(x, y) : role === 'dX' ? np.dot(x, y.transpose()) : np.dot(x.transpose(), y),
  );
  const run = async () => {
    const c = product(a.ref, b.ref);
    await c.blockUntilReady();
    c.dispose();
  };
  await run();
  return {
    on: describe('wasm'),
    run,
    dispose() {
      a.dispose();
      b.dispose();
      product.dispose();
    },
  };
}

/** jax-js's `Prepare` for bench/peers/common.ts: a string says why a row cannot run here. */
export const prepareJax: Prepare = async (row: Row, log: Log) => {
  if (!(await openJax(row.backend))) return `jax-js has no ${row.backend} device here`;
  return row.kind === 'train' ? prepareTrain(row, log) : prepareMatmul(row);
};
