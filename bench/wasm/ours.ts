/**
 * Runs the shipped Wasm matmul (matmulWasm, wasm/matmul_kernels.ts) on one thread, outside any
 * device, for the benchmarks: one fresh shared memory per case holding the node's buffers (random
 * values), its block, step block and scratch; `run()` calls every phase for `parts` parts in turn.
 * Never a test.
 */
import { maximumPages } from 'virtual:wasm-kernels';
import { f32Bits } from '../../src/kernels/bindings.js';
import type { WasmKernel } from '../../src/kernels/wasm.js';
import type { MatmulParams } from '../../src/ops/matmul.js';
import { matmulWasm } from '../../src/ops/wasm/matmul.js';

/** The node's inputs and outputs as matmulReference takes them, as lengths (outputs: fresh buffers). */
function bufferLengths(p: MatmulParams): { inputs: number[]; outputs: number[] } {
  const inputs = [p.M * p.K, p.K * p.N];
  if (p.update) {
    inputs.push(p.M * p.N, 4);
    if (p.update.momentum) inputs.push(p.M * p.N);
  } else {
    if (p.bias) inputs.push(p.N);
    if (p.activationGrad !== 'identity') inputs.push(p.M * p.N);
  }
  const outputs = p.update ? [] : [p.M * p.N];
  if (p.dropout && !p.dropoutBackward) outputs.push(p.M * p.N);
  if (p.colSum) outputs.push(p.M);
  return { inputs, outputs };
}

export interface Prepared {
  run(): void;
  /** Where the node lies, for running it on a pool: the memory, its block and step block. */
  readonly memory: WebAssembly.Memory;
  readonly block: number;
  readonly step: number;
  /** Output 0 (C, or the parameter), for checks. */
  result(): Float32Array;
  /** Input i as it lies in the kernel's memory (a copy). */
  input(i: number): Float32Array;
}

/** Instantiates `binary` (base64 of a kernel build) on a fresh memory holding `p`'s buffers. */
export async function prepareOurs(
  base64: string,
  p: MatmulParams,
  kernel: WasmKernel<MatmulParams> = matmulWasm,
  parts = 1,
): Promise<Prepared> {
  const module = await WebAssembly.compile(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  const { inputs, outputs } = bufferLengths(p);
  const bytesOf = (n: number) => Math.ceil((n * 4 + 64) / 64) * 64;
  const scratch = kernel.scratch?.(p, parts) ?? 0;
  const total =
    1024 + [...inputs, ...outputs].reduce((s, n) => s + bytesOf(n), 0) + bytesOf(scratch / 4) + 4096;
  const memory = new WebAssembly.Memory({
    initial: Math.ceil(total / 65536),
    maximum: maximumPages,
    shared: true,
  });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  let top = 1024;
  const alloc = (n: number) => {
    const at = top;
    top += bytesOf(n);
    return at;
  };
  const f32 = new Float32Array(memory.buffer);
  let seed = 1;
  const fill = (at: number, n: number) => {
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      f32[at / 4 + i] = seed / 2 ** 32 - 0.5;
    }
  };
  const ins = inputs.map((n) => {
    const at = alloc(n);
    fill(at, n);
    return at;
  });
  if (p.update) f32.fill(0, (ins[3] as number) / 4, (ins[3] as number) / 4 + 4); // metrics: finite
  const outs = outputs.map((n) => alloc(n));
  // An update's outputs are its inputs (the parameter and velocity), in place.
  const outAt = (i: number) => (p.update ? (ins[i === 0 ? 2 : 4] as number) : (outs[i] as number));
  const pointers = kernel
    .bind(p)
    .map((ref) => (ref === null ? 0 : ref[0] === 'in' ? ins[ref[1]] : outAt(ref[1])));
  const words = [...pointers, scratch > 0 ? alloc(scratch / 4) : 0, ...kernel.params(p)] as number[];
  const block = alloc(words.length);
  new Uint32Array(memory.buffer, block, words.length).set(words);
  const step = alloc(8);
  new Uint32Array(memory.buffer, step, 5).set([0, f32Bits(1e-9), f32Bits(0.9), f32Bits(1), f32Bits(1)]);
  const entries = kernel.phases.map((phase) => instance.exports[phase] as (...args: number[]) => void);
  return {
    memory,
    block,
    step,
    run() {
      for (const entry of entries) for (let part = 0; part < parts; part++) entry(block, step, part, parts);
    },
    result() {
      const at = outAt(0);
      return new Float32Array(memory.buffer.slice(at, at + p.M * p.N * 4));
    },
    input(i) {
      const at = ins[i] as number;
      return new Float32Array(memory.buffer.slice(at, at + (inputs[i] as number) * 4));
    },
  };
}
