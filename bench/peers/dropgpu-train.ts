/**
 * dropgpu's side of bench/peers, through the public API as a user writes it: `createBackend('wasm')`
 * (or 'webgpu'), `mlp()` 784-1024-1024-10 with dropout keep 0.8 / 0.5, `compile()` with SGD + momentum,
 * `await (await net.trainStep(x, y)).loss`. The matmul rows compile a one-node graph with the internal
 * executor on a Wasm device of the same thread count (the library has no public matmul), so they time
 * exactly the kernel, threads and pool that the training step runs (bench/ours.ts does the same on
 * WebGPU). Runs in a page and in Node. Never a test.
 */

import { compileGraph } from '../../src/graph/executor.js';
import { type Backend, createBackend, mlp, sgd } from '../../src/index.js';
import { Graph, plainStep } from '../../src/ir/ir.js';
import type { WasmDevice } from '../../src/wasm/device.js';
import { openWasm } from '../../src/wasm/open.js';
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

export interface DropgpuOptions {
  /** Wasm worker threads; undefined: the library's default (the hardware concurrency). */
  readonly threads?: number;
}

export interface DropgpuSide {
  readonly prepare: Prepare;
  /** Releases every backend and device the side opened. */
  dispose(): void;
}

/** A side whose backends are opened on first use and kept for every row (as an app would keep one). */
export function dropgpuSide(options: DropgpuOptions = {}): DropgpuSide {
  const wasmOptions = options.threads === undefined ? {} : { threads: options.threads };
  const backends = new Map<'wasm' | 'webgpu', Promise<Backend | string>>();
  let device: Promise<WasmDevice> | undefined;

  const backend = (kind: 'wasm' | 'webgpu') => {
    let opened = backends.get(kind);
    if (!opened) {
      // A page without an adapter has no WebGPU row for us: say why instead of failing the run.
      opened = createBackend(kind, kind === 'wasm' ? wasmOptions : {}).catch(
        (error: unknown) => `dropgpu: no ${kind} backend here (${String(error)})`,
      );
      backends.set(kind, opened);
    }
    return opened;
  };

  // One thing open at a time: the matmul rows' device and the nets' backends each hold a worker pool,
  // and jax-js's side never has more than one.
  const closeBackends = () => {
    for (const opened of backends.values()) {
      void opened.then((b) => {
        if (typeof b !== 'string') b.dispose();
      });
    }
    backends.clear();
  };
  const closeDevice = () => {
    void device?.then((d) => d.destroy());
    device = undefined;
  };

  const prepareTrain = async (row: TrainRow, log: Log) => {
    closeDevice();
    const opened = await backend(row.backend);
    if (typeof opened === 'string') return opened;
    const spec = mlp({ sizes: [...SIZES], activation: 'relu', keepProb: KEEP, seed: SEED });
    const compileStart = performance.now();
    const net = await opened.compile(spec, {
      batchSize: row.B,
      optimizer: sgd({ lr: LR, momentum: MOMENTUM }),
    });
    // Made once; trainStep uploads x every step, as a training loop over a data set must.
    const { x, labels } = makeBatch(row.B);
    const read = async (loss: Promise<number>) => {
      const value = await loss;
      if (!Number.isFinite(value)) throw new Error(`dropgpu: loss ${value}`);
      return value;
    };
    const first = await read((await net.trainStep(x, labels)).loss);
    log(
      `  dropgpu ${row.backend} B=${row.B}: compiled and first step in ${((performance.now() - compileStart) / 1000).toFixed(1)} s, loss ${first.toFixed(4)}`,
    );
    return {
      on: `dropgpu ${opened.description}`,
      async run() {
        for (let i = 1; i <= row.steps; i++) {
          const result = await net.trainStep(x, labels);
          if (i % row.readEvery === 0) await read(result.loss);
        }
      },
      dispose: () => net.dispose(),
    };
  };

  const prepareMatmul = async (row: MatmulRow) => {
    closeBackends();
    device ??= openWasm(wasmOptions);
    const wasm = await device;
    const { role, M, N, K } = row;
    // dropgpu's layout, as its training step runs them (W [out, in]): X·Wᵀ, dY·W, dYᵀ·X.
    const transA = role === 'dW';
    const transB = role === 'fwd';
    const graph = new Graph();
    const a = graph.tensor('a', transA ? [K, M] : [M, K], 'input');
    const b = graph.tensor('b', transB ? [N, K] : [K, N], 'input');
    const c = graph.apply('matmul', 'matmul', [a, b], { transA, transB }, [M, N], 'output');
    const compiled = await compileGraph(wasm, 'peers matmul', graph);
    wasm.write(compiled.bufferOf(a), uniform(M * K, 0.5, M * 31 + K));
    wasm.write(compiled.bufferOf(b), uniform(K * N, 0.5, N * 17 + K));
    const out = compiled.bufferOf(c);
    const run = async () => {
      compiled.program.run(plainStep());
      // Reads queue behind runs: one value back means the product is done.
      await wasm.read(out, 1);
    };
    await run();
    return { on: `dropgpu ${wasm.description}`, run, dispose: () => compiled.dispose() };
  };

  return {
    prepare: (row: Row, log: Log) => (row.kind === 'train' ? prepareTrain(row, log) : prepareMatmul(row)),
    dispose() {
      closeBackends();
      closeDevice();
    },
  };
}
