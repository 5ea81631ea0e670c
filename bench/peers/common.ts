/**
 * What `npm run bench:peers` and `npm run bench:peers:node` measure, shared by both sides (dropgpu
 * and jax-js) and both modes (a cross-origin-isolated page, Node): the rows, how many runs each gets,
 * the data, and the small timing loop. A side's module turns a row into a `Runner`; `runRows` times
 * every row of one side in one go, so a mode can give each side its own page (or its own turn).
 * Never a test.
 */
import { fmt, type Log, random } from '../measure.js';

export { fmt, type Log };

export const SIZES = [784, 1024, 1024, 10] as const;
export const KEEP = { input: 0.8, hidden: 0.5 } as const;
export const LR = 0.05;
export const MOMENTUM = 0.9;
export const SEED = 1234;

/** `ceiling` is no library: this machine's Wasm SIMD ceiling for each matmul row (ceiling.ts). */
export type Side = 'dropgpu' | 'jax-js' | 'ceiling';

/** One layer's matmul in the step: forward, input gradient (dX), weight gradient (dW). */
export type MatmulRole = 'fwd' | 'dX' | 'dW';

export interface MatmulRow {
  readonly kind: 'matmul';
  readonly id: string;
  readonly label: string;
  readonly backend: 'wasm';
  readonly B: number;
  readonly role: MatmulRole;
  /** The layer's input and output widths. */
  readonly inputs: number;
  readonly outputs: number;
  /** The product is [M × K]·[K × N]. */
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly warmup: number;
  /** Timed runs per page (or turn); each is one product, completed. */
  readonly reps: number;
}

export interface TrainRow {
  readonly kind: 'train';
  readonly id: string;
  readonly label: string;
  readonly backend: 'wasm' | 'webgpu';
  readonly B: number;
  /** The loss is awaited after every `readEvery`-th step (and only then). */
  readonly readEvery: number;
  /** Steps per timed run: a run ends with awaiting a loss, so all its work is done. */
  readonly steps: number;
  /** Untimed steps after compiling (first kernels, allocator growth). */
  readonly warmup: number;
  readonly reps: number;
}

export type Row = MatmulRow | TrainRow;

/** How many units (samples or GFLOP) one timed run does. */
export function workOf(row: Row): number {
  return row.kind === 'train' ? row.B * row.steps : (2 * row.M * row.N * row.K) / 1e9;
}

export function unitOf(row: Row): string {
  return row.kind === 'train' ? 'samples/s' : 'GFLOP/s';
}

/**
 * The MLP's products at batch B. The input layer needs no dX (nothing upstream learns). Each side
 * runs them in its own layout: jax-js as its step does (W [in, out]: X·W, dY·Wᵀ, Xᵀ·dY), dropgpu as
 * its step does (W [out, in]: X·Wᵀ, dY·W, dYᵀ·X); M, N and K, hence the FLOPs, are the same.
 */
export function matmulRows(B: number, quick: boolean): MatmulRow[] {
  const rows: MatmulRow[] = [];
  const layers = SIZES.slice(1).map((outputs, i) => ({ inputs: SIZES[i] as number, outputs }));
  const add = (role: MatmulRole, inputs: number, outputs: number, M: number, N: number, K: number) => {
    const gflop = (2 * M * N * K) / 1e9;
    // Small products take well under a millisecond: more of them, so the best is not a timer tick.
    const reps = quick ? 5 : gflop < 0.05 ? 60 : gflop < 0.5 ? 20 : 10;
    rows.push({
      kind: 'matmul',
      id: `mm-${role}-${inputs}x${outputs}-B${B}`,
      label: `matmul B=${B} ${role} ${matmulLabel(role, B, inputs, outputs)}`,
      backend: 'wasm',
      B,
      role,
      inputs,
      outputs,
      M,
      N,
      K,
      warmup: 2,
      reps,
    });
  };
  for (const { inputs, outputs } of layers) add('fwd', inputs, outputs, B, outputs, inputs);
  for (const { inputs, outputs } of layers.slice(1)) add('dX', inputs, outputs, B, inputs, outputs);
  for (const { inputs, outputs } of layers) add('dW', inputs, outputs, inputs, outputs, B);
  return rows;
}

/** The product as jax-js writes it (W [in, out]); dropgpu's has the same M, N, K. */
function matmulLabel(role: MatmulRole, B: number, inputs: number, outputs: number): string {
  if (role === 'fwd') return `[${B}×${inputs}]·[${inputs}×${outputs}]`;
  if (role === 'dX') return `[${B}×${outputs}]·[${inputs}×${outputs}]ᵀ`;
  return `[${B}×${inputs}]ᵀ·[${B}×${outputs}]`;
}

export interface RowOptions {
  readonly quick: boolean;
  /** Include the WebGPU rows (a page with an adapter). */
  readonly webgpu: boolean;
}

/**
 * Every row of a mode. Step counts: jax-js's Wasm step at B = 128 takes 0.05–0.2 s here, dropgpu's
 * less; SwiftShader steps take seconds, so the WebGPU row gets few.
 */
export function buildRows({ quick, webgpu }: RowOptions): Row[] {
  const train = (
    backend: 'wasm' | 'webgpu',
    B: number,
    readEvery: number,
    reps: number,
    // A run of an every-20 row is 20 steps already: one run warms it up.
    warmup = readEvery === 1 ? 2 : 1,
  ): TrainRow => ({
    kind: 'train',
    id: `train-${backend}-B${B}-every${readEvery}`,
    label: `train ${backend} B=${B}, loss read every ${readEvery === 1 ? 'step' : `${readEvery} steps`}`,
    backend,
    B,
    readEvery,
    steps: readEvery,
    warmup,
    reps,
  });
  const rows: Row[] = quick
    ? [train('wasm', 128, 1, 3), train('wasm', 512, 1, 2, 1), train('wasm', 128, 20, 1, 1)]
    : [
        train('wasm', 128, 1, 20),
        train('wasm', 512, 1, 8),
        train('wasm', 128, 20, 3),
        train('wasm', 512, 20, 2),
      ];
  if (webgpu) rows.push(train('webgpu', 128, 1, quick ? 2 : 5, 1));
  for (const B of quick ? [128] : [128, 512]) rows.push(...matmulRows(B, quick));
  return rows;
}

/** A row ready to run on one side. `run` includes completion of its work. */
export interface Runner {
  run(): Promise<void>;
  dispose(): void;
}

/** One side's results for one row, on one page (or turn). */
export interface RowResult {
  readonly id: string;
  /** Rates of the timed runs, in the order they ran. */
  readonly samples?: number[];
  /** Why the row did not run on this side (e.g. no WebGPU adapter for it). */
  readonly skipped?: string;
  /** What the side ran it on, e.g. "Wasm SIMD + relaxed FMA, 2 threads". */
  readonly on?: string;
}

export type Prepare = (row: Row, log: Log) => Promise<(Runner & { on: string }) | string>;

/** Sets each row up (untimed), warms it up, times `reps` runs, and frees it before the next row. */
export async function runRows(rows: readonly Row[], prepare: Prepare, log: Log): Promise<RowResult[]> {
  const results: RowResult[] = [];
  for (const row of rows) {
    let prepared: Awaited<ReturnType<Prepare>>;
    try {
      prepared = await prepare(row, log);
    } catch (error) {
      // One side failing one row (e.g. a backend that cannot compile it) is a result, not the end of the run.
      prepared = `failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (typeof prepared === 'string') {
      log(`  ${row.label}: ${prepared}`);
      results.push({ id: row.id, skipped: prepared });
      continue;
    }
    try {
      for (let i = 0; i < row.warmup; i++) await prepared.run();
      const samples: number[] = [];
      for (let i = 0; i < row.reps; i++) {
        const start = performance.now();
        await prepared.run();
        samples.push(workOf(row) / ((performance.now() - start) / 1000));
      }
      const best = Math.max(...samples);
      log(`  ${row.label}: best ${fmt(best)} ${unitOf(row)} (${samples.length} runs, ${prepared.on})`);
      results.push({ id: row.id, samples, on: prepared.on });
    } catch (error) {
      const skipped = `failed: ${error instanceof Error ? error.message : String(error)}`;
      log(`  ${row.label}: ${skipped}`);
      results.push({ id: row.id, skipped, on: prepared.on });
    } finally {
      prepared.dispose();
    }
  }
  return results;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

/** One MNIST-shaped batch, made once: inputs uniform in [0, 1), labels uniform over the classes. */
export function makeBatch(B: number): { x: Float32Array; labels: Int32Array } {
  const next = random(B * 7919 + SEED);
  const x = Float32Array.from({ length: B * (SIZES[0] as number) }, next);
  const labels = Int32Array.from({ length: B }, () => Math.floor(next() * (SIZES[3] as number)));
  return { x, labels };
}

/** Uniform values in [−scale, scale) for a matmul operand or an initial weight. */
export function uniform(length: number, scale: number, seed: number): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length }, () => (2 * next() - 1) * scale);
}
