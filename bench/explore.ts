/**
 * `npm run bench -- explore`: every matmul kernel we have, timed on each shape of the matmul suite on
 * this adapter: the library's candidates (shaders/matmul_vec4.wgsl and shaders/matmul.wgsl in each
 * workgroup shape) and the experiments in bench/kernels/ that lost (8×8 workgroups). Shows, per shape, the fastest
 * kernel found and how far the library's own choice (the autotuner's) is from it. dropgpu only.
 */

import { type BoundTuning, bindGpuKernel, type GpuKernel } from '../src/kernels/gpu.js';
import { OPS } from '../src/ops/index.js';
import { type MatmulParams, matmulKernel, matmulVec4Fits, PLAIN_EPILOGUE } from '../src/ops/matmul.js';
import { chooseKernel, timeCandidates } from '../src/webgpu/autotune.js';
import type { WebGpuDevice } from '../src/webgpu/device.js';
import dot8Wgsl from './kernels/matmul_vec4_dot8.wgsl?raw';
import seqWgsl from './kernels/matmul_vec4_seq.wgsl?raw';
import type { Log } from './measure.js';
import type { MatmulShape } from './suites.js';

export interface ExploreRow {
  readonly shape: string;
  /** Milliseconds per dispatch, best of the rounds, by kernel variant. */
  readonly times: Readonly<Record<string, number>>;
  readonly best: string;
  readonly bestGflops: number;
  /** What the library runs for this shape (its autotuner's choice). */
  readonly chosen: string;
  /** The chosen kernel's time over the best one's (1 = it is the best). */
  readonly chosenOverBest: number;
}

const ROUNDS = 5;

/** Kernels that lost (bench/kernels/): each has matmul_vec4.wgsl's interface and shape constraints. */
const EXPERIMENTS = [
  ['matmul_vec4_seq', seqWgsl],
  ['matmul_vec4_dot8', dot8Wgsl],
] as const;

export async function exploreMatmul(
  device: WebGpuDevice,
  shapes: readonly MatmulShape[],
  log: Log,
): Promise<ExploreRow[]> {
  const base = OPS.matmul.kernel as GpuKernel<MatmulParams>;
  const rows: ExploreRow[] = [];
  for (const shape of shapes) {
    const p: MatmulParams = { ...shape, ...PLAIN_EPILOGUE };
    const tuning = base.tuning;
    if (!tuning) throw new Error('matmul has no tuning candidates');
    const fits = matmulVec4Fits(p);
    const candidates: GpuKernel<MatmulParams>[] = [...tuning.candidates(p)];
    if (fits) {
      for (const [name, wgsl] of EXPERIMENTS)
        candidates.push(matmulKernel(name, { name: `${name}.wgsl`, code: wgsl }, { x: 8, y: 8 }));
    }
    const host = device.tuningHost();
    const bound = bindGpuKernel('matmul', base, p);
    const chosen = await chooseKernel(host, 'matmul', bound.tuning as BoundTuning, bound.kernel);
    const timed = candidates.map((kernel) => bindGpuKernel('matmul', kernel, p).kernel);
    const ms = await timeCandidates(host, 'matmul', timed, tuning.scratch(p), ROUNDS);
    const times = Object.fromEntries(
      candidates.map((kernel, i) => [kernel.variant ?? String(i), ms[i] as number]),
    );
    const [best, bestMs] = Object.entries(times).reduce((a, b) => (b[1] < a[1] ? b : a));
    const chosenMs = times[chosen.variant ?? ''] ?? Number.NaN;
    const row = {
      shape: shape.label,
      times,
      best,
      bestGflops: (2 * p.M * p.N * p.K) / (bestMs * 1e6),
      chosen: chosen.variant ?? '',
      chosenOverBest: chosenMs / bestMs,
    };
    log(
      `  explore ${row.shape}: best ${best} ${row.bestGflops.toFixed(2)} GFLOP/s, chosen ${row.chosen} ×${row.chosenOverBest.toFixed(3)}`,
    );
    rows.push(row);
  }
  return rows;
}
