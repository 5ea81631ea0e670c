// Helpers shared by the op kernels (wasm/op_kernels.ts): the block layout of src/kernels/wasm.ts, how a
// phase splits its work into parts, partial vectors for the tails, f32x4 exp/tanh/sigmoid, an f64 log
// and Philox for four blocks at once. Every element goes through the same vector code whether it sits
// in a full vector or a tail, so results do not depend on where the parts split. No static data (no
// lookup tables, hence no Math.log/exp of the standard library): buffers may be placed anywhere.
// Results of multi-value helpers go through module globals, which are per instance (per thread).

/** Word `index` of the kernel block (pointers, scratch pointer, then params). */
// @ts-ignore: decorator
@inline
export function word(block: usize, index: i32): u32 {
  return load<u32>(block + (<usize>index << 2));
}

/** Float bits of word `index` of the kernel block. */
// @ts-ignore: decorator
@inline
export function wordF32(block: usize, index: i32): f32 {
  return load<f32>(block + (<usize>index << 2));
}

/** Step block fields (see src/kernels/wasm.ts). */
// @ts-ignore: decorator
@inline
export function stepIndex(step: usize): u32 {
  return load<u32>(step);
}
// @ts-ignore: decorator
@inline
export function stepLr(step: usize): f32 {
  return load<f32>(step, 4);
}
// @ts-ignore: decorator
@inline
export function stepMomentum(step: usize): f32 {
  return load<f32>(step, 8);
}
// @ts-ignore: decorator
@inline
export function stepBiasCorrection1(step: usize): f32 {
  return load<f32>(step, 12);
}
// @ts-ignore: decorator
@inline
export function stepBiasCorrection2(step: usize): f32 {
  return load<f32>(step, 16);
}

/**
 * First item of part `part` when `n` items are split into `parts` contiguous ranges whose starts are
 * multiples of `align`; part p covers [partStart(p), partStart(p + 1)). Later parts may be empty.
 */
export function partStart(n: u32, part: i32, parts: i32, align: u32): u32 {
  if (parts <= 1) return part <= 0 ? 0 : n;
  const units = (n + align - 1) / align;
  const per = (units + <u32>parts - 1) / <u32>parts;
  const start = <u64>per * <u64>align * <u64>part;
  return start < <u64>n ? <u32>start : n;
}

/** Lanes 0..count-1 (count 1..3) of f32 at `ptr`, the other lanes `fill`. */
// @ts-ignore: decorator
@inline
export function loadPartial(ptr: usize, count: u32, fill: f32): v128 {
  let v = f32x4.splat(fill);
  v = v128.load32_lane(ptr, v, 0);
  if (count > 1) v = v128.load32_lane(ptr, v, 1, 4);
  if (count > 2) v = v128.load32_lane(ptr, v, 2, 8);
  return v;
}

/** Stores lanes 0..count-1 (count 1..3) of `v` at `ptr`. */
// @ts-ignore: decorator
@inline
export function storePartial(ptr: usize, v: v128, count: u32): void {
  v128.store32_lane(ptr, v, 0);
  if (count > 1) v128.store32_lane(ptr, v, 1, 4);
  if (count > 2) v128.store32_lane(ptr, v, 2, 8);
}

/** Lanes 2 and 3 of f32x4 `v` as f64x2. */
// @ts-ignore: decorator
@inline
export function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}

/** f32x4 from two f64x2 (lanes lo0, lo1, hi0, hi1), each rounded to f32. */
// @ts-ignore: decorator
@inline
export function demote2(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/**
 * e^x lane by lane (Cephes expf: x = k·ln 2 + r, |r| ≤ ln 2 / 2, degree-6 polynomial, then 2^k in two
 * halves so that the results just below overflow and the subnormal ones come out right). About 1 ulp.
 * NaN gives NaN, +∞ gives +∞, −∞ gives 0.
 */
// @ts-ignore: decorator
@inline
export function exp4(x: v128): v128 {
  // pmax/pmin with x first keep a NaN x (one instruction each, where min/max take several).
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-104.0)), f32x4.splat(88.8));
  // k = nearest(x·log2 e), rounded by adding 1.5·2^23: its low mantissa bits are then k + 2^22.
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const k = f32x4.sub(shifted, f32x4.splat(12582912.0));
  let r = f32x4.sub(x, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  // 2^k as 2^k1·2^k2 (k1 = k >> 1): both stay normal for k in [−150, 128]. A NaN x gives some k,
  // and p is NaN anyway.
  const ki = i32x4.sub(shifted, i32x4.splat(0x4b400000));
  const k1 = i32x4.shr_s(ki, 1);
  const k2 = i32x4.sub(ki, k1);
  const s1 = i32x4.shl(i32x4.add(k1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(k2, i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

/**
 * tanh lane by lane, as accurate_tanh() in shaders/activation.wgsl: sign(z)·(1 − e)/(1 + e) with
 * e = e^(−2|z|), and 1 − e from its Taylor series below 2|z| = 0.25. Keeps the sign of ±0.
 */
// @ts-ignore: decorator
@inline
export function tanh4(z: v128): v128 {
  const x = f32x4.mul(f32x4.splat(2.0), f32x4.abs(z));
  const one = f32x4.splat(1.0);
  const e = exp4(f32x4.neg(x));
  let s = f32x4.sub(f32x4.splat(1.0 / 720.0), f32x4.mul(x, f32x4.splat(1.0 / 5040.0)));
  s = f32x4.sub(f32x4.splat(1.0 / 120.0), f32x4.mul(x, s));
  s = f32x4.sub(f32x4.splat(1.0 / 24.0), f32x4.mul(x, s));
  s = f32x4.sub(f32x4.splat(1.0 / 6.0), f32x4.mul(x, s));
  s = f32x4.sub(f32x4.splat(1.0 / 2.0), f32x4.mul(x, s));
  s = f32x4.mul(x, f32x4.sub(one, f32x4.mul(x, s)));
  const oneMinusE = v128.bitselect(s, f32x4.sub(one, e), f32x4.lt(x, f32x4.splat(0.25)));
  const t = f32x4.div(oneMinusE, f32x4.sub(f32x4.splat(2.0), oneMinusE));
  // t ≥ 0 (or NaN): copy the sign of z onto it.
  return v128.or(t, v128.and(z, i32x4.splat(0x80000000)));
}

/** 1 / (1 + e^(−z)) lane by lane. */
// @ts-ignore: decorator
@inline
export function sigmoid4(z: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(z))));
}

/** Activation codes (WASM_ACTIVATION_CODE in src/ops/wasm/bias-act.ts). */
export const IDENTITY: u32 = 0;
export const RELU: u32 = 1;
export const TANH: u32 = 2;
export const SIGMOID: u32 = 3;

/** act(z) lane by lane; `act` is a constant where this is inlined, so the switch folds away. */
// @ts-ignore: decorator
@inline
export function activate4(z: v128, act: u32): v128 {
  if (act == RELU) {
    // NaN <= 0 is false: NaN stays (as Math.max(NaN, 0)); −0 becomes +0.
    return v128.bitselect(f32x4.splat(0), z, f32x4.le(z, f32x4.splat(0)));
  }
  if (act == TANH) return tanh4(z);
  if (act == SIGMOID) return sigmoid4(z);
  return z;
}

/**
 * Natural log in f64 (fdlibm's e_log.c, under 1 ulp). Written out here because AssemblyScript's
 * Math.log reads lookup tables from static data in linear memory, and the kernels use none: the
 * backend's buffers may start anywhere above 0.
 */
export function log64(x: f64): f64 {
  let bits = reinterpret<u64>(x);
  let k: i32 = 0;
  if (bits >> 63 != 0) return x == 0 ? -Infinity : NaN; // −0, negatives and −NaN
  if (x == 0) return -Infinity;
  if (bits >= 0x7ff0000000000000) return x + x; // +∞ and NaN
  if (bits < 0x0010000000000000) {
    // Subnormal: scale up by 2^54.
    x *= 18014398509481984.0;
    bits = reinterpret<u64>(x);
    k = -54;
  }
  let hi = <u32>(bits >> 32);
  // Reduce x to m·2^k with m in [√2/2, √2).
  hi += 0x3ff00000 - 0x3fe6a09e;
  k += <i32>(hi >> 20) - 0x3ff;
  hi = (hi & 0x000fffff) + 0x3fe6a09e;
  const m = reinterpret<f64>((<u64>hi << 32) | (bits & 0xffffffff));
  const f = m - 1.0;
  const hfsq = 0.5 * f * f;
  const s = f / (2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  const r = t2 + t1;
  const dk = <f64>k;
  return s * (hfsq + r) + dk * 1.90821492927058770002e-10 - hfsq + f + dk * 6.93147180369123816490e-01;
}

// The four Philox output words of the last philox4Blocks() call, word j of block b in lane b.
export let philoxLanes0: v128 = i32x4.splat(0);
export let philoxLanes1: v128 = i32x4.splat(0);
export let philoxLanes2: v128 = i32x4.splat(0);
export let philoxLanes3: v128 = i32x4.splat(0);

/**
 * Philox4x32-10 of the counters (block + lane, c1, c2, c3) for lanes 0..3 under key (k0, k1): four
 * calls of philox4x32() in wasm/philox.ts at once, bit for bit. Results in philoxLanes0..3.
 */
// @ts-ignore: decorator
@inline
export function philox4Blocks(block: u32, c1s: u32, c2s: u32, c3s: u32, k0s: u32, k1s: u32): void {
  let c0 = i32x4.add(i32x4.splat(block), i32x4(0, 1, 2, 3));
  let c1 = i32x4.splat(c1s);
  let c2 = i32x4.splat(c2s);
  let c3 = i32x4.splat(c3s);
  const m0 = i32x4.splat(0xd2511f53);
  const m1 = i32x4.splat(0xcd9e8d57);
  let k0 = k0s;
  let k1 = k1s;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += 0x9e3779b9;
      k1 += 0xbb67ae85;
    }
    const p0 = i64x2.extmul_low_i32x4_u(m0, c0);
    const q0 = i64x2.extmul_high_i32x4_u(m0, c0);
    const p1 = i64x2.extmul_low_i32x4_u(m1, c2);
    const q1 = i64x2.extmul_high_i32x4_u(m1, c2);
    const hi0 = v128.shuffle<u32>(p0, q0, 1, 3, 5, 7);
    const lo0 = v128.shuffle<u32>(p0, q0, 0, 2, 4, 6);
    const hi1 = v128.shuffle<u32>(p1, q1, 1, 3, 5, 7);
    const lo1 = v128.shuffle<u32>(p1, q1, 0, 2, 4, 6);
    const n0 = v128.xor(v128.xor(hi1, c1), i32x4.splat(k0));
    const n2 = v128.xor(v128.xor(hi0, c3), i32x4.splat(k1));
    c1 = lo1;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
  }
  philoxLanes0 = c0;
  philoxLanes1 = c1;
  philoxLanes2 = c2;
  philoxLanes3 = c3;
}
