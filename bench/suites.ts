/**
 * What `npm run bench` measures, independent of which libraries run it: the matmul shapes of the
 * 784-1024-1024-10 MLP's forward and backward passes, its training step and its inference, and how
 * many warm-up runs and timed rounds each gets. The rep counts are chosen for the software adapter
 * (Chromium's SwiftShader), where one TensorFlow.js training step at B = 512 takes about 10 s, so the
 * full run stays within about 15 minutes; `--quick` is a few-minute smoke run.
 */
import { type Batch, type BenchCase, type Contender, makeBatches, random } from './measure.js';

export const SIZES = [784, 1024, 1024, 10] as const;
export const KEEP_PROB = { input: 0.8, hidden: 0.5 } as const;
export const LR = 0.01;
export const MOMENTUM = 0.9;
export const SEED = 1234;

/** C[M, N] = opA · opB with A stored [M, K] ([K, M] when transA), B stored [K, N] ([N, K] when transB). */
export interface MatmulShape {
  readonly label: string;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transA: boolean;
  readonly transB: boolean;
}

export interface TrainWorkload {
  readonly batchSize: number;
  /** The loss is awaited after every `readEvery`-th step (and only then). */
  readonly readEvery: number;
  /** Steps per timed run: a run ends with awaiting a loss, so every run completes its GPU work. */
  readonly steps: number;
  readonly batches: readonly Batch[];
  /**
   * The batches' rows stay on the GPU and a step uploads only its row indices: dropgpu's
   * `net.trainRows` (all `steps` in one call), TF.js's `tf.gather` from tensors made once.
   */
  readonly resident?: boolean;
}

export interface InferWorkload {
  readonly rows: number;
  readonly x: Float32Array;
}

/** A library under test: each method returns the setup of one case (setup is untimed). */
export interface Library {
  readonly name: string;
  matmul(shape: MatmulShape, a: Float32Array, b: Float32Array): Contender;
  train(workload: TrainWorkload): Contender;
  infer(workload: InferWorkload): Contender;
}

/** `explore` (dropgpu's matmul kernels ranked against each other, bench/explore.ts) is not in `all`. */
export const SUITE_NAMES = ['matmul', 'train', 'infer', 'explore'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];
const ALL: readonly SuiteName[] = ['matmul', 'train', 'infer'];

export function parseSuites(arg: string | undefined): SuiteName[] {
  if (arg === undefined || arg === '' || arg === 'all') return [...ALL];
  const names = arg.split(',');
  for (const name of names) {
    if (!(SUITE_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown suite "${name}"; have ${SUITE_NAMES.join(', ')} (or all)`);
    }
  }
  return names as SuiteName[];
}

export function matmulShapes(quick: boolean): MatmulShape[] {
  const shapes: MatmulShape[] = [];
  for (const size of quick ? [256, 512] : [256, 512, 1024]) {
    shapes.push({ label: `square ${size}`, M: size, N: size, K: size, transA: false, transB: false });
  }
  // PyTorch layout W [out, in]: forward Y = X·Wᵀ, backward dX = dY·W and dW = dYᵀ·X.
  for (const B of quick ? [128] : [128, 512]) {
    for (const [inputs, outputs] of [
      [784, 1024],
      [1024, 1024],
    ] as const) {
      const w = `${outputs}×${inputs}`;
      shapes.push(
        {
          label: `B=${B} Y=X·Wᵀ [${B}×${inputs}]·[${w}]ᵀ`,
          M: B,
          N: outputs,
          K: inputs,
          transA: false,
          transB: true,
        },
        {
          label: `B=${B} dX=dY·W [${B}×${outputs}]·[${w}]`,
          M: B,
          N: inputs,
          K: outputs,
          transA: false,
          transB: false,
        },
        {
          label: `B=${B} dW=dYᵀ·X [${B}×${outputs}]ᵀ·[${B}×${inputs}]`,
          M: outputs,
          N: inputs,
          K: B,
          transA: true,
          transB: false,
        },
      );
    }
  }
  return shapes;
}

/** FLOPs of one forward pass of the MLP per sample. */
const FORWARD_FLOPS = SIZES.slice(1).reduce((sum, out, i) => sum + 2 * (SIZES[i] as number) * out, 0);

export function buildCases(
  suites: readonly SuiteName[],
  quick: boolean,
  libraries: readonly Library[],
): BenchCase[] {
  const cases: BenchCase[] = [];
  if (suites.includes('matmul')) {
    for (const shape of matmulShapes(quick)) {
      const { M, N, K } = shape;
      const next = random(M * 31 + N * 17 + K);
      const a = Float32Array.from({ length: M * K }, () => next() - 0.5);
      const b = Float32Array.from({ length: K * N }, () => next() - 0.5);
      const gflop = (2 * M * N * K) / 1e9;
      cases.push({
        suite: 'matmul',
        name: `matmul ${shape.label}`,
        unit: 'GFLOP/s',
        work: gflop,
        // Setup ran each library once (compile, upload). Small products take a fraction of a second
        // even for TF.js, so they get an extra warm-up and more rounds; ≥ 0.5 GFLOP ones take seconds.
        warmup: gflop < 0.5 ? 1 : 0,
        reps: quick ? 3 : gflop < 0.5 ? 5 : 3,
        contenders: libraries.map((library) => library.matmul(shape, a, b)),
      });
    }
  }
  if (suites.includes('train')) {
    // One TF.js step takes seconds here, so the every-20 cases time whole 20-step windows (each
    // already an average over 20 steps) and few of them; the every-step cases time single steps.
    const plans: { batchSize: number; readEvery: number; steps: number; reps: number; resident?: boolean }[] =
      quick
        ? [{ batchSize: 128, readEvery: 1, steps: 1, reps: 3 }]
        : [
            { batchSize: 128, readEvery: 1, steps: 1, reps: 5 },
            { batchSize: 512, readEvery: 1, steps: 1, reps: 3 },
            { batchSize: 128, readEvery: 20, steps: 20, reps: 2 },
            { batchSize: 512, readEvery: 20, steps: 20, reps: 1 },
            { batchSize: 128, readEvery: 20, steps: 20, reps: 2, resident: true },
          ];
    for (const { batchSize, readEvery, steps, reps, resident } of plans) {
      const batches = makeBatches(4, batchSize, 784, 10);
      const workload = { batchSize, readEvery, steps, batches, ...(resident ? { resident } : {}) };
      const every = readEvery === 1 ? 'step' : `${readEvery} steps`;
      cases.push({
        suite: 'train',
        name: `train B=${batchSize}, loss read every ${every}${resident ? ', data on the GPU' : ''}`,
        unit: 'samples/s',
        work: batchSize * steps,
        // Setup already ran one step of each library (pipelines compiled, buffers allocated).
        warmup: 0,
        reps,
        contenders: libraries.map((library) => library.train(workload)),
      });
    }
  }
  if (suites.includes('infer')) {
    const rows = 512;
    const [batch] = makeBatches(1, rows, 784, 10);
    const workload = { rows, x: (batch as Batch).x };
    cases.push({
      suite: 'infer',
      name: `infer B=${rows} (${((rows * FORWARD_FLOPS) / 1e9).toFixed(2)} GFLOP)`,
      unit: 'samples/s',
      work: rows,
      warmup: 1,
      reps: quick ? 3 : 5,
      contenders: libraries.map((library) => library.infer(workload)),
    });
  }
  return cases;
}
