/**
 * Timing for the Wasm benchmarks on a noisy machine: best of many short runs, each measured as the
 * smaller of wall time and this process's CPU time (a run preempted by another process costs wall
 * time it did not use). Node runs the kernels on this one thread, so CPU time is the kernel's.
 */

/** Milliseconds of the fastest of `reps` calls of `run` (after `warmup` untimed calls). */
export function bestMs(run: () => void, reps: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) run();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    run();
    const wall = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    // CPU time has a coarse clock on some systems: trust it only for runs long enough to resolve.
    best = Math.min(best, wall > 5 && cpuMs > 0 ? Math.min(wall, cpuMs) : wall);
  }
  return best;
}

/** Repetitions that fit in about `budgetMs` for a run of `oneMs`, at least `min`, at most `max`. */
export function repsFor(oneMs: number, budgetMs: number, min = 5, max = 200): number {
  return Math.max(min, Math.min(max, Math.round(budgetMs / Math.max(oneMs, 0.01))));
}

/** bestMs for an async `run` (awaited inside the timed span). */
export async function bestMsAsync(run: () => Promise<void>, reps: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    await run();
    const wall = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    best = Math.min(best, wall > 5 && cpuMs > 0 ? Math.min(wall, cpuMs) : wall);
  }
  return best;
}
