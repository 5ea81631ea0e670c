/**
 * Opening the Wasm backend: the kernel module (relaxed-SIMD FMA where the engine validates it), one
 * memory (shared where threads can be had), the heap above the module's static data, and the pool.
 */
import { maximumPages, relaxed, relaxedUnshared, simd, simdUnshared } from 'virtual:wasm-kernels';
import { ArgumentError, describe } from '../errors.js';
import { WasmDevice } from './device.js';
import { WasmHeap } from './heap.js';
import { createWasmPool, sharedMemoryAvailable } from './pool.js';

export interface WasmOptions {
  /**
   * Worker threads that run each kernel, its work split so that results do not depend on their number.
   * Default: the hardware concurrency. 1, or a page without cross-origin isolation (no shared memory),
   * runs every kernel on the calling thread.
   */
  threads?: number;
  /** Use relaxed-SIMD fused multiply-add where the engine supports it. Default true. */
  relaxedSimd?: boolean;
}

function bytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

async function hardwareConcurrency(): Promise<number> {
  const fromNavigator = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  if (fromNavigator) return fromNavigator;
  try {
    const os = await import(/* @vite-ignore */ 'node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  } catch {
    return 1;
  }
}

export async function openWasm(options: WasmOptions = {}): Promise<WasmDevice> {
  const { threads: asked, relaxedSimd = true } = options ?? {};
  if (asked !== undefined && !(Number.isInteger(asked) && asked >= 1 && asked <= 256)) {
    throw new ArgumentError('threads', 'an integer from 1 to 256', describe(asked));
  }
  if (typeof relaxedSimd !== 'boolean')
    throw new ArgumentError('relaxedSimd', 'true or false', describe(relaxedSimd));
  const shared = sharedMemoryAvailable();
  const threads = shared ? (asked ?? (await hardwareConcurrency())) : 1;
  const candidates = shared ? [relaxed, simd] : [relaxedUnshared, simdUnshared];
  const relaxedBytes = bytes(candidates[0] as string);
  const fma = relaxedSimd && WebAssembly.validate(relaxedBytes);
  const module = await WebAssembly.compile(fma ? relaxedBytes : bytes(candidates[1] as string));
  const memory = new WebAssembly.Memory({
    initial: 1,
    maximum: maximumPages,
    ...(shared ? { shared: true } : {}),
  });
  // An instance on this thread tells where the static data ends (and writes it into the memory).
  const probe = await WebAssembly.instantiate(module, { env: { memory } });
  const heapBase = (probe.exports.heap_base as () => number)();
  const exportNames = WebAssembly.Module.exports(module)
    .filter((entry) => entry.kind === 'function')
    .map((entry) => entry.name);
  const pool = await createWasmPool({ module, memory, exportNames, threads });
  const why = shared ? '' : ' (no shared memory here: the page is not cross-origin isolated)';
  const description = `Wasm SIMD${fma ? ' + relaxed FMA' : ''}, ${threads} thread${threads === 1 ? '' : 's'}${why}`;
  return new WasmDevice(description, pool, new WasmHeap(memory, heapBase, maximumPages), exportNames);
}
