/**
 * The Wasm thread pool (src/wasm/pool.ts) in headless Chromium: Web Workers created from a Blob URL.
 * Workers need shared memory, which browsers give only to cross-origin-isolated pages (COOP/COEP
 * headers); where the test page is not isolated, only the inline (threads = 1) path is tested.
 */
import { describe, expect, it } from 'vitest';
import { createWasmPool, sharedMemoryAvailable, WasmWorkerError } from '../../src/wasm/pool.js';

/**
 * A small module, assembled from this text by binaryen (as in test/wasm/pool.test.ts) and inlined so
 * that the browser needs no assembler:
 *
 *   (import "env" "memory" (memory 1 65536 shared))
 *   ;; block [out]: out[part] = 1000·parts + part
 *   (func (export "mark") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
 *     (i32.store (i32.add (i32.load (local.get $block)) (i32.shl (local.get $part) (i32.const 2)))
 *       (i32.add (i32.mul (local.get $parts) (i32.const 1000)) (local.get $part))))
 *   ;; block [out, shift]: e = (part + shift) mod parts; out[e] = 3·out[e] + part + 1
 *   (func (export "bump") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
 *     (local $at i32)
 *     (local.set $at (i32.add (i32.load (local.get $block))
 *       (i32.shl (i32.rem_u (i32.add (local.get $part) (i32.load offset=4 (local.get $block)))
 *         (local.get $parts)) (i32.const 2))))
 *     (i32.store (local.get $at)
 *       (i32.add (i32.mul (i32.load (local.get $at)) (i32.const 3)) (i32.add (local.get $part) (i32.const 1)))))
 *   (func (export "trap") (param i32 i32 i32 i32) unreachable)
 */
const MODULE =
  'AGFzbQEAAAABCAFgBH9/f38AAhIBA2VudgZtZW1vcnkCAwGAgAQDBAMAAAAHFgMEbWFyawAABGJ1bXAAAQR0cmFwAAIKTQMZACAAKAIAIAJBAnRqIANB6AdsIAJqNgIACy0BAX8gACgCACACIAAoAgRqIANwQQJ0aiEEIAQgBCgCAEEDbCACQQFqajYCAAsDAAAL';
const NAMES = ['mark', 'bump', 'trap'];
const OUT = 4096;
const MARKS = 8192;

const module = new WebAssembly.Module(Uint8Array.from(atob(MODULE), (c) => c.charCodeAt(0)));
const isolated = sharedMemoryAvailable();

/** Memory with blocks for `mark` (at 0) and `bump` with shift s (at 16 + 16s). */
function setUp(): WebAssembly.Memory {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const m = new Int32Array(memory.buffer);
  m[0] = MARKS;
  for (let s = 0; s < 64; s++) m.set([OUT, s], (16 + 16 * s) / 4);
  return memory;
}

/** `rounds` bumps with shifts 0, 1, …, then a mark: element e is updated by a different part each call. */
function calls(rounds: number): Int32Array {
  const list = [];
  for (let s = 0; s < rounds; s++) list.push(1, 16 + 16 * s);
  list.push(0, 0);
  return Int32Array.from(list);
}

function expected(rounds: number, parts: number): number[] {
  const out = new Array<number>(parts).fill(0);
  for (let s = 0; s < rounds; s++) {
    for (let p = 0; p < parts; p++) {
      const e = (p + s) % parts;
      out[e] = (Math.imul(out[e] as number, 3) + p + 1) >>> 0;
    }
  }
  return out;
}

describe('createWasmPool in a browser', () => {
  it('reports whether the page may share memory', () => {
    // Logged so that a run shows which paths it covered.
    console.log(
      `crossOriginIsolated: ${String(globalThis.crossOriginIsolated)}; workers tested: ${isolated}`,
    );
    expect(sharedMemoryAvailable()).toBe(typeof SharedArrayBuffer !== 'undefined' && crossOriginIsolated);
  });

  it('runs inline with threads = 1', async () => {
    const memory = setUp();
    const pool = await createWasmPool({ module, memory, exportNames: NAMES, threads: 1 });
    await pool.run(calls(20), 0);
    expect([...new Uint32Array(memory.buffer, OUT, 1)]).toEqual(expected(20, 1));
    expect(new Int32Array(memory.buffer, MARKS, 1)[0]).toBe(1000);
    await expect(pool.run(Int32Array.from([2, 0]), 0)).rejects.toBeInstanceOf(WasmWorkerError);
    pool.dispose();
  });

  describe.skipIf(!isolated)('on Web Workers', () => {
    it('runs every part on its own worker, calls in order, queued runs in order', async () => {
      for (const threads of [2, 3, 4]) {
        const memory = setUp();
        const pool = await createWasmPool({ module, memory, exportNames: NAMES, threads });
        await Promise.all(Array.from({ length: 10 }, () => pool.run(calls(40), 0)));
        // Ten runs of 40 bumps are 400 bumps with shifts 0…39 repeated: the same as in one sequence.
        const reference = new Array<number>(threads).fill(0);
        for (let run = 0; run < 10; run++) {
          for (let s = 0; s < 40; s++) {
            for (let p = 0; p < threads; p++) {
              const e = (p + s) % threads;
              reference[e] = (Math.imul(reference[e] as number, 3) + p + 1) >>> 0;
            }
          }
        }
        expect([...new Uint32Array(memory.buffer, OUT, threads)]).toEqual(reference);
        expect([...new Int32Array(memory.buffer, MARKS, threads)]).toEqual(
          Array.from({ length: threads }, (_, p) => 1000 * threads + p),
        );
        pool.dispose();
      }
    });

    it('rejects a trapping run and every later one, without hanging', async () => {
      const memory = setUp();
      const pool = await createWasmPool({ module, memory, exportNames: NAMES, threads: 2 });
      const failing = pool.run(Int32Array.from([1, 16, 2, 0, 1, 32]), 0);
      const later = pool.run(calls(1), 0);
      await expect(failing).rejects.toThrow(
        /^Wasm backend: kernel trap \(call 1, part \d of 2\) failed: .*unreachable/,
      );
      await expect(later).rejects.toBeInstanceOf(WasmWorkerError);
      pool.dispose();
    });
  });
});
