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

/** Forgets every remembered choice (memory and `localStorage`): the next compile times again. */
export function clearTuning(): void {
  choices.clear();
  records.length = 0;
  const storage = localStorageOrNull();
  storage?.removeItem(STORAGE_KEY);
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
  const storage = localStorageOrNull();
  if (!storage) return;
  try {
    const all = Object.fromEntries([...choices].map(([name, map]) => [name, Object.fromEntries(map)]));
    storage.setItem(STORAGE_KEY, JSON.stringify(all));
  } catch {
    // A full or forbidden storage only costs a re-tune on the next page load.
  }
}

function load(): void {
  if (loaded) return;
  loaded = true;
  const storage = localStorageOrNull();
  if (!storage) return;
  try {
    const stored = JSON.parse(storage.getItem(STORAGE_KEY) ?? '{}') as Record<string, Record<string, string>>;
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
/** A candidate whose warm-up took this many times the fastest warm-up so far is not timed further. */
const HOPELESS = 3;

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
  const fits = tuning.candidates.map((kernel) => fitsDevice(host.gpu, kernel, limit));
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

/** Fixed pseudo-random f32 values in [-1, 1) (xorshift32 from `seed`): the check's and timing's inputs. */
export function checkValues(count: number, seed: number): Float32Array<ArrayBuffer> {
  const values = new Float32Array(count);
  let state = (seed * 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    values[i] = (state >>> 8) / 2 ** 23 - 1;
  }
  return values;
}

/** What `measureCandidates` found, by candidate. */
export interface Measured {
  /** Milliseconds per dispatch: best of the rounds, or of its warm-up alone where not `ranked`. */
  readonly ms: number[];
  /**
   * Whether it competed: false for a candidate whose bits differ, or whose warm-up took over HOPELESS
   * times the quickest (not timed further). All true with `rounds` 0.
   */
  readonly ranked: boolean[];
  /** Its output words (every output binding, concatenated) after its first run. */
  readonly outputs: Uint32Array[];
  /** Whether its output differs in any bit from the reference's (false for the reference itself). */
  readonly differs: boolean[];
  readonly timer: 'timestamp-query' | 'wall';
}

export interface MeasureOptions {
  /** Timed rounds after the warm-up (0: the bit check alone). */
  readonly rounds?: number;
  /** The index of the candidate the others' bits are compared with. */
  readonly reference?: number;
  /** Compare with these words instead of the reference's own output (an earlier stage's). */
  readonly compareTo?: Uint32Array | undefined;
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

/**
 * Runs each candidate once on the same fixed random inputs (its outputs reset to the same random
 * values before), reads back its outputs and compares their bits with the reference's; then times
 * the candidates whose warm-up was not hopeless, `rounds` alternating rounds, each submit repeated to
 * ≥ MIN_SUBMIT_MS, with `timestamp-query` where the device has it (else the wall clock).
 */
export async function measureCandidates(
  host: TuningHost,
  op: string,
  candidates: readonly BoundGpuKernel[],
  scratch: readonly number[],
  options: MeasureOptions = {},
): Promise<Measured> {
  const { gpu } = host;
  const rounds = options.rounds ?? ROUNDS;
  const made: GPUBuffer[] = [];
  const querySets: GPUQuerySet[] = [];
  const buffer = (size: number, usage: number, label: string) => {
    const created = gpu.createBuffer({ label: `autotune ${op}: ${label}`, size, usage });
    made.push(created);
    return created;
  };
  try {
    // Which bindings the kernels write (the same for every candidate of one op: one interface).
    const written = (candidates[0]?.bindings ?? []).flatMap((ref, binding) =>
      ref?.[0] === 'out' && (scratch[binding] ?? 0) > 0 ? [binding] : [],
    );
    const initial = scratch.map((count, i) => checkValues(Math.max(1, count), 0x5eed + i));
    const storage = scratch.map((count, i) => {
      const created = buffer(
        Math.max(4, count * 4),
        GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
        `binding ${i}`,
      );
      if (count > 0) gpu.queue.writeBuffer(created, 0, initial[i] as Float32Array<ArrayBuffer>);
      return created;
    });
    const outBytes = written.map((binding) => Math.max(4, (scratch[binding] ?? 0) * 4));
    const readbacks = candidates.map((_, c) =>
      written.map((binding, j) =>
        buffer(
          outBytes[j] as number,
          GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
          `output ${binding} of ${c}`,
        ),
      ),
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
    const timestamps = gpu.features.has('timestamp-query');
    const querySet = timestamps
      ? gpu.createQuerySet({ label: `autotune ${op}: timestamps`, type: 'timestamp', count: 2 })
      : null;
    if (querySet) querySets.push(querySet);
    const resolved = timestamps
      ? buffer(16, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'timestamps')
      : null;
    const stamps = timestamps
      ? buffer(16, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'timestamps read')
      : null;
    let timer: Measured['timer'] = timestamps ? 'timestamp-query' : 'wall';
    const dispatch = async (index: number, repeats: number, check: boolean): Promise<number> => {
      const run = runs[index] as (typeof runs)[number];
      if (check) {
        written.forEach((binding) => {
          gpu.queue.writeBuffer(
            storage[binding] as GPUBuffer,
            0,
            initial[binding] as Float32Array<ArrayBuffer>,
          );
        });
      }
      const encoder = gpu.createCommandEncoder({ label: `autotune ${op}` });
      const pass = encoder.beginComputePass({
        label: `autotune ${op}`,
        ...(querySet
          ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } }
          : {}),
      });
      pass.setPipeline(run.pipeline);
      pass.setBindGroup(0, run.bindGroup);
      for (let r = 0; r < repeats; r++) pass.dispatchWorkgroups(...run.workgroups);
      pass.end();
      if (querySet && resolved && stamps) {
        encoder.resolveQuerySet(querySet, 0, 2, resolved, 0);
        encoder.copyBufferToBuffer(resolved, 0, stamps, 0, 16);
      }
      if (check) {
        written.forEach((binding, j) => {
          const target = readbacks[index]?.[j] as GPUBuffer;
          encoder.copyBufferToBuffer(storage[binding] as GPUBuffer, 0, target, 0, outBytes[j] as number);
        });
      }
      await gpu.queue.onSubmittedWorkDone();
      const start = performance.now();
      gpu.queue.submit([encoder.finish()]);
      await gpu.queue.onSubmittedWorkDone();
      const wall = (performance.now() - start) / repeats;
      if (!stamps || timer === 'wall') return wall;
      await stamps.mapAsync(GPUMapMode.READ);
      const [begin, end] = new BigUint64Array(stamps.getMappedRange().slice(0));
      stamps.unmap();
      const ns = Number((end ?? 0n) - (begin ?? 0n));
      // A timer that says nothing useful (0, or past the wall clock): the wall clock from now on.
      if (!(ns > 0) || ns / 1e6 > wall * repeats * 1.5 + 1) {
        timer = 'wall';
        return wall;
      }
      return ns / 1e6 / repeats;
    };
    const readOutput = async (index: number): Promise<Uint32Array> => {
      const parts = readbacks[index] as GPUBuffer[];
      const words = new Uint32Array(outBytes.reduce((sum, bytes) => sum + bytes / 4, 0));
      let at = 0;
      for (const part of parts) {
        await part.mapAsync(GPUMapMode.READ);
        const got = new Uint32Array(part.getMappedRange().slice(0));
        words.set(got, at);
        at += got.length;
        part.unmap();
      }
      return words;
    };
    // Warm-up and bit check in one: each candidate's first run is on the same inputs.
    const first: number[] = [];
    const outputs: Uint32Array[] = [];
    for (let i = 0; i < runs.length; i++) {
      first.push(await dispatch(i, 1, true));
      outputs.push(await readOutput(i));
    }
    const reference = options.compareTo ?? outputs[options.reference ?? 0] ?? new Uint32Array();
    const differs = outputs.map((words) => !sameWords(words, reference));
    const repeats = first.map((ms) =>
      Math.min(64, Math.max(1, Math.ceil(MIN_SUBMIT_MS / Math.max(ms, 1e-3)))),
    );
    const quickest = Math.min(...first.filter((_, i) => !differs[i]));
    const timedHere = first.map((ms, i) => !differs[i] && ms <= HOPELESS * quickest);
    const best = first.map((ms, i) => (timedHere[i] ? Number.POSITIVE_INFINITY : ms));
    for (let round = 0; round < rounds; round++) {
      // Alternate the order so that a slow phase of the machine does not land on one candidate.
      const order = runs.map((_, i) => (round % 2 === 0 ? i : runs.length - 1 - i));
      for (const i of order) {
        if (!timedHere[i]) continue;
        best[i] = Math.min(best[i] as number, await dispatch(i, repeats[i] as number, false));
      }
    }
    return {
      ms: rounds === 0 ? first : best,
      ranked: rounds === 0 ? first.map(() => true) : timedHere,
      outputs,
      differs,
      timer,
    };
  } finally {
    for (const created of made) created.destroy();
    for (const set of querySets) set.destroy();
  }
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
