/**
 * The Wasm device's own contracts: writes, runs and reads happen in call order (a write made while a
 * run is queued lands after it), memory is accounted and returned, a kernel that traps fails the
 * backend with a typed error naming it (and every later call refuses), and a disposed backend refuses.
 */
import { describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend.js';
import type { BoundOp, ProgramStep } from '../../src/device/device.js';
import { DisposedError, mlp, WasmWorkerError } from '../../src/index.js';
import { plainStep } from '../../src/ir/ir.js';
import type { WasmBuffer } from '../../src/wasm/device.js';
import { openWasm } from '../../src/wasm/open.js';

/** A node running wasm/ export `phase` with the given buffers bound and parameter words. */
function step(phase: string, buffers: WasmBuffer[], params: number[]): ProgramStep<WasmBuffer> {
  const op: BoundOp = {
    name: 'add',
    reference: () => {},
    tolerance: { atol: 0, rtol: 0 },
    gpu: undefined as unknown as BoundOp['gpu'],
    gpuTuning: undefined,
    wasm: { phases: [phase], bindings: buffers.map((_, i) => ['in', i] as const), params, scratch: () => 0 },
  };
  return {
    node: { op: 'add', name: phase, inputs: [], outputs: [], attrs: {} },
    op,
    inputs: buffers,
    outputs: [],
  };
}

describe.each([1, 2])('Wasm device, %i thread(s)', (threads) => {
  it('orders writes, runs and reads as they were called', async () => {
    const device = await openWasm({ threads });
    const [a, b, out] = ['a', 'b', 'out'].map((name) => device.createBuffer(name, 'f32', 5)) as WasmBuffer[];
    // add: out = a + b over 5 elements (wasm/add.ts: bindings a, b, out; params: length).
    const program = await device.createProgram(
      'add',
      [step('add', [a, b, out] as WasmBuffer[], [5])],
      [out as WasmBuffer],
    );
    device.write(a as WasmBuffer, Float32Array.of(1, 2, 3, 4, 5));
    device.write(b as WasmBuffer, Float32Array.of(10, 20, 30, 40, 50));
    const first = program.run(plainStep());
    // Queued behind the first run: it must not change what that run adds.
    device.write(a as WasmBuffer, Float32Array.of(100, 100, 100, 100, 100));
    const second = program.run(plainStep(1));
    expect([...(await first.read(0))]).toEqual([11, 22, 33, 44, 55]);
    expect([...(await second.read(0))]).toEqual([110, 120, 130, 140, 150]);
    expect([...(await device.read(out as WasmBuffer, 5))]).toEqual([110, 120, 130, 140, 150]);
    program.dispose();
    for (const buffer of [a, b, out]) device.destroyBuffer(buffer as WasmBuffer);
    expect(device.memory()).toEqual({ buffers: 0, bytes: 0 });
    device.destroy();
  });

  it('fails with WasmWorkerError naming the kernel when one traps, and refuses every later call', async () => {
    const device = await openWasm({ threads });
    const out = device.createBuffer('out', 'f32', 4);
    // A pointer past the end of the memory: the add kernel's loads trap.
    const wild = { offset: 2 ** 31, length: 4, label: 'wild' };
    const program = await device.createProgram('trap', [step('add', [wild, wild, out], [1024])], [out]);
    const run = program.run(plainStep());
    const error = await run.read(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WasmWorkerError);
    expect((error as Error).message).toMatch(/^Wasm backend: .*add/);
    expect(() => device.createBuffer('later', 'f32', 1)).toThrow(WasmWorkerError);
    await expect(device.read(out, 4)).rejects.toBeInstanceOf(WasmWorkerError);
    device.destroy();
  });
});

describe('Wasm backend', () => {
  it('returns every byte on dispose and refuses to compile once disposed', async () => {
    const backend = await createBackend('wasm', { threads: 2 });
    const net = await backend.compile(mlp({ sizes: [8, 16, 3] }), { batchSize: 4 });
    expect(backend.memory().bytes).toBeGreaterThan(0);
    net.dispose();
    expect(backend.memory()).toEqual({ buffers: 0, bytes: 0 });
    backend.dispose();
    await expect(backend.compile(mlp({ sizes: [8, 16, 3] }), { batchSize: 4 })).rejects.toBeInstanceOf(
      DisposedError,
    );
  });

  it('checks its options', async () => {
    await expect(createBackend('wasm', { threads: 0 })).rejects.toThrow(
      /threads: expected an integer from 1 to 256/,
    );
    await expect(createBackend('wasm', { threads: 1.5 })).rejects.toThrow(/threads/);
  });
});
