/**
 * Node-side reporting for bench/peers (both modes): pools every page's (or turn's) rates per side and
 * row, and prints one table row per benchmark row with each side's best and median over all timed
 * runs and the ratio of each dropgpu column to jax-js (> 1: dropgpu is faster). Best is the headline
 * on a shared 2-core machine, where a run can only be slowed by others, never sped up.
 */
import { fmt, median, type Row, type RowResult, unitOf } from './common.js';

/** One column of the table: a side as run (e.g. "dropgpu", "dropgpu threads: 1", "jax-js"). */
export interface Column {
  readonly name: string;
  /** Results per row id, pooled over rounds. */
  readonly rows: Map<string, { samples: number[]; on: Set<string>; skipped: Set<string> }>;
}

export function column(name: string): Column {
  return { name, rows: new Map() };
}

export function add(column: Column, results: readonly RowResult[]): void {
  for (const result of results) {
    const entry = column.rows.get(result.id) ?? { samples: [], on: new Set(), skipped: new Set() };
    entry.samples.push(...(result.samples ?? []));
    if (result.on) entry.on.add(result.on);
    if (result.skipped) entry.skipped.add(result.skipped);
    column.rows.set(result.id, entry);
  }
}

export interface Summary {
  readonly best: number;
  readonly median: number;
  readonly runs: number;
}

export function summarize(column: Column, id: string): Summary | undefined {
  const samples = column.rows.get(id)?.samples ?? [];
  if (samples.length === 0) return undefined;
  return { best: Math.max(...samples), median: median(samples), runs: samples.length };
}

/** The table; `reference` names the column that ratios divide by (jax-js). */
export function formatTable(rows: readonly Row[], columns: readonly Column[], reference: string): string {
  const ref = columns.find((c) => c.name === reference);
  const others = columns.filter((c) => c !== ref);
  const header = [
    'row',
    'unit',
    ...columns.map((c) => `${c.name} best / median`),
    ...(ref ? others.map((c) => `${c.name} / ${reference} (best, median)`) : []),
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const cells = [row.label, unitOf(row)];
    for (const c of columns) {
      const s = summarize(c, row.id);
      const skipped = [...(c.rows.get(row.id)?.skipped ?? [])][0];
      cells.push(s ? `${fmt(s.best)} / ${fmt(s.median)} (×${s.runs})` : `— ${skipped ?? 'not run'}`);
    }
    if (ref) {
      const r = summarize(ref, row.id);
      for (const c of others) {
        const s = summarize(c, row.id);
        cells.push(s && r ? `**${fmt(s.best / r.best)}×**, ${fmt(s.median / r.median)}×` : '—');
      }
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * The matmul rows against the ceiling measured in the same rounds (bench/peers/ceiling.ts): the
 * ceiling's median, each column's median as a fraction of it, and what 1.5× `reference` would be as
 * a fraction of it (above 100%: no kernel can reach 1.5× the reference on this machine).
 */
export function formatCeilingTable(
  rows: readonly Row[],
  columns: readonly Column[],
  ceiling: Column,
  reference: string,
): string {
  const ref = columns.find((c) => c.name === reference);
  const header = [
    'row',
    'ceiling best / median GFLOP/s',
    ...columns.map((c) => `${c.name} median / ceiling`),
    ...(ref ? [`1.5 × ${reference} median / ceiling`] : []),
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  const percent = (x: number) => `${Math.round(x * 100)}%`;
  for (const row of rows) {
    const top = summarize(ceiling, row.id);
    if (row.kind !== 'matmul' || !top) continue;
    const cells = [row.label, `${fmt(top.best)} / ${fmt(top.median)}`];
    for (const c of columns) {
      const s = summarize(c, row.id);
      cells.push(s ? percent(s.median / top.median) : '—');
    }
    if (ref) {
      const r = summarize(ref, row.id);
      cells.push(r ? percent((1.5 * r.median) / top.median) : '—');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** What each column ran its rows on (thread counts, adapter), one line per distinct description. */
export function formatRanOn(columns: readonly Column[]): string {
  return columns
    .map((c) => {
      const on = new Set<string>();
      for (const entry of c.rows.values()) for (const what of entry.on) on.add(what);
      return `${c.name}: ${[...on].join('; ') || 'nothing ran'}`;
    })
    .join('\n');
}

/** The pooled record of a column, for the JSON file. */
export function columnRecord(column: Column): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [id, entry] of column.rows) {
    const s = summarize(column, id);
    out[id] = {
      ...(s ?? {}),
      samples: entry.samples,
      on: [...entry.on],
      ...(entry.skipped.size > 0 ? { skipped: [...entry.skipped] } : {}),
    };
  }
  return out;
}
