/**
 * Picks, per adapter, the fastest of an op's interchangeable kernels (`GpuKernel.tuning`): at compile
 * time each candidate runs on scratch buffers of the node's shape and the fastest is remembered by
 * adapter and shape, for the rest of the page (and across page loads where `localStorage` exists).
 *
 * Only kernels that compute the same bits are candidates (for matmul: the same per-output order of
 * products and sums, whatever the workgroup shape or load width), so the choice changes speed, never
 * results: training stays bit-reproducible even if two timings disagree.
 */
import type { BoundGpuKernel, BoundTuning } from '../kernels/gpu.js';

/** One timed choice, kept for reports (`npm run bench` writes them into its results). */
export interface TuningRecord {
  readonly adapter: string;
  readonly op: string;
  readonly key: string;
  /**
   * Milliseconds per dispatch, best of the rounds, by variant: first each kernel file in its default
   * workgroup shape (stage 1), then every shape of the faster file (stage 2, which times its default
   * again and keeps that later time; skipped when it would take over STAGE2_BUDGET_MS).
   */
  readonly times: Readonly<Record<string, number>>;
  readonly chosen: string;
}

const STORAGE_KEY = 'dropgpu.autotune.v1';
/** adapter → (op + key → chosen variant). */
const choices = new Map<string, Map<string, string>>();
const records: TuningRecord[] = [];
let loaded = false;

/** Every timing made in this page or process, in order. */
export function tuningRecords(): readonly TuningRecord[] {
  return records;
}

/** Forgets every remembered choice (memory and the `TuningStore`): the next compile times again. */
export function clearTuning(): void {
  choices.clear();
  records.length = 0;
  try {
    currentStore()?.write('{}');
  } catch {
    // Unwritable: the next load finds the old choices, which still compute the same bits.
  }
}

/** The variant chosen earlier for (adapter, op, key), if any. */
export function rememberedChoice(adapter: string, op: string, key: string): string | undefined {
  load();
  return choices.get(adapter)?.get(`${op} ${key}`);
}

function remember(adapter: string, op: string, key: string, variant: string): void {
  load();
  let byKey = choices.get(adapter);
  if (!byKey) {
    byKey = new Map();
    choices.set(adapter, byKey);
  }
  byKey.set(`${op} ${key}`, variant);
  const storage = currentStore();
  if (!storage) return;
  try {
    const all = Object.fromEntries([...choices].map(([name, map]) => [name, Object.fromEntries(map)]));
    storage.write(JSON.stringify(all));
  } catch {
    // A full or forbidden storage only costs a re-tune on the next page load.
  }
}

function load(): void {
  if (loaded) return;
  loaded = true;
  const storage = currentStore();
  if (!storage) return;
  try {
    const stored = JSON.parse(storage.read() ?? '{}') as Record<string, Record<string, string>>;
    for (const [adapter, byKey] of Object.entries(stored)) {
      if (typeof byKey !== 'object' || byKey === null) continue;
      const map = new Map<string, string>();
      for (const [key, variant] of Object.entries(byKey))
        if (typeof variant === 'string') map.set(key, variant);
      choices.set(adapter, map);
    }
  } catch {
    // Unreadable: time again.
  }
}

/**
 * Where the autotuner's choices persist between pages or processes: one JSON text of adapter →
 * (op and shape → variant). `WebGpuOptions.tuningStore` sets it; the default is `localStorage` where
 * there is one (in Node, `dropgpu/node`'s `createBackend` uses a file under the user's cache folder).
 */
export interface TuningStore {
  /** The text last written, or null when there is none. */
  read(): string | null;
  /** Replaces the text (after each new choice, and with `{}` on `clearTuning()`). */
  write(text: string): void;
}

/** undefined: `localStorage` when present; null: memory only. */
let store: TuningStore | null | undefined;

/** Sets where choices persist (see `TuningStore`) and reloads them from there on next use. */
export function setTuningStore(next: TuningStore | null | undefined): void {
  if (next === store) return;
  store = next;
  loaded = false;
}

function currentStore(): TuningStore | null {
  if (store !== undefined) return store;
  const storage = localStorageOrNull();
  return (
    storage && {
      read: () => storage.getItem(STORAGE_KEY),
      write: (text) => storage.setItem(STORAGE_KEY, text),
    }
  );
}

function localStorageOrNull(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // e.g. a sandboxed iframe
  }
}

/** What the tuner needs from the device: a pipeline for a kernel (cached there) and its GPU. */
export interface TuningHost {
  readonly gpu: GPUDevice;
  readonly adapter: string;
  pipeline(op: string, kernel: BoundGpuKernel): Promise<GPUComputePipeline>;
}

/** Rounds of timing after the warm-up: each candidate's time is its best round. */
const ROUNDS = 2;
/** A timed submit lasts at least this long (small dispatches repeat), so timer and submit costs fade. */
const MIN_SUBMIT_MS = 4;
/** The most that stage 2 (workgroup shapes) may be expected to take for one node. */
const STAGE2_BUDGET_MS = 1500;

/**
 * The kernel to run `params` with: the remembered choice for this adapter and shape, or the fastest
 * candidate timed now, or `fallback` when the node is too small to be worth timing.
 */
export async function chooseKernel(
  host: TuningHost,
  op: string,
  tuning: BoundTuning,
  fallback: BoundGpuKernel,
): Promise<BoundGpuKernel> {
  if (!tuning.worthTiming) return fallback;
  const limit = host.gpu.limits.maxComputeWorkgroupsPerDimension;
  const fits = tuning.candidates.map((kernel) => kernel.workgroups.every((groups) => groups <= limit));
  const candidates = tuning.candidates.filter((_, i) => fits[i]);
  const timed = tuning.timed.filter((_, i) => fits[i]);
  if (candidates.length < 2) return fallback;
  const { key, scratch } = tuning;
  const remembered = rememberedChoice(host.adapter, op, key);
  const known = candidates.find((kernel) => kernel.variant === remembered);
  if (known) return known;
  // Two stages, to compile and time 6 pipelines instead of 10: each file in the default workgroup
  // shape, then every workgroup shape of the faster file.
  const files = [...new Set(candidates.map((kernel) => kernel.name))];
  const firsts = files.map((file) => candidates.findIndex((kernel) => kernel.name === file));
  // Timed even when there is one file: its time is what stage 2's budget is judged by.
  const fileTimes = await timeCandidates(
    host,
    op,
    firsts.map((i) => timed[i] as BoundGpuKernel),
    scratch,
  );
  const fastest = indexOfMin(fileTimes);
  const file = candidates[firsts[fastest] as number]?.name;
  const shapes = candidates.flatMap((kernel, i) => (kernel.name === file ? [i] : []));
  // Stage 2 only while it stays within budget: on a slow adapter a big node's dispatch takes a
  // fraction of a second, and the workgroup shape is worth less than that many seconds of compile.
  const stage2Ms = shapes.length * (1 + ROUNDS) * Math.max(fileTimes[fastest] as number, MIN_SUBMIT_MS);
  const tuneShapes = shapes.length > 1 && stage2Ms <= STAGE2_BUDGET_MS;
  const shapeTimes = tuneShapes
    ? await timeCandidates(
        host,
        op,
        shapes.map((i) => timed[i] as BoundGpuKernel),
        scratch,
      )
    : [];
  const chosenIndex = tuneShapes ? (shapes[indexOfMin(shapeTimes)] as number) : (firsts[fastest] as number);
  const chosen = candidates[chosenIndex] as BoundGpuKernel;
  const times: Record<string, number> = {};
  firsts.forEach((index, i) => {
    times[candidates[index]?.variant ?? ''] = fileTimes[i] as number;
  });
  shapeTimes.forEach((ms, i) => {
    times[candidates[shapes[i] as number]?.variant ?? ''] = ms;
  });
  records.push({ adapter: host.adapter, op, key, times, chosen: chosen.variant });
  remember(host.adapter, op, key, chosen.variant);
  return chosen;
}

function indexOfMin(values: readonly number[]): number {
  let best = 0;
  values.forEach((value, i) => {
    if (value < (values[best] as number)) best = i;
  });
  return best;
}

/**
 * Milliseconds per dispatch of each candidate (bound to what is timed; on zeroed scratch buffers), best of `rounds`
 * after a warm-up. Also used by `npm run bench -- explore` to rank kernels outside the library.
 */
export async function timeCandidates(
  host: TuningHost,
  op: string,
  candidates: readonly BoundGpuKernel[],
  scratch: readonly number[],
  rounds = ROUNDS,
): Promise<number[]> {
  const { gpu } = host;
  const made: GPUBuffer[] = [];
  const buffer = (size: number, usage: number, label: string) => {
    const created = gpu.createBuffer({ label: `autotune ${op}: ${label}`, size, usage });
    made.push(created);
    return created;
  };
  try {
    const storage = scratch.map((count, i) =>
      buffer(Math.max(4, count * 4), GPUBufferUsage.STORAGE, `binding ${i}`),
    );
    const uniforms = candidates.map((kernel, i) => {
      const uniform = buffer(256, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, `params ${i}`);
      const words = kernel.uniform;
      gpu.queue.writeBuffer(uniform, 0, words.buffer, words.byteOffset, words.byteLength);
      return uniform;
    });
    const step = buffer(32, GPUBufferUsage.UNIFORM, 'step');
    const runs = await Promise.all(
      candidates.map(async (kernel, i) => {
        const pipeline = await host.pipeline(op, kernel);
        const entries: GPUBindGroupEntry[] = storage.map((resource, binding) => ({
          binding,
          resource: { buffer: resource },
        }));
        entries.push({ binding: entries.length, resource: { buffer: uniforms[i] as GPUBuffer } });
        if (kernel.usesStep) entries.push({ binding: entries.length, resource: { buffer: step } });
        const bindGroup = gpu.createBindGroup({
          label: `autotune ${op}: ${kernel.variant}`,
          layout: pipeline.getBindGroupLayout(0),
          entries,
        });
        return { pipeline, bindGroup, workgroups: kernel.workgroups };
      }),
    );
    const time = async (index: number, repeats: number): Promise<number> => {
      const run = runs[index] as (typeof runs)[number];
      const encoder = gpu.createCommandEncoder({ label: `autotune ${op}` });
      const pass = encoder.beginComputePass({ label: `autotune ${op}` });
      pass.setPipeline(run.pipeline);
      pass.setBindGroup(0, run.bindGroup);
      for (let r = 0; r < repeats; r++) pass.dispatchWorkgroups(...run.workgroups);
      pass.end();
      await gpu.queue.onSubmittedWorkDone();
      const start = performance.now();
      gpu.queue.submit([encoder.finish()]);
      await gpu.queue.onSubmittedWorkDone();
      return (performance.now() - start) / repeats;
    };
    // Warm-up, which also sizes the repeats so that each timed submit lasts MIN_SUBMIT_MS.
    const first = [];
    for (let i = 0; i < runs.length; i++) first.push(await time(i, 1));
    const repeats = first.map((ms) =>
      Math.min(64, Math.max(1, Math.ceil(MIN_SUBMIT_MS / Math.max(ms, 1e-3)))),
    );
    const best = first.map(() => Number.POSITIVE_INFINITY);
    for (let round = 0; round < rounds; round++) {
      // Alternate the order so that a slow phase of the machine does not land on one candidate.
      const order = runs.map((_, i) => (round % 2 === 0 ? i : runs.length - 1 - i));
      for (const i of order) best[i] = Math.min(best[i] as number, await time(i, repeats[i] as number));
    }
    return best;
  } finally {
    for (const created of made) created.destroy();
  }
}
