/**
 * Runs one Wasm kernel on its own, outside any device: for the kernel tests. Copies the node's
 * buffers into a fresh shared memory, builds the kernel's block (src/kernels/wasm.ts) and calls
 * each phase for every part in turn, in part order, then copies the outputs back.
 */
import { maximumPages, simd } from 'virtual:wasm-kernels';
import type { StepContext } from '../../src/ir/ir.js';
import { f32Bits } from '../../src/kernels/bindings.js';
import type { WasmKernel } from '../../src/kernels/wasm.js';
import type { NumArray } from '../../src/ops/op.js';

let module: Promise<WebAssembly.Module> | undefined;

function kernels(): Promise<WebAssembly.Module> {
  module ??= WebAssembly.compile(Uint8Array.from(atob(simd), (c) => c.charCodeAt(0)));
  return module;
}

/**
 * Runs `kernel` with params `p` on `inputs`; `outputs` are the output buffers (in-place outputs may be
 * the same array objects as inputs: they share one region, as on a device). Returns the outputs as
 * written by the kernel (new arrays). `parts`: how many parts to split the work into.
 */
export async function runWasmKernel<P>(
  kernel: WasmKernel<P>,
  p: P,
  inputs: readonly NumArray[],
  outputs: readonly NumArray[],
  ctx: StepContext,
  parts = 1,
): Promise<NumArray[]> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: maximumPages, shared: true });
  const instance = await WebAssembly.instantiate(await kernels(), { env: { memory } });
  // Above the module's static data (lookup tables), which instantiation writes into the memory.
  let top = Math.ceil((instance.exports.heap_base as () => number)() / 64) * 64 + 64;
  const alloc = (bytes: number) => {
    const at = top;
    top += Math.ceil(Math.max(bytes, 4) / 64) * 64;
    const pages = Math.ceil(top / 65536);
    if (pages > memory.buffer.byteLength / 65536) memory.grow(pages - memory.buffer.byteLength / 65536);
    return at;
  };
  const where = new Map<NumArray, number>();
  const place = (array: NumArray) => {
    let at = where.get(array);
    if (at === undefined) {
      at = alloc(array.length * 4);
      where.set(array, at);
      const bytes = new Uint8Array(memory.buffer, at, array.length * 4);
      const f32 = array instanceof Uint32Array ? array : Float32Array.from(array);
      bytes.set(new Uint8Array(f32.buffer, f32.byteOffset, array.length * 4));
    }
    return at;
  };
  const refs = kernel.bind(p);
  const pointers = refs.map((ref) =>
    ref === null ? 0 : place((ref[0] === 'in' ? inputs : outputs)[ref[1]] as NumArray),
  );
  for (const output of outputs) place(output);
  const scratchBytes = kernel.scratch?.(p, parts) ?? 0;
  const scratch = scratchBytes > 0 ? alloc(scratchBytes) : 0;
  const words = [...pointers, scratch, ...kernel.params(p)];
  const block = alloc(words.length * 4);
  new Uint32Array(memory.buffer, block, words.length).set(words);
  const step = alloc(32);
  new Uint32Array(memory.buffer, step, 5).set([
    ctx.step,
    f32Bits(ctx.lr),
    f32Bits(ctx.momentum),
    f32Bits(ctx.biasCorrection1),
    f32Bits(ctx.biasCorrection2),
  ]);
  for (const phase of kernel.phases) {
    const entry = instance.exports[phase] as ((...args: number[]) => void) | undefined;
    if (!entry) throw new Error(`wasm/index.ts exports no kernel ${phase}`);
    for (let part = 0; part < parts; part++) entry(block, step, part, parts);
  }
  return outputs.map((output) => {
    const at = where.get(output) as number;
    const bits = new Uint32Array(memory.buffer.slice(at, at + output.length * 4));
    return output instanceof Uint32Array ? bits : new Float32Array(bits.buffer);
  });
}
