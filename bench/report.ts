/**
 * Node-side reporting shared by `npm run bench` and `npm run bench:node`: the results table (one row
 * per case, a column pair per library, and the ratio of the first library's median to the second's)
 * and the JSON record under bench/results/.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TuningRecord } from '../src/webgpu/autotune.js';
import type { ExploreRow } from './explore.js';
import { fmt, type Timing } from './measure.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function packageVersion(path: string): string {
  const json = JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as { version?: string };
  return json.version ?? 'unknown';
}

export interface CliOptions {
  readonly suites: string | undefined;
  readonly quick: boolean;
  /** `--no-autotune`: dropgpu runs its default kernels (WebGpuOptions.autotune = false). */
  readonly autotune: boolean;
}

const FLAGS = ['--quick', '--no-autotune'];

/** `[suite[,suite…]|all] [--quick] [--no-autotune]`, in any order. */
export function parseCli(argv: readonly string[]): CliOptions {
  const unknown = argv.filter((arg) => arg.startsWith('--') && !FLAGS.includes(arg));
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(' ')}; have ${FLAGS.join(', ')}`);
  return {
    suites: argv.find((arg) => !arg.startsWith('--')),
    quick: argv.includes('--quick'),
    autotune: !argv.includes('--no-autotune'),
  };
}

export function formatTable(timings: readonly Timing[]): string {
  const libraries = [...new Set(timings.map((t) => t.library))];
  const rows = new Map<string, Map<string, Timing>>();
  for (const t of timings) {
    const row = rows.get(t.name) ?? new Map<string, Timing>();
    row.set(t.library, t);
    rows.set(t.name, row);
  }
  const compare = libraries.length === 2;
  const header = ['benchmark', 'unit', ...libraries.map((l) => `${l} median (min–max)`)];
  if (compare) header.push(`${libraries[0]} / ${libraries[1]}`);
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const [name, row] of rows) {
    const first = row.values().next().value as Timing;
    const cells = [name, `${first.unit} ×${first.reps}`];
    for (const library of libraries) {
      const t = row.get(library);
      cells.push(t ? `${fmt(t.median)} (${fmt(t.min)}–${fmt(t.max)})` : '—');
    }
    if (compare) {
      const [a, b] = libraries.map((l) => row.get(l as string));
      cells.push(a && b ? `**${fmt(a.median / b.median)}×**` : '—');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The autotuner's timings (ms per dispatch of each candidate) and choice, one row per shape. */
export function formatTuning(records: readonly TuningRecord[]): string {
  if (records.length === 0) return 'autotune: nothing timed';
  const lines = [
    '| op | shape | chosen | ms per dispatch, each candidate (best marked *) |',
    '|---|---|---|---|',
  ];
  for (const record of records) {
    const cells = Object.entries(record.times)
      .map(([variant, ms]) => `${variant} ${fmt(ms)}${variant === record.chosen ? '*' : ''}`)
      .join(', ');
    lines.push(`| ${record.op} | ${record.key} | ${record.chosen} | ${cells} |`);
  }
  return lines.join('\n');
}

/** Per shape: every kernel's ms per dispatch, the fastest, and the library's choice against it. */
export function formatExplore(rows: readonly ExploreRow[]): string {
  const lines = [
    '| shape | fastest kernel (GFLOP/s) | library runs | its time / fastest | every kernel, ms per dispatch |',
    '|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const all = Object.entries(row.times)
      .map(([variant, ms]) => `${variant} ${fmt(ms)}`)
      .join(', ');
    lines.push(
      `| ${row.shape} | ${row.best} (${fmt(row.bestGflops)}) | ${row.chosen} | ${row.chosenOverBest.toFixed(3)} | ${all} |`,
    );
  }
  return lines.join('\n');
}

/** Writes the record to bench/results/<label>-<timestamp>.json and returns the path. */
export function writeRecord(label: string, record: object & { date: string }): string {
  const file = join(ROOT, 'bench', 'results', `${label}-${record.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
