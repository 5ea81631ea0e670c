/**
 * How kernels of every backend name a node's buffers, and the word packing their parameters share.
 * Pure data: no GPU or Wasm objects.
 */

/** A node's input i or output i; `null` for a binding the node does not use. */
export type BufferRef = readonly ['in' | 'out', number] | null;

/** Inputs then outputs, for kernels that write buffers they do not read. */
export function inputsThenOutputs(inputs: number, outputs: number): BufferRef[] {
  return [
    ...Array.from({ length: inputs }, (_, i) => ['in', i] as const),
    ...Array.from({ length: outputs }, (_, i) => ['out', i] as const),
  ];
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The bits of `value` rounded to f32, for packing floats into u32 parameter words. */
export function f32Bits(value: number): number {
  F32[0] = value;
  return U32[0] as number;
}
