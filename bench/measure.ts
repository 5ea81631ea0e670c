/**
 * The measurement core shared by the browser page and the Node mode: a case is one workload run by
 * one or more libraries; `measureCase` runs them in alternation, round by round, so that a slow phase
 * of the machine (another process, thermal, the GC) lands on every library instead of on one.
 */

/** One library's side of a case, ready to run. `run` must include completion of the GPU work. */
export interface Runner {
  run(): Promise<void>;
  dispose(): void;
}

export interface Contender {
  readonly library: string;
  setup(): Promise<Runner>;
}

export interface BenchCase {
  readonly suite: string;
  readonly name: string;
  /** What the rate counts, e.g. 'GFLOP/s' or 'samples/s'. */
  readonly unit: string;
  /** How many units (GFLOP, samples) one `run()` does. */
  readonly work: number;
  readonly warmup: number;
  readonly reps: number;
  readonly contenders: readonly Contender[];
}

export interface Timing {
  readonly suite: string;
  readonly name: string;
  readonly library: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly reps: number;
  /** Every timed run's rate, in the order they ran. */
  readonly samples: number[];
}

export type Log = (line: string) => void;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

/**
 * Warm-up runs (pipeline compilation, first uploads, allocator growth) are untimed. In each timed round
 * every library runs once; the first library of the round alternates (A B, B A, …) so neither always
 * runs right after the other's GPU work.
 */
export async function measureCase(c: BenchCase, log: Log): Promise<Timing[]> {
  const runners: Runner[] = [];
  try {
    for (const contender of c.contenders) runners.push(await contender.setup());
    const samples = runners.map((): number[] => []);
    for (let i = 0; i < c.warmup; i++) for (const runner of runners) await runner.run();
    for (let round = 0; round < c.reps; round++) {
      const order = runners.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const start = performance.now();
        await (runners[i] as Runner).run();
        const seconds = (performance.now() - start) / 1000;
        (samples[i] as number[]).push(c.work / seconds);
      }
    }
    const timings = c.contenders.map((contender, i): Timing => {
      const rates = samples[i] as number[];
      return {
        suite: c.suite,
        name: c.name,
        library: contender.library,
        unit: c.unit,
        median: median(rates),
        min: Math.min(...rates),
        max: Math.max(...rates),
        reps: rates.length,
        samples: rates,
      };
    });
    log(describeCase(c.name, c.unit, timings));
    return timings;
  } finally {
    for (const runner of runners) runner.dispose();
  }
}

function describeCase(name: string, unit: string, timings: readonly Timing[]): string {
  const parts = timings.map((t) => `${t.library} ${fmt(t.median)} (${fmt(t.min)}–${fmt(t.max)})`);
  const [ours, theirs] = timings;
  const ratio = ours && theirs ? `  ratio ${fmt(ours.median / theirs.median)}×` : '';
  return `${name}: ${parts.join(' | ')} ${unit}${ratio}`;
}

/** Three significant digits, without exponent notation for the magnitudes we print. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** A small deterministic generator (mulberry32), so both libraries see the very same data every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** MNIST-shaped batches: inputs uniform in [0, 1), labels uniform over the classes. */
export interface Batch {
  readonly x: Float32Array;
  readonly labels: Int32Array;
  /** The labels one-hot, [rows × classes], for libraries that take targets that way. */
  readonly oneHot: Float32Array;
}

export function makeBatches(count: number, rows: number, inputs: number, classes: number): Batch[] {
  const next = random(rows * 7919 + inputs);
  return Array.from({ length: count }, () => {
    const x = Float32Array.from({ length: rows * inputs }, next);
    const labels = Int32Array.from({ length: rows }, () => Math.floor(next() * classes));
    const oneHot = new Float32Array(rows * classes);
    labels.forEach((label, row) => {
      oneHot[row * classes + label] = 1;
    });
    return { x, labels, oneHot };
  });
}
