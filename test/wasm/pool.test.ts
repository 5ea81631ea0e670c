/**
 * The Wasm thread pool (src/wasm/pool.ts) on Node's worker threads, with a small test module written
 * in the WebAssembly text format (assembled by binaryen, which AssemblyScript brings): the same memory
 * for 1, 2 and 3 threads, calls ordered by barriers, queued runs in order, traps and dispose rejecting
 * without hanging, and a Node process that exits by itself. The per-run and per-barrier overhead is a
 * benchmark: `npx vite-node bench/wasm/pool-overhead.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maximumPages, simd } from 'virtual:wasm-kernels';
import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { ArgumentError, DropgpuError } from '../../src/errors.js';
import {
  createWasmPool,
  sharedMemoryAvailable,
  type WasmPool,
  WasmWorkerError,
} from '../../src/wasm/pool.js';

/**
 * Kernels with the backend's signature (block, step, part, parts). Part p of n owns elements
 * [len·p/n, len·(p+1)/n), as a real kernel would.
 * - fill, block [out, len]: out[i] = 3i + step[0].
 * - mirror, block [src, dst, len]: dst[i] = 3·dst[i] + src[len-1-i] + 1 (reads other parts' elements).
 * - mark, block [out]: out[part] = 1000·parts + part.
 * - record, block [count, log…]: part 0 appends step[0] to the log.
 * - trap: the last part executes `unreachable`. oob: part 0 loads out of bounds. noop: nothing.
 */
const WAT = `(module
  (import "env" "memory" (memory 1 65536 shared))
  (func $start (param $len i32) (param $part i32) (param $parts i32) (result i32)
    (i32.div_u (i32.mul (local.get $len) (local.get $part)) (local.get $parts)))
  (func (export "noop") (param i32 i32 i32 i32))
  (func (export "fill") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (local $out i32) (local $len i32) (local $i i32) (local $end i32)
    (local.set $out (i32.load (local.get $block)))
    (local.set $len (i32.load offset=4 (local.get $block)))
    (local.set $i (call $start (local.get $len) (local.get $part) (local.get $parts)))
    (local.set $end (call $start (local.get $len) (i32.add (local.get $part) (i32.const 1)) (local.get $parts)))
    (block $exit (loop $next
      (br_if $exit (i32.ge_u (local.get $i) (local.get $end)))
      (i32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
        (i32.add (i32.mul (local.get $i) (i32.const 3)) (i32.load (local.get $step))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "mirror") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (local $src i32) (local $dst i32) (local $len i32) (local $i i32) (local $end i32) (local $at i32)
    (local.set $src (i32.load (local.get $block)))
    (local.set $dst (i32.load offset=4 (local.get $block)))
    (local.set $len (i32.load offset=8 (local.get $block)))
    (local.set $i (call $start (local.get $len) (local.get $part) (local.get $parts)))
    (local.set $end (call $start (local.get $len) (i32.add (local.get $part) (i32.const 1)) (local.get $parts)))
    (block $exit (loop $next
      (br_if $exit (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $at (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))))
      (i32.store (local.get $at)
        (i32.add
          (i32.add (i32.mul (i32.load (local.get $at)) (i32.const 3)) (i32.const 1))
          (i32.load (i32.add (local.get $src)
            (i32.shl (i32.sub (i32.sub (local.get $len) (i32.const 1)) (local.get $i)) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "mark") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (i32.store (i32.add (i32.load (local.get $block)) (i32.shl (local.get $part) (i32.const 2)))
      (i32.add (i32.mul (local.get $parts) (i32.const 1000)) (local.get $part))))
  (func (export "record") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (local $count i32)
    (if (i32.eqz (local.get $part)) (then
      (local.set $count (i32.load (local.get $block)))
      (i32.store offset=4 (i32.add (local.get $block) (i32.shl (local.get $count) (i32.const 2)))
        (i32.load (local.get $step)))
      (i32.store (local.get $block) (i32.add (local.get $count) (i32.const 1))))))
  (func (export "trap") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (if (i32.eq (local.get $part) (i32.sub (local.get $parts) (i32.const 1))) (then unreachable)))
  (func (export "oob") (param $block i32) (param $step i32) (param $part i32) (param $parts i32)
    (if (i32.eqz (local.get $part)) (then (drop (i32.load (i32.const -16))))))
)`;

const NAMES = ['noop', 'fill', 'mirror', 'mark', 'record', 'trap', 'oob'] as const;
const K = Object.fromEntries(NAMES.map((name, index) => [name, index])) as Record<
  (typeof NAMES)[number],
  number
>;

function assemble(): Uint8Array<ArrayBuffer> {
  const module = binaryen.parseText(WAT);
  try {
    module.setFeatures(binaryen.Features.All);
    if (!module.validate()) throw new Error('test module does not validate');
    return new Uint8Array(module.emitBinary());
  } finally {
    module.dispose();
  }
}

const binary = assemble();
const testModule = new WebAssembly.Module(binary);

function sharedMemory(pages = 4): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: pages, maximum: maximumPages, shared: true });
}

async function withPool<T>(threads: number, body: (pool: WasmPool) => Promise<T>, memory = sharedMemory()) {
  const pool = await createWasmPool({ module: testModule, memory, exportNames: NAMES, threads });
  try {
    return await body(pool);
  } finally {
    pool.dispose();
  }
}

const words = (memory: WebAssembly.Memory, at: number, length: number) =>
  new Uint32Array(memory.buffer, at, length);

// Layout of the two-phase program: blocks at 1024…, step at 512, arrays A and B.
const LEN = 30_001;
const A = 4096;
const B = A + LEN * 4 + 64;
const STEP = 512;
const FILL = 1024;
const A_TO_B = 1040;
const B_TO_A = 1056;
const MARK = 1072;
const MARKS = 1088;

/** fill A, then `rounds` × (mirror A→B, mirror B→A), then mark: every call reads the previous one's writes. */
function program(rounds: number): Int32Array {
  const calls = [K.fill, FILL];
  for (let r = 0; r < rounds; r++) calls.push(K.mirror, A_TO_B, K.mirror, B_TO_A);
  calls.push(K.mark, MARK);
  return Int32Array.from(calls);
}

function setUp(memory: WebAssembly.Memory, step: number): void {
  const m = words(memory, 0, memory.buffer.byteLength / 4);
  m.set([A, LEN], FILL / 4);
  m.set([A, B, LEN], A_TO_B / 4);
  m.set([B, A, LEN], B_TO_A / 4);
  m.set([MARKS], MARK / 4);
  m[STEP / 4] = step;
}

/** The program's result computed in JS: A and B after `runs` runs of `rounds` rounds. */
function reference(rounds: number, step: number, runs = 1): [Uint32Array, Uint32Array] {
  const a = new Uint32Array(LEN);
  const b = new Uint32Array(LEN);
  const mirror = (src: Uint32Array, dst: Uint32Array) => {
    for (let i = 0; i < LEN; i++) dst[i] = Math.imul(dst[i] as number, 3) + 1 + (src[LEN - 1 - i] as number);
  };
  for (let run = 0; run < runs; run++) {
    for (let i = 0; i < LEN; i++) a[i] = i * 3 + step;
    for (let r = 0; r < rounds; r++) {
      mirror(a, b);
      mirror(b, a);
    }
  }
  return [a, b];
}

describe('createWasmPool', () => {
  it('has shared memory in Node', () => {
    expect(sharedMemoryAvailable()).toBe(true);
  });

  it('gives the same memory for 1, 2 and 3 threads, with every call seeing the previous call', async () => {
    const rounds = 8;
    const [a, b] = reference(rounds, 7);
    for (const threads of [1, 2, 3]) {
      const memory = sharedMemory();
      setUp(memory, 7);
      await withPool(
        threads,
        async (pool) => {
          expect(pool.threads).toBe(threads);
          expect(pool.memory).toBe(memory);
          await pool.run(program(rounds), STEP);
        },
        memory,
      );
      expect(words(memory, A, LEN), `threads ${threads}`).toEqual(a);
      expect(words(memory, B, LEN), `threads ${threads}`).toEqual(b);
      // Part p ran as part p of `threads`, once per part.
      expect([...words(memory, MARKS, 4)]).toEqual(
        Array.from({ length: 4 }, (_, p) => (p < threads ? threads * 1000 + p : 0)),
      );
    }
  });

  it('orders calls: a later call sees every part of an earlier one, run after run', async () => {
    const memory = sharedMemory();
    setUp(memory, 0);
    await withPool(
      3,
      async (pool) => {
        const calls = Int32Array.from([K.fill, FILL, K.mirror, A_TO_B]);
        const b = new Uint32Array(LEN);
        for (let run = 0; run < 20; run++) {
          words(memory, STEP, 1)[0] = run;
          await pool.run(calls, STEP);
          // B accumulates: any part reading a stale A would show here.
          for (let i = 0; i < LEN; i++) b[i] = Math.imul(b[i] as number, 3) + 1 + (LEN - 1 - i) * 3 + run;
          expect(words(memory, B, LEN)).toEqual(b);
        }
      },
      memory,
    );
  });

  it('executes queued runs in call order, through ring wrap-around and growth', {
    timeout: 30_000,
  }, async () => {
    const memory = sharedMemory(8);
    const log = 8192;
    const runs = 300;
    const m = words(memory, 0, memory.buffer.byteLength / 4);
    for (let k = 0; k < runs; k++) m[(65536 + 4 * k) / 4] = k;
    await withPool(
      2,
      async (pool) => {
        const promises: Promise<void>[] = [];
        const order: number[] = [];
        for (let k = 0; k < runs; k++) {
          // Mostly short runs, some long ones (many noops, more than the ring holds at first).
          const noops = k % 100 === 99 ? 10_000 : k % 7;
          const calls = new Int32Array(2 + 2 * noops);
          calls.set([K.record, log]);
          const promise = pool.run(calls, 65536 + 4 * k);
          calls.fill(-1); // the pool must not depend on the caller's array after run() returns
          promises.push(promise.then(() => void order.push(k)));
        }
        await Promise.all(promises);
        expect(order).toEqual(Array.from({ length: runs }, (_, k) => k));
      },
      memory,
    );
    expect(m[log / 4]).toBe(runs);
    expect([...m.subarray(log / 4 + 1, log / 4 + 1 + runs)]).toEqual(
      Array.from({ length: runs }, (_, k) => k),
    );
  });

  it('learns of completed runs by message where Atomics.waitAsync is missing', async () => {
    const atomics = Atomics as unknown as { waitAsync?: unknown };
    const waitAsync = atomics.waitAsync;
    const memory = sharedMemory();
    setUp(memory, 3);
    let pool: WasmPool;
    try {
      delete atomics.waitAsync;
      pool = await createWasmPool({ module: testModule, memory, exportNames: NAMES, threads: 2 });
    } finally {
      atomics.waitAsync = waitAsync;
    }
    try {
      await Promise.all(Array.from({ length: 50 }, () => pool.run(program(2), STEP)));
      const [a, b] = reference(2, 3, 50);
      expect(words(memory, A, LEN)).toEqual(a);
      expect(words(memory, B, LEN)).toEqual(b);
    } finally {
      pool.dispose();
    }
  });

  it('rejects an invalid call list without failing the pool', async () => {
    await withPool(2, async (pool) => {
      await expect(pool.run(Int32Array.from([NAMES.length, 0]), 0)).rejects.toBeInstanceOf(ArgumentError);
      await expect(pool.run(Int32Array.from([0]), 0)).rejects.toBeInstanceOf(ArgumentError);
      await pool.run(Int32Array.from([K.noop, 0]), 0);
    });
  });

  for (const threads of [1, 2, 3]) {
    for (const kernel of ['trap', 'oob'] as const) {
      it(`rejects a run whose kernel traps (${kernel}, ${threads} threads), and every later run`, async () => {
        const memory = sharedMemory();
        setUp(memory, 0);
        await withPool(
          threads,
          async (pool) => {
            await pool.run(program(1), STEP);
            const failing = pool.run(Int32Array.from([K.fill, FILL, K[kernel], 0, K.mirror, A_TO_B]), STEP);
            const queued = pool.run(program(1), STEP);
            const error = await failing.catch((e: unknown) => e);
            expect(error).toBeInstanceOf(WasmWorkerError);
            expect(error).toBeInstanceOf(DropgpuError);
            expect((error as WasmWorkerError).message).toMatch(/^Wasm backend: kernel (trap|oob) \(call 1/);
            expect((error as WasmWorkerError).message).toMatch(
              kernel === 'trap' ? /unreachable/ : /out of bounds/,
            );
            expect((error as WasmWorkerError).exportName).toBe(kernel);
            await expect(queued).rejects.toBe(error);
            await expect(pool.run(program(1), STEP)).rejects.toBe(error);
          },
          memory,
        );
      });
    }
  }

  it('rejects pending and later runs after dispose', async () => {
    const memory = sharedMemory();
    setUp(memory, 0);
    for (const threads of [1, 2]) {
      const pool = await createWasmPool({ module: testModule, memory, exportNames: NAMES, threads });
      await pool.run(program(1), STEP);
      const pending = Array.from({ length: 5 }, () => pool.run(program(20), STEP));
      pool.dispose();
      if (threads > 1) {
        for (const run of pending) await expect(run).rejects.toBeInstanceOf(WasmWorkerError);
      }
      await expect(pool.run(program(1), STEP)).rejects.toThrow(
        /^Wasm backend: the thread pool has been disposed/,
      );
      pool.dispose(); // twice is fine
    }
  });

  it('fails to create a pool whose module lacks an export', async () => {
    for (const threads of [1, 2]) {
      await expect(
        createWasmPool({ module: testModule, memory: sharedMemory(), exportNames: ['nothing'], threads }),
      ).rejects.toThrow(/^Wasm backend: .*no function nothing/);
    }
  });

  it('runs the library kernels module on workers', async () => {
    const module = await WebAssembly.compile(Uint8Array.from(atob(simd), (c) => c.charCodeAt(0)));
    const memory = sharedMemory(1);
    const pool = await createWasmPool({ module, memory, exportNames: ['philox_test'], threads: 2 });
    await pool.run(new Int32Array(0), 0);
    pool.dispose();
  });

  it('lets a Node process exit by itself, with or without dispose', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dropgpu-pool-'));
    const pool = fileURLToPath(new URL('../../src/wasm/pool.ts', import.meta.url));
    const root = fileURLToPath(new URL('../..', import.meta.url));
    try {
      for (const dispose of [true, false]) {
        const script = join(dir, `exit-${dispose}.ts`);
        writeFileSync(
          script,
          [
            `import { createWasmPool } from ${JSON.stringify(pool)};`,
            `const bytes = Uint8Array.from(atob(${JSON.stringify(Buffer.from(binary).toString('base64'))}), (c) => c.charCodeAt(0));`,
            'const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });',
            'new Int32Array(memory.buffer)[256] = 2048;',
            `const pool = await createWasmPool({ module: await WebAssembly.compile(bytes), memory, exportNames: ${JSON.stringify(NAMES)}, threads: 2 });`,
            `await pool.run(Int32Array.from([${K.mark}, 1024]), 0);`,
            "console.log('ran', new Int32Array(memory.buffer, 2048, 2).join());",
            dispose ? 'pool.dispose();' : '',
          ].join('\n'),
        );
        const child = spawn(join(root, 'node_modules/.bin/vite-node'), [script], { cwd: root });
        let output = '';
        let ranAt = 0;
        child.stdout.on('data', (data: Buffer) => {
          output += data.toString();
          if (ranAt === 0 && output.includes('ran')) ranAt = performance.now();
        });
        child.stderr.on('data', (data: Buffer) => {
          output += data.toString();
        });
        const code = await new Promise<number | null>((resolve) => {
          // A worker left referenced keeps the process alive: killed, it exits with no code.
          const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
          child.on('exit', (exitCode) => {
            clearTimeout(timer);
            resolve(exitCode);
          });
        });
        const exitMs = performance.now() - ranAt;
        expect(output, output).toContain('ran 2000,2001');
        expect(code, output).toBe(0);
        console.info(`exit ${exitMs.toFixed(0)} ms after the run (dispose: ${dispose})`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
