/**
 * TensorFlow.js's side of the benchmark, on its WebGPU backend, written as a TF.js user would: a
 * tf.sequential of dense and dropout layers, tf.train.momentum, tf.losses.softmaxCrossEntropy.
 * TF.js gets its own GPUDevice from the same adapter (navigator.gpu), which is how it always runs.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { Log } from './measure.js';
import type { OpenedLibrary } from './ours.js';
import { KEEP_PROB, LR, MOMENTUM, SIZES } from './suites.js';

export async function openTfjs(log: Log): Promise<OpenedLibrary & { versions: Record<string, string> }> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js could not start its webgpu backend');
  await tf.ready();
  const backend = tf.backend() as WebGPUBackend;
  // TF.js keeps the adapter's vendor and architecture in private fields of its AdapterInfo.
  const info = backend.adapterInfo as unknown as { vendor?: string; architecture?: string };

  /**
   * TF.js records kernels into an open compute pass and submits lazily (every 15 dispatches or on a
   * read). This submits what is pending and waits for the queue: the same completion point as
   * dropgpu's `onSubmittedWorkDone`, without a download of the result that `data()` would add.
   */
  const finish = async () => {
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    await backend.queue.onSubmittedWorkDone();
  };

  const buildModel = () =>
    tf.sequential({
      layers: [
        tf.layers.dropout({ rate: 1 - KEEP_PROB.input, inputShape: [SIZES[0]] }),
        tf.layers.dense({ units: SIZES[1], activation: 'relu' }),
        tf.layers.dropout({ rate: 1 - KEEP_PROB.hidden }),
        tf.layers.dense({ units: SIZES[2], activation: 'relu' }),
        tf.layers.dropout({ rate: 1 - KEEP_PROB.hidden }),
        tf.layers.dense({ units: SIZES[3] }),
      ],
    });

  return {
    name: 'tfjs',
    description: `TF.js webgpu: ${[info.vendor, info.architecture].filter(Boolean).join(' ')}`,
    versions: { ...tf.version },
    dispose() {
      tf.disposeVariables();
    },

    matmul: ({ M, N, K, transA, transB }, aData, bData) => ({
      library: 'tfjs',
      async setup() {
        const a = tf.tensor2d(aData, transA ? [K, M] : [M, K]);
        const b = tf.tensor2d(bData, transB ? [N, K] : [K, N]);
        const run = async () => {
          const c = tf.matMul(a, b, transA, transB);
          await finish();
          c.dispose();
        };
        // The first run uploads a and b (TF.js uploads lazily) and compiles the program.
        await run();
        return { run, dispose: () => tf.dispose([a, b]) };
      },
    }),

    train: ({ batchSize, readEvery, steps, batches, resident }) => ({
      library: 'tfjs',
      async setup() {
        const model = buildModel();
        const optimizer = tf.train.momentum(LR, MOMENTUM);
        const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
        // The resident case: every batch's rows on the GPU once; a step uploads its row indices.
        const allX = resident
          ? tf.tensor2d(Float32Array.from(batches.flatMap((b) => Array.from(b.x))), [
              batches.length * batchSize,
              SIZES[0],
            ])
          : null;
        const allY = resident
          ? tf.tensor2d(Float32Array.from(batches.flatMap((b) => Array.from(b.oneHot))), [
              batches.length * batchSize,
              SIZES[3],
            ])
          : null;
        let next = 0;
        const step = (): tf.Scalar => {
          const index = next++ % batches.length;
          const batch = batches[index];
          if (!batch) throw new Error('no batches');
          return tf.tidy(() => {
            const rows = () =>
              tf.tensor1d(
                Int32Array.from({ length: batchSize }, (_, r) => index * batchSize + r),
                'int32',
              );
            // x and the targets are uploaded every step (as for dropgpu), or gathered on the GPU.
            const x = allX ? tf.gather(allX, rows()) : tf.tensor2d(batch.x, [batchSize, SIZES[0]]);
            const y = allY ? tf.gather(allY, rows()) : tf.tensor2d(batch.oneHot, [batchSize, SIZES[3]]);
            const loss = optimizer.minimize(
              () =>
                tf.losses.softmaxCrossEntropy(
                  y,
                  model.apply(x, { training: true }) as tf.Tensor,
                ) as tf.Scalar,
              true,
              variables,
            );
            if (!loss) throw new Error('minimize returned no loss');
            return loss;
          });
        };
        const warm = step();
        const first = (await warm.data())[0] as number;
        warm.dispose();
        log(`  tfjs B=${batchSize}: built, first loss ${first.toFixed(4)}`);
        return {
          async run() {
            for (let i = 1; i <= steps; i++) {
              const loss = step();
              if (i % readEvery === 0) {
                const value = (await loss.data())[0] as number;
                if (!Number.isFinite(value)) throw new Error(`tfjs: loss ${value}`);
              }
              loss.dispose();
            }
          },
          dispose() {
            optimizer.dispose();
            model.dispose();
            if (allX && allY) tf.dispose([allX, allY]);
          },
        };
      },
    }),

    infer: ({ rows, x }) => ({
      library: 'tfjs',
      async setup() {
        const model = buildModel();
        const run = async () => {
          // batchSize: predict's default of 32 would split the 512 rows into 16 dispatch chains.
          const probs = tf.tidy(() =>
            tf.softmax(model.predict(tf.tensor2d(x, [rows, SIZES[0]]), { batchSize: rows }) as tf.Tensor),
          );
          await probs.data();
          probs.dispose();
        };
        await run();
        return { run, dispose: () => model.dispose() };
      },
    }),
  };
}
