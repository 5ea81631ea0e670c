/**
 * dropgpu's side of the benchmark, usable in the browser and in Node (Dawn). Training and inference go
 * through the public API; the matmul suite compiles a one-node graph with the internal executor, since
 * the library has no public matmul, so it times exactly the kernel the training step dispatches.
 */
import { compileGraph } from '../src/graph/executor.js';
import { createBackend, dataset, mlp, sgd } from '../src/index.js';
import { Graph, plainStep } from '../src/ir/ir.js';
import type { WebGpuDevice } from '../src/webgpu/device.js';
import { openWebGpu, type WebGpuOptions } from '../src/webgpu/open.js';
import type { Log } from './measure.js';
import { KEEP_PROB, type Library, LR, MOMENTUM, SEED, SIZES } from './suites.js';

export interface OpenedLibrary extends Library {
  readonly description: string;
  dispose(): void;
}

export interface OpenedDropgpu extends OpenedLibrary {
  /** The device every suite runs on (for `explore`). */
  readonly device: WebGpuDevice;
}

export async function openDropgpu(options: WebGpuOptions, log: Log): Promise<OpenedDropgpu> {
  const device = await openWebGpu(options);
  // One GPUDevice for both the raw matmul graphs and the nets, so both suites time the same queue.
  const backend = await createBackend('webgpu', { device: device.gpu });
  const spec = mlp({ sizes: [...SIZES], activation: 'relu', keepProb: KEEP_PROB, seed: SEED });
  const optimizer = sgd({ lr: LR, momentum: MOMENTUM });

  return {
    name: 'dropgpu',
    description: device.description,
    device,
    dispose() {
      backend.dispose();
      device.destroy();
    },

    matmul: ({ M, N, K, transA, transB }, aData, bData) => ({
      library: 'dropgpu',
      async setup() {
        const graph = new Graph();
        const a = graph.tensor('a', transA ? [K, M] : [M, K], 'input');
        const b = graph.tensor('b', transB ? [N, K] : [K, N], 'input');
        graph.apply('matmul', 'matmul', [a, b], { transA, transB }, [M, N], 'output');
        const compiled = await compileGraph(device, 'bench matmul', graph);
        // Inputs are uploaded once, outside the timing; a run is one submit and its completion.
        device.write(compiled.bufferOf(a), aData);
        device.write(compiled.bufferOf(b), bData);
        const run = async () => {
          compiled.program.run(plainStep());
          await device.gpu.queue.onSubmittedWorkDone();
        };
        await run();
        return { run, dispose: () => compiled.dispose() };
      },
    }),

    train: ({ batchSize, readEvery, steps, batches, resident }) => ({
      library: 'dropgpu',
      async setup() {
        const compileStart = performance.now();
        const net = await backend.compile(spec, { batchSize, optimizer });
        const compileSeconds = (performance.now() - compileStart) / 1000;
        let next = 0;
        const nextBatch = () => {
          const batch = batches[next++ % batches.length];
          if (!batch) throw new Error('no batches');
          return batch;
        };
        // The batches as one dataset, for the resident case: batch b is rows b·B … (b+1)·B − 1.
        const all = dataset(
          Float32Array.from(batches.flatMap((batch) => Array.from(batch.x))),
          Uint8Array.from(batches.flatMap((batch) => Array.from(batch.labels))),
          SIZES[0],
          SIZES[3],
        );
        const rowsOf = (first: number, count: number) =>
          Uint32Array.from({ length: count * batchSize }, (_, i) => {
            const batch = (first + Math.floor(i / batchSize)) % batches.length;
            return batch * batchSize + (i % batchSize);
          });
        const warm = nextBatch();
        const first = resident
          ? await (await net.trainRows(all, rowsOf(next - 1, 1)))[0]?.loss
          : await (await net.trainStep(warm.x, warm.labels)).loss;
        // Includes the autotuner's timings for shapes this page has not tuned yet.
        log(
          `  dropgpu B=${batchSize}: compiled in ${compileSeconds.toFixed(1)} s, first loss ${first?.toFixed(4)}`,
        );
        const check = (loss: number, step: number) => {
          if (!Number.isFinite(loss)) throw new Error(`dropgpu: loss ${loss} at step ${step}`);
        };
        return {
          async run() {
            if (resident) {
              // Only the row indices go up; the steps go to the GPU in one submission.
              const results = await net.trainRows(all, rowsOf(next, steps));
              next += steps;
              for (let i = readEvery; i <= steps; i += readEvery) {
                const result = results[i - 1];
                if (result) check(await result.loss, result.step);
              }
              return;
            }
            for (let i = 1; i <= steps; i++) {
              // x is uploaded every step, as a training loop over a data set must.
              const batch = nextBatch();
              const result = await net.trainStep(batch.x, batch.labels);
              if (i % readEvery !== 0) continue;
              check(await result.loss, result.step);
            }
          },
          dispose: () => net.dispose(),
        };
      },
    }),

    infer: ({ rows, x }) => ({
      library: 'dropgpu',
      async setup() {
        const compileStart = performance.now();
        const net = await backend.compile(spec, { batchSize: rows, optimizer });
        log(
          `  dropgpu infer B=${rows}: compiled in ${((performance.now() - compileStart) / 1000).toFixed(1)} s`,
        );
        const run = async () => {
          await net.predict(x);
        };
        await run();
        return { run, dispose: () => net.dispose() };
      },
    }),
  };
}
