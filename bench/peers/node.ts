/**
 * `npm run bench:peers:node [-- --quick] [--rounds=N]`: dropgpu's Wasm backend against jax-js's Wasm
 * device in one Node process, on the rows of bench/peers/common.ts minus WebGPU. jax-js runs one
 * thread here (its worker pool needs a global `Worker`, which Node lacks); dropgpu runs its default
 * (worker_threads, one per core) and, for an equal-threads comparison, `threads: 1`. Every row runs
 * the three in alternating order, round after round, each set up afresh (untimed) and freed before
 * the next, so a slow phase of the machine lands on all of them. Prints the table and writes
 * bench/results/peers-node[-quick]-<timestamp>.json. Never run by CI or `npm test`.
 */
import { availableParallelism } from 'node:os';
import { packageVersion, writeRecord } from '../report.js';
import { buildRows, type Prepare, runRows } from './common.js';
import { dropgpuSide } from './dropgpu-train.js';
import { jaxWasmThreads, prepareJax } from './jax-train.js';
import { add, type Column, column, columnRecord, formatRanOn, formatTable } from './report.js';

const argv = process.argv.slice(2);
const unknown = argv.filter((arg) => arg !== '--quick' && !/^--rounds=\d+$/.test(arg));
if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(' ')}; have --quick, --rounds=N`);
const quick = argv.includes('--quick');
const rounds = Number(argv.find((arg) => arg.startsWith('--rounds='))?.slice(9) ?? (quick ? 2 : 3));

const rows = buildRows({ quick, webgpu: false });
const ours = dropgpuSide();
const oursOne = dropgpuSide({ threads: 1 });
const sides: { column: Column; prepare: Prepare }[] = [
  { column: column('dropgpu'), prepare: ours.prepare },
  { column: column('dropgpu threads: 1'), prepare: oursOne.prepare },
  { column: column('jax-js'), prepare: prepareJax },
];
const started = Date.now();
console.log(
  `Node ${process.versions.node}, ${availableParallelism()} cores; jax-js wasm runs ${jaxWasmThreads()} thread(s) here`,
);
try {
  for (const row of rows) {
    console.log(row.label);
    for (let round = 0; round < rounds; round++) {
      // Rotate who goes first, so no side always runs right after the same other one.
      const order = sides.map((_, i) => sides[(i + round) % sides.length] as (typeof sides)[number]);
      for (const side of order) add(side.column, await runRows([row], side.prepare, console.log));
    }
  }
} finally {
  ours.dispose();
  oursOne.dispose();
}

const columns = sides.map((s) => s.column);
const record = {
  mode: 'node',
  quick,
  rounds,
  runtime: `Node ${process.versions.node}`,
  cores: availableParallelism(),
  versions: {
    dropgpu: packageVersion('package.json'),
    'jax-js': packageVersion('node_modules/@jax-js/jax/package.json'),
  },
  rows,
  columns: Object.fromEntries(columns.map((c) => [c.name, columnRecord(c)])),
  seconds: Math.round((Date.now() - started) / 1000),
  date: new Date().toISOString(),
};
console.log(
  `\nbench:peers:node${quick ? ' (quick)' : ''} — Node ${process.versions.node}, ${record.cores} cores — dropgpu ${record.versions.dropgpu}, jax-js ${record.versions['jax-js']} — ${rounds} rounds — ${record.seconds} s\n`,
);
console.log(formatRanOn(columns));
console.log(`\n${formatTable(rows, columns, 'jax-js')}`);
console.log(`\nwrote ${writeRecord(quick ? 'peers-node-quick' : 'peers-node', record)}`);
// dropgpu's idle workers do not hold the process, but exit explicitly in case a failed row left one busy.
process.exit(0);
