/**
 * Running and timing interchangeable kernels on scratch buffers of fixed random values, for the
 * autotuner (autotune.ts): each candidate's first run is its bit check (outputs read back and compared
 * with a reference's), the later ones its timing, on the GPU's clock (`timestamp-query`) where the
 * device has it.
 */
import type { BoundGpuKernel } from '../kernels/gpu.js';
import type { TuningHost } from './autotune.js';

/** Rounds of timing after the warm-up: each candidate's time is its best round. */
export const ROUNDS = 2;
/** A timed submit lasts at least this long (small dispatches repeat), so timer and submit costs fade. */
export const MIN_SUBMIT_MS = 4;
/** A candidate whose warm-up took this many times the quickest warm-up is not timed further. */
const HOPELESS = 3;

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
