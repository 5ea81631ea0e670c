/**
 * Parts claimed dynamically on the Wasm pool (src/wasm/pool.ts): a call runs as the parts its caller
 * gives, each exactly once, whatever the thread count and whichever worker claims which part; parts
 * marked small run on one thread (a run of them alone on the calling thread). Parts whose costs differ
 * widely make the claim order differ from run to run, which the memory must not show.
 */
import { maximumPages } from 'virtual:wasm-kernels';
import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { createWasmPool } from '../../src/wasm/pool.js';

/**
 * - fill, block [out, len]: part p of n sets its share of out[i] to 3i + 1, after spinning (n − p)·2¹⁶
 *   iterations, so early parts finish last and the claims interleave differently run to run.
 * - mark, block [out]: out[part] += 1000·parts + part (atomically: a part run twice shows).
 * - sum, block [src, len, dst]: part 0 sums src in order into dst (a fixed-order reduction).
 * - ticket, block [counter, log]: log[part] = the order in which the part was claimed.
 */
const WAT = `(module
  (import "env" "memory" (memory 1 65536 shared))
  (func $start (param $len i32) (param $part i32) (param $parts i32) (result i32)
    (i32.div_u (i32.mul (local.get $len) (local.get $part)) (local.get $parts)))
  (func (export "fill") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (local $i i32) (local $end i32) (local $spin i32)
    (local.set $spin (i32.shl (i32.sub (local.get $parts) (local.get $part)) (i32.const 16)))
    (block $done (loop $wait
      (br_if $done (i32.eqz (local.get $spin)))
      (local.set $spin (i32.sub (local.get $spin) (i32.const 1)))
      (br $wait)))
    (local.set $i (call $start (i32.load offset=4 (local.get $block)) (local.get $part) (local.get $parts)))
    (local.set $end (call $start (i32.load offset=4 (local.get $block))
      (i32.add (local.get $part) (i32.const 1)) (local.get $parts)))
    (block $exit (loop $next
      (br_if $exit (i32.ge_u (local.get $i) (local.get $end)))
      (i32.store (i32.add (i32.load (local.get $block)) (i32.shl (local.get $i) (i32.const 2)))
        (i32.add (i32.mul (local.get $i) (i32.const 3)) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "mark") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (drop (i32.atomic.rmw.add (i32.add (i32.load (local.get $block)) (i32.shl (local.get $part) (i32.const 2)))
      (i32.add (i32.mul (local.get $parts) (i32.const 1000)) (local.get $part)))))
  (func (export "sum") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (local $i i32) (local $total i32)
    (if (i32.eqz (local.get $part)) (then
      (block $exit (loop $next
        (br_if $exit (i32.ge_u (local.get $i) (i32.load offset=4 (local.get $block))))
        (local.set $total (i32.add (i32.mul (local.get $total) (i32.const 31))
          (i32.load (i32.add (i32.load (local.get $block)) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      (i32.store (i32.load offset=8 (local.get $block)) (local.get $total)))))
  (func (export "ticket") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (i32.store (i32.add (i32.load offset=4 (local.get $block)) (i32.shl (local.get $part) (i32.const 2)))
      (i32.atomic.rmw.add (i32.load (local.get $block)) (i32.const 1))))
)`;

const NAMES = ['fill', 'mark', 'sum', 'ticket'];
const [FILL, MARK, SUM, TICKET] = [0, 1, 2, 3];

function assemble(): WebAssembly.Module {
  const module = binaryen.parseText(WAT);
  try {
    module.setFeatures(binaryen.Features.All);
    if (!module.validate()) throw new Error('test module does not validate');
    return new WebAssembly.Module(new Uint8Array(module.emitBinary()));
  } finally {
    module.dispose();
  }
}

const testModule = assemble();
const LEN = 4099;
const OUT = 4096;
const MARKS = 1024;
const TOTAL = 2000;
const COUNTER = 2004;
const LOG = 2048;
const BLOCKS = { fill: 256, mark: 272, sum: 288, ticket: 304 };

/** Fill (n parts), sum (n parts), mark (m parts), ticket (n parts); returns the memory's words. */
async function runOnce(threads: number, n: number, m: number, runs: number) {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: maximumPages, shared: true });
  const w = new Uint32Array(memory.buffer);
  w.set([OUT, LEN], BLOCKS.fill / 4);
  w.set([MARKS], BLOCKS.mark / 4);
  w.set([OUT, LEN, TOTAL], BLOCKS.sum / 4);
  w.set([COUNTER, LOG], BLOCKS.ticket / 4);
  const pool = await createWasmPool({ module: testModule, memory, exportNames: NAMES, threads });
  const orders = new Set<string>();
  try {
    const calls = Int32Array.from([
      FILL,
      BLOCKS.fill,
      SUM,
      BLOCKS.sum,
      MARK,
      BLOCKS.mark,
      TICKET,
      BLOCKS.ticket,
    ]);
    for (let r = 0; r < runs; r++) {
      w[COUNTER / 4] = 0;
      await pool.run(calls, 0, Int32Array.from([n, n, m, n]));
      orders.add(Array.from(w.subarray(LOG / 4, LOG / 4 + Math.abs(n))).join());
    }
    await expect(pool.run(calls, 0, Int32Array.from([n]))).rejects.toBeInstanceOf(ArgumentError);
    await expect(pool.run(calls, 0, Int32Array.from([n, 0, 1, 1]))).rejects.toBeInstanceOf(ArgumentError);
  } finally {
    pool.dispose();
  }
  return {
    out: w.slice(OUT / 4, OUT / 4 + LEN),
    total: w[TOTAL / 4],
    marks: w.slice(MARKS / 4, MARKS / 4 + 20),
    orders,
  };
}

describe('Wasm pool parts', () => {
  it('runs every part once and gives the same memory whatever the threads and claim order', {
    timeout: 60_000,
  }, async () => {
    const expected = Uint32Array.from({ length: LEN }, (_, i) => 3 * i + 1);
    let total = 0;
    for (const v of expected) total = (Math.imul(total, 31) + v) >>> 0;
    for (const threads of [1, 2, 3]) {
      for (const [n, m] of [
        [7, 5],
        [16, 1],
        [-5, -3],
        [1, 7],
      ] as const) {
        const runs = 6;
        const got = await runOnce(threads, n, m, runs);
        const what = `threads ${threads}, parts ${n}/${m}`;
        expect(got.out, what).toEqual(expected);
        expect(got.total, what).toBe(total);
        const parts = Math.abs(m);
        expect([...got.marks], what).toEqual(
          Array.from({ length: 20 }, (_, p) => (p < parts ? runs * (1000 * parts + p) : 0)),
        );
        // Every claim order is a permutation of the parts (each claimed once).
        for (const order of got.orders) {
          expect(
            order
              .split(',')
              .map(Number)
              .sort((a, b) => a - b),
            what,
          ).toEqual(Array.from({ length: Math.abs(n) }, (_, p) => p));
        }
      }
    }
  });
});
