/**
 * The Wasm SIMD ceiling kernel of bench/peers, as module bytes: `chain(iterations, m, c)` runs 12
 * independent f32x4 multiply-add chains (a = a·m + c), 16 steps of each per iteration, and stores
 * their sum so that nothing is dead code. With relaxed SIMD each step is one f32x4.relaxed_madd (a
 * fused multiply-add where the engine has one), else f32x4.mul then f32x4.add — the same choice as
 * dropgpu's matmul build (wasm/features.ts). 12 chains cover the multiply-add latency on both FMA
 * pipes; no loads, so this is the most a Wasm SIMD thread can do: bench/wasm/ceiling-threads.ts is
 * the same kernel compiled from AssemblyScript for Node. Built byte by byte so that a page needs no
 * compiler. Never a test.
 */
export const CHAINS = 12;
export const STEPS = 16;
/** Floating-point operations of one iteration: CHAINS × STEPS multiply-adds of 4 lanes, 2 each. */
export const FLOPS_PER_ITERATION = CHAINS * STEPS * 8;

const RELAXED_MADD = [0xfd, 0x85, 0x02];
const F32X4_MUL = [0xfd, 0xe6, 0x01];
const F32X4_ADD = [0xfd, 0xe4, 0x01];
const F32X4_SPLAT = [0xfd, 0x13];
const V128_STORE = [0xfd, 0x0b];

/** A probe module: whether this engine validates f32x4.relaxed_madd. */
export function relaxedSimdValidates(): boolean {
  return WebAssembly.validate(ceilingModuleBytes(true));
}

export function ceilingModuleBytes(relaxed: boolean): Uint8Array<ArrayBuffer> {
  // Locals: 0 iterations (i32), 1 m, 2 c (f32); 3..14 the chains, 15 m4, 16 c4 (v128).
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const f32 = (x: number) => [0x43, ...new Uint8Array(Float32Array.of(x).buffer)];
  const chain = (i: number) => 3 + i;
  const M4 = 15;
  const C4 = 16;
  const body: number[] = [0x01, 14, 0x7b]; // one group of locals: 14 v128
  body.push(...get(1), ...F32X4_SPLAT, ...set(M4)); // m4 = splat(m)
  body.push(...get(2), ...F32X4_SPLAT, ...set(C4)); // c4 = splat(c)
  for (let i = 0; i < CHAINS; i++)
    body.push(...get(2), ...f32(i + 1), 0x94, ...F32X4_SPLAT, ...set(chain(i))); // a_i = splat(c·(i + 1))
  body.push(0x02, 0x40, 0x03, 0x40); // block, loop
  body.push(...get(0), 0x45, 0x0d, 1); // if iterations == 0: break
  for (let s = 0; s < STEPS; s++)
    for (let i = 0; i < CHAINS; i++) {
      const a = chain(i);
      body.push(
        ...(relaxed
          ? [...get(a), ...get(M4), ...get(C4), ...RELAXED_MADD]
          : [...get(a), ...get(M4), ...F32X4_MUL, ...get(C4), ...F32X4_ADD]),
        ...set(a),
      );
    }
  body.push(...get(0), 0x41, 1, 0x6b, ...set(0), 0x0c, 0, 0x0b, 0x0b); // iterations -= 1; continue; end end
  body.push(0x41, 0, ...get(chain(0)));
  for (let i = 1; i < CHAINS; i++) body.push(...get(chain(i)), ...F32X4_ADD);
  body.push(...V128_STORE, 4, 0, 0x0b);

  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
  const name = [...new TextEncoder().encode('chain')];
  const code = [1, ...leb(body.length), ...body];
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]; // "\0asm", version 1
  return Uint8Array.from([
    ...header,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7d, 0x7d, 0]), // type: (i32, f32, f32) → ()
    ...section(3, [1, 0]), // one function of type 0
    ...section(5, [1, 0, 1]), // one memory, 1 page
    ...section(7, [1, name.length, ...name, 0, 0]), // export "chain" = function 0
    ...section(10, code),
  ]);
}

function leb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return out;
}
