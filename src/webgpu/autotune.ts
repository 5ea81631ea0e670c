/**
 * Picks, per adapter, the fastest of an op's interchangeable kernels (`GpuKernel.tuning`): at compile
 * time each candidate runs on scratch buffers of the node's shape, filled with fixed random values,
 * and the fastest is remembered by adapter and shape, for the rest of the page (and across page loads
 * where `localStorage` exists).
 *
 * Candidates are written to compute the same bits (for matmul: the same per-output order of products
 * and sums, whatever the block, tile, workgroup shape or load width), but WGSL lets a compiler
 * reassociate and fuse, so that is checked here, on this device: the first run of every candidate (its
 * warm-up) is on the same random inputs, and a candidate whose output differs in any bit from the
 * default kernel's is dropped and named in the record (`dropped`). A remembered choice that is not the
 * default is checked the same way once per page before it is used. So the choice changes speed, never
 * results (docs/contracts.md, "Kernel choice").
 */
import type { BoundGpuKernel, BoundTuning, CpuAdapter } from '../kernels/gpu.js';
import { MIN_SUBMIT_MS, measureCandidates, ROUNDS } from './measure.js';

export { checkValues, type Measured, type MeasureOptions, measureCandidates } from './measure.js';

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
  /** Candidates whose output bits differed from the default kernel's on the check's inputs: never chosen. */
  readonly dropped: readonly string[];
  /** What timed the dispatches: the GPU's `timestamp-query`, or the wall clock around submit → done. */
  readonly timer: 'timestamp-query' | 'wall';
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

/** The most that stage 2 (workgroup shapes) may be expected to take for one node. */
const STAGE2_BUDGET_MS = 1500;

/** Which CPU emulation an adapter name (vendor / architecture / device / description) is, if any. */
export function cpuAdapterOf(name: string): CpuAdapter | undefined {
  if (/swiftshader/i.test(name)) return 'swiftshader';
  if (/llvmpipe|lavapipe/i.test(name)) return 'llvmpipe';
  if (/software|microsoft basic render/i.test(name)) return 'other';
  return undefined;
}

/** Whether an adapter name (vendor / architecture / device / description) is a CPU emulation. */
export function isSoftwareAdapterName(name: string): boolean {
  return cpuAdapterOf(name) !== undefined;
}

/** (adapter, op, key, variant) of remembered choices already checked against the default in this page. */
const checked = new Set<string>();

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
  const cpu = cpuAdapterOf(host.adapter);
  const fits = tuning.candidates.map(
    (kernel) => fitsDevice(host.gpu, kernel, limit) && !(cpu !== undefined && kernel.slowOn?.includes(cpu)),
  );
  const candidates = tuning.candidates.filter((_, i) => fits[i]);
  const timed = tuning.timed.filter((_, i) => fits[i]);
  if (candidates.length < 2) return fallback;
  const { scratch } = tuning;
  // The reference of the bit check: the default kernel (the first candidate that runs here).
  const reference = Math.max(
    0,
    candidates.findIndex((kernel) => kernel.variant === fallback.variant),
  );
  const key = `${tuning.key} ${fingerprint(timed)}`;
  const remembered = rememberedChoice(host.adapter, op, key);
  const known = candidates.findIndex((kernel) => kernel.variant === remembered);
  if (known === reference) return candidates[known] as BoundGpuKernel;
  if (known >= 0) {
    const id = `${host.adapter}\n${op}\n${key}\n${remembered}`;
    if (checked.has(id)) return candidates[known] as BoundGpuKernel;
    const check = await measureCandidates(
      host,
      op,
      [timed[reference], timed[known]] as BoundGpuKernel[],
      scratch,
      { rounds: 0, reference: 0 },
    );
    if (check.differs[1] === false) {
      checked.add(id);
      return candidates[known] as BoundGpuKernel;
    }
    // The remembered choice no longer gives the default's bits (new driver?): time again.
  }
  // Two stages, to compile and time fewer pipelines than all: each file (or block shape) in its
  // default workgroup shape, then every workgroup shape of the fastest.
  const files = [...new Set(candidates.map((kernel) => kernel.name))];
  const firsts = files.map((file) => candidates.findIndex((kernel) => kernel.name === file));
  // The reference runs first, so its output is what the others are compared with.
  const stage1 = [reference, ...firsts.filter((i) => i !== reference)];
  // Timed even when there is one file: its time is what stage 2's budget is judged by.
  const first = await measureCandidates(
    host,
    op,
    stage1.map((i) => timed[i] as BoundGpuKernel),
    scratch,
    { reference: 0 },
  );
  const dropped = new Set(stage1.filter((_, i) => first.differs[i]));
  const usable = (i: number) => !dropped.has(i);
  const fastest = indexOfMin(
    first.ms.map((ms, i) => (usable(stage1[i] as number) && first.ranked[i] ? ms : Number.POSITIVE_INFINITY)),
  );
  const winner = stage1[fastest] as number;
  const file = candidates[winner]?.name;
  const shapes = candidates.flatMap((kernel, i) => (kernel.name === file && i !== winner ? [i] : []));
  // Stage 2 only while it stays within budget: on a slow adapter a big node's dispatch takes a
  // fraction of a second, and the workgroup shape is worth less than that many seconds of compile.
  const winnerMs = first.ms[fastest] as number;
  const stage2Ms = (shapes.length + 1) * (1 + ROUNDS) * Math.max(winnerMs, MIN_SUBMIT_MS);
  const tuneShapes = shapes.length > 0 && stage2Ms <= STAGE2_BUDGET_MS;
  // Stage 2 times the winner again with the others (same conditions); their bits are compared with
  // the reference's output of stage 1.
  const inStage2 = [winner, ...shapes];
  const second = tuneShapes
    ? await measureCandidates(
        host,
        op,
        inStage2.map((i) => timed[i] as BoundGpuKernel),
        scratch,
        { compareTo: first.outputs[0] },
      )
    : undefined;
  const times: Record<string, number> = {};
  stage1.forEach((index, i) => {
    times[candidates[index]?.variant ?? ''] = first.ms[i] as number;
  });
  let chosenIndex = winner;
  if (second) {
    inStage2.forEach((index, i) => {
      if (second.differs[i]) dropped.add(index);
      times[candidates[index]?.variant ?? ''] = second.ms[i] as number;
    });
    const ranked = second.ms.map((ms, i) => (second.ranked[i] ? ms : Number.POSITIVE_INFINITY));
    const best = indexOfMin(ranked);
    // The winner of stage 1 stays when nothing of stage 2 competed (all dropped or hopeless).
    if (Number.isFinite(ranked[best] as number)) chosenIndex = inStage2[best] as number;
  }
  const chosen = candidates[chosenIndex] as BoundGpuKernel;
  const timer = first.timer;
  records.push({
    adapter: host.adapter,
    op,
    key: tuning.key,
    times,
    chosen: chosen.variant,
    dropped: [...dropped].map((i) => candidates[i]?.variant ?? ''),
    timer,
  });
  remember(host.adapter, op, key, chosen.variant);
  checked.add(`${host.adapter}\n${op}\n${key}\n${chosen.variant}`);
  return chosen;
}

/** Whether the device can run `kernel`: its grid and its workgroup within the device's limits. */
function fitsDevice(gpu: GPUDevice, kernel: BoundGpuKernel, maxGroups: number): boolean {
  if (!kernel.workgroups.every((groups) => groups <= maxGroups)) return false;
  const { WorkgroupX: x = 1, WorkgroupY: y = 1 } = kernel.overrides;
  return x * y <= gpu.limits.maxComputeInvocationsPerWorkgroup;
}

/**
 * A short hash of the candidates (their variants and WGSL), part of the remembered key: a choice made
 * for other kernels (another version of dropgpu) is never reused.
 */
function fingerprint(kernels: readonly BoundGpuKernel[]): string {
  let hash = 0x811c9dc5;
  const mix = (text: string) => {
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  };
  const codes = new Set<string>();
  for (const kernel of kernels) {
    mix(kernel.variant);
    codes.add(kernel.wgsl.code);
  }
  for (const code of codes) mix(code);
  return (hash >>> 0).toString(36);
}

function indexOfMin(values: readonly number[]): number {
  let best = 0;
  values.forEach((value, i) => {
    if (value < (values[best] as number)) best = i;
  });
  return best;
}

/**
 * Milliseconds per dispatch of each candidate (bound to what is timed; on scratch buffers of fixed
 * random values), best of `rounds` after a warm-up. Also used by `npm run bench -- explore` to rank
 * kernels outside the library.
 */
export async function timeCandidates(
  host: TuningHost,
  op: string,
  candidates: readonly BoundGpuKernel[],
  scratch: readonly number[],
  rounds = ROUNDS,
): Promise<number[]> {
  return (await measureCandidates(host, op, candidates, scratch, { rounds })).ms;
}
