// The matmul kernels (see wasm/index.ts): C[M,N] = Σ_k opA[m,k]·opB[k,n] with the epilogues of
// shaders/matmul_epilogue.wgsl (bias, activation, dropout forward and backward, activation derivative,
// the fused SGD step, column sums), in the same order. Descriptor and block layout: matmulWasm in
// src/ops/wasm/matmul.ts (its twin); CPU reference: matmulReference() in src/ops/matmul.ts.
//
// Two phases, a barrier between them:
//   matmul_pack:    opA into row panels of 4 ([k][4] per panel, rows past M zero) in scratch memory;
//                   the part that packs a row panel also sums its rows (colsum[m] = Σ_k opA[m,k], in k
//                   order). In B_PACKED mode also opB into column panels of 8 ([k][8], columns past N
//                   zero; opB stored [K, N] by blocks of rows across all panels, packBRows); in
//                   B_LOCAL mode each part packs a panel of opB right before its tiles.
//   matmul_compute: every 4×8 tile of C: 8 f32x4 accumulators over the whole K (k order: the sum of
//                   each element is a plain k = 0, 1, … chain, whatever the part), then the epilogue.
// Parts split the panels (pack) and the tiles (compute) into contiguous ranges; every output element is
// written by one part, so the result does not depend on `parts`. With SWAP the same code computes Cᵀ
// (for a narrow C), storing element by element.
//
// The micro-kernel: per k, two vector loads of the B panel, four load-splats of the A panel, eight
// multiply-adds (f32x4.relaxed_madd in the RELAXED build, else mul + add). 8 accumulators + 2 B + 4 A
// (+ 1 product) stay under the 15 xmm registers V8 allocates on x64. V8 schedules every load of a
// basic block before its arithmetic, so all operands of a step are live at once: wider tiles (6×8,
// 4×12) spill. The k loop is unrolled twice with the second step inside `if (k + 1 < K)`: the branch
// keeps the second step's loads in their own block (unrolled without it, the loads of both steps are
// hoisted together and spill). The variants measured (bench/wasm/variants.ts) did no better. A last
// row panel of 1 or 2 rows runs a 1- or 2-row tile. Dropout masks: Philox for 4 counters at once
// (keep4, two rows of a tile per call) where rows start on a Philox block, else scalar (wasm/philox.ts).
// Activations: activate4() of wasm/op_common.ts, as bias_act's. No static data (no Math.exp etc.).

import { RELAXED } from './features';
import { activate4 } from './op_common';
import { keptBits } from './philox';

export const MATMUL_KERNELS: i32 = 0;

// Flag bits of params word 3 (src/ops/wasm/matmul.ts builds them).
const TRANS_A: u32 = 1;
const TRANS_B: u32 = 2;
const HAS_BIAS: u32 = 4;
const DROPOUT_FORWARD: u32 = 8;
const DROPOUT_BACKWARD: u32 = 16;
const UPDATE: u32 = 32;
const MOMENTUM: u32 = 64;
const NESTEROV: u32 = 128;
const COL_SUM: u32 = 256;
const KEEP_ALL: u32 = 512;
// How the tiles get the product's B panels (bits 10..11; the descriptor chooses, see
// matmulWasmChoice): packed by matmul_pack into scratch; read where B lies (stride N·4 per k; only for
// B stored [K, N]; full panels, a partial last one packed); or packed by matmul_compute into the part's
// own two-panel buffer just before its tiles (two panels at once when they share B's cache lines).
const B_MODE_SHIFT: u32 = 10;
const B_PACKED: u32 = 0;
const B_DIRECT: u32 = 1;
const B_LOCAL: u32 = 2;
// The kernel computes Cᵀ = opB ᵀ·opA ᵀ (tiles of 4 columns × 8 rows of C), for N much smaller than M:
// opBᵀ is packed as the row panels, opAᵀ as the column panels; stores go element by element.
const SWAP: u32 = 4096;
// Activation codes (bits 16..17: activation, 18..19: activationGrad): 0 identity, 1 relu, 2 tanh, 3 sigmoid.
const ACT_SHIFT: u32 = 16;
const ACT_GRAD_SHIFT: u32 = 18;
// The bits that change what a stored element is (without any, C is stored as summed).
const EPILOGUE: u32 = HAS_BIAS | DROPOUT_FORWARD | DROPOUT_BACKWARD | UPDATE | (0xf << ACT_SHIFT);

const MR: i32 = 4; // rows of a tile (an A panel)
const NR: i32 = 8; // columns of a tile (a B panel)
const TILE_BYTES: usize = 128; // a part's 4×8 f32 buffer for tiles cut by N

// Block words: pointers (bind order), scratch, then params (see src/ops/wasm/matmul.ts).
const W_A = 0;
const W_B = 4;
const W_BIAS = 8;
const W_AUX = 12;
const W_OUT = 16;
const W_OUT2 = 20;
const W_METRICS = 24;
const W_COLSUM = 28;
const W_SCRATCH = 32;
const W_M = 36;
const W_N = 40;
const W_K = 44;
const W_FLAGS = 48;
const W_KEY0 = 52;
const W_KEY1 = 56;
const W_THRESHOLD = 60;
const W_SCALE = 64;
const W_SITE = 68;
const W_STREAM = 72;
const W_WEIGHT_DECAY = 76;
const W_PANEL_ROWS = 80; // row panels per cache block (compute order, see matmul_compute)

// The epilogue's parameters, read from the block once per call (globals are per instance, and an
// instance runs one part at a time).
let gM: i32 = 0;
let gN: i32 = 0;
let gFlags: u32 = 0;
let gPlain: bool = true; // no epilogue
let gBias: usize = 0;
let gAux: usize = 0;
let gOut: usize = 0;
let gOut2: usize = 0;
let gKey0: u32 = 0;
let gKey1: u32 = 0;
let gThreshold: u32 = 0;
let gScale: f32 = 1;
let gSite: u32 = 0;
let gStream: u32 = 0;
let gStep: u32 = 0;
let gLr: f32 = 0;
let gMomentum: f32 = 0;
let gWeightDecay: f32 = 0;
// The Philox block whose keep bits are in gKeptBits (scalar path).
let gKeptBlock: u32 = 0xffffffff;
let gKeptBits: u32 = 0;

function readEpilogue(block: usize, step: usize): void {
  gM = load<i32>(block, W_M);
  gN = load<i32>(block, W_N);
  gFlags = load<u32>(block, W_FLAGS);
  gPlain = (gFlags & EPILOGUE) == 0;
  gBias = load<usize>(block, W_BIAS);
  gAux = load<usize>(block, W_AUX);
  gOut = load<usize>(block, W_OUT);
  gOut2 = load<usize>(block, W_OUT2);
  gKey0 = load<u32>(block, W_KEY0);
  gKey1 = load<u32>(block, W_KEY1);
  gThreshold = load<u32>(block, W_THRESHOLD);
  gScale = load<f32>(block, W_SCALE);
  gSite = load<u32>(block, W_SITE);
  gStream = load<u32>(block, W_STREAM);
  gWeightDecay = load<f32>(block, W_WEIGHT_DECAY);
  gStep = load<u32>(step);
  gLr = load<f32>(step, 4);
  gMomentum = load<f32>(step, 8);
  gKeptBlock = 0xffffffff;
}

// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (RELAXED) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// ---------------------------------------------------------------------------------------------------
// Activations: activate4() of wasm/op_common.ts (as bias_act's), and the derivatives from the output
// (twins of derivative_from_output() in shaders/activation.wgsl).

// @ts-ignore: decorator
@inline
function derivative(y: f32, kind: u32): f32 {
  if (kind == 1) return y > 0 ? 1 : 0;
  if (kind == 2) return 1 - y * y;
  if (kind == 3) return y * (1 - y);
  return 1;
}

// @ts-ignore: decorator
@inline
function derivativeV(y: v128, kind: u32): v128 {
  const one = f32x4.splat(1);
  if (kind == 1) return v128.and(f32x4.gt(y, f32x4.splat(0)), one);
  if (kind == 2) return f32x4.sub(one, f32x4.mul(y, y));
  if (kind == 3) return f32x4.mul(y, f32x4.sub(one, y));
  return one;
}

// ---------------------------------------------------------------------------------------------------
// Dropout masks (docs/contracts.md): element i is kept iff word i % 4 of Philox block ⌊i/4⌋ is below
// the threshold.

// @ts-ignore: decorator
@inline
function blockBits(blockIndex: u32): u32 {
  return keptBits(blockIndex, gStep, gSite, gStream, gKey0, gKey1, gThreshold, (gFlags & KEEP_ALL) != 0);
}

// Keep bits of the 8 elements i .. i+7 (bit j: element i + j).
function keptBits8(i: u32): u32 {
  const b = i >> 2;
  const s = i & 3;
  let bits = blockBits(b) | (blockBits(b + 1) << 4);
  if (s != 0) bits = (bits >> s) | (blockBits(b + 2) << (8 - s));
  return bits & 0xff;
}

function keptOne(i: u32): bool {
  const b = i >> 2;
  if (b != gKeptBlock) {
    gKeptBlock = b;
    gKeptBits = blockBits(b);
  }
  return ((gKeptBits >> (i & 3)) & 1) != 0;
}

// Lanes of 4 keep bits as all-ones / all-zeros masks.
// @ts-ignore: decorator
@inline
function laneMask(bits: u32): v128 {
  return i32x4.ne(v128.and(i32x4.splat(bits), i32x4(1, 2, 4, 8)), i32x4.splat(0));
}

// The keep masks of a tile's rows: row r's elements 0..3 in gMask{2r}, 4..7 in gMask{2r+1}. All
// ones without dropout (they are then never read).
let gMask0: v128 = i32x4.splat(-1);
let gMask1: v128 = i32x4.splat(-1);
let gMask2: v128 = i32x4.splat(-1);
let gMask3: v128 = i32x4.splat(-1);
let gMask4: v128 = i32x4.splat(-1);
let gMask5: v128 = i32x4.splat(-1);
let gMask6: v128 = i32x4.splat(-1);
let gMask7: v128 = i32x4.splat(-1);

// Philox4x32-10 (wasm/philox.ts, bit for bit) of the counters (c0 lane l, step, site, stream) for the
// four lanes at once, word j of every counter compared with the threshold: gKeep{j} lane l is all ones
// iff element 4·c0[l] + j is kept. The 32×32 → 64 products are i64x2.extmul (pmuludq on x64).
let gKeep0: v128 = i32x4.splat(0);
let gKeep1: v128 = i32x4.splat(0);
let gKeep2: v128 = i32x4.splat(0);
let gKeep3: v128 = i32x4.splat(0);

function keep4(counters: v128): void {
  let c0 = counters;
  let c1 = i32x4.splat(gStep);
  let c2 = i32x4.splat(gSite);
  let c3 = i32x4.splat(gStream);
  const m0 = i32x4.splat(0xd2511f53);
  const m1 = i32x4.splat(0xcd9e8d57);
  let k0 = gKey0;
  let k1 = gKey1;
  for (let round = 0; round < 10; round++) {
    const p0 = i64x2.extmul_low_i32x4_u(m0, c0);
    const q0 = i64x2.extmul_high_i32x4_u(m0, c0);
    const p1 = i64x2.extmul_low_i32x4_u(m1, c2);
    const q1 = i64x2.extmul_high_i32x4_u(m1, c2);
    const n0 = v128.xor(v128.xor(i32x4.shuffle(p1, q1, 1, 3, 5, 7), c1), i32x4.splat(k0));
    const n2 = v128.xor(v128.xor(i32x4.shuffle(p0, q0, 1, 3, 5, 7), c3), i32x4.splat(k1));
    c1 = i32x4.shuffle(p1, q1, 0, 2, 4, 6);
    c3 = i32x4.shuffle(p0, q0, 0, 2, 4, 6);
    c0 = n0;
    c2 = n2;
    k0 += 0x9e3779b9;
    k1 += 0xbb67ae85;
  }
  const threshold = i32x4.splat(gThreshold);
  gKeep0 = i32x4.lt_u(c0, threshold);
  gKeep1 = i32x4.lt_u(c1, threshold);
  gKeep2 = i32x4.lt_u(c2, threshold);
  gKeep3 = i32x4.lt_u(c3, threshold);
}

// The masks of rows m0 .. m0+rows-1, columns n0 .. n0+7 (all inside N) into gMask0..7.
function tileMasks(m0: i32, n0: i32, rows: i32): void {
  const all = i32x4.splat(-1);
  if (gFlags & KEEP_ALL) {
    gMask0 = gMask1 = gMask2 = gMask3 = gMask4 = gMask5 = gMask6 = gMask7 = all;
    return;
  }
  const N = <u32>gN;
  const i0 = <u32>m0 * N + <u32>n0;
  if ((N & 3) == 0) {
    // Each row's 8 elements are Philox blocks b, b + 1: two rows per keep4, then a 4×4 transpose of
    // (word, counter) into (counter, word): masks of blocks in lane order.
    for (let pair = 0; pair < 2; pair++) {
      if (pair * 2 >= rows) break;
      const b = (i0 + <u32>(2 * pair) * N) >> 2;
      const b1 = b + (N >> 2);
      keep4(i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(b), 1, b + 1), 2, b1), 3, b1 + 1));
      const t0 = i32x4.shuffle(gKeep0, gKeep1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(gKeep0, gKeep1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(gKeep2, gKeep3, 0, 4, 1, 5);
      const t3 = i32x4.shuffle(gKeep2, gKeep3, 2, 6, 3, 7);
      const lo0 = i32x4.shuffle(t0, t2, 0, 1, 4, 5);
      const hi0 = i32x4.shuffle(t0, t2, 2, 3, 6, 7);
      const lo1 = i32x4.shuffle(t1, t3, 0, 1, 4, 5);
      const hi1 = i32x4.shuffle(t1, t3, 2, 3, 6, 7);
      if (pair == 0) {
        gMask0 = lo0;
        gMask1 = hi0;
        gMask2 = lo1;
        gMask3 = hi1;
      } else {
        gMask4 = lo0;
        gMask5 = hi0;
        gMask6 = lo1;
        gMask7 = hi1;
      }
    }
    return;
  }
  // Rows that do not start on a block: 8 keep bits per row from scalar Philox.
  let bits = keptBits8(i0);
  gMask0 = laneMask(bits & 0xf);
  gMask1 = laneMask(bits >> 4);
  if (rows > 1) {
    bits = keptBits8(i0 + N);
    gMask2 = laneMask(bits & 0xf);
    gMask3 = laneMask(bits >> 4);
  }
  if (rows > 2) {
    bits = keptBits8(i0 + 2 * N);
    gMask4 = laneMask(bits & 0xf);
    gMask5 = laneMask(bits >> 4);
  }
  if (rows > 3) {
    bits = keptBits8(i0 + 3 * N);
    gMask6 = laneMask(bits & 0xf);
    gMask7 = laneMask(bits >> 4);
  }
}

// ---------------------------------------------------------------------------------------------------
// Epilogue.

// One SGD step on 4 parameters at `at` (byte offset of element i in out/out2) with gradients `grad`.
// @ts-ignore: decorator
@inline
function sgdV(at: usize, grad: v128): void {
  const param = v128.load(gOut + at);
  const g = f32x4.add(grad, f32x4.mul(f32x4.splat(gWeightDecay), param));
  let direction = g;
  if (gFlags & MOMENTUM) {
    const mu = f32x4.splat(gMomentum);
    const v = f32x4.add(f32x4.mul(mu, v128.load(gOut2 + at)), g);
    v128.store(gOut2 + at, v);
    direction = gFlags & NESTEROV ? f32x4.add(g, f32x4.mul(mu, v)) : v;
  }
  v128.store(gOut + at, f32x4.sub(param, f32x4.mul(f32x4.splat(gLr), direction)));
}

// Stores row m, columns n .. n+7 of C (all inside N) from two vectors of sums.
// maskLo, maskHi: the keep masks of the 8 elements (lanes all ones where kept; see tileMasks).
function storeRow(m: i32, n: i32, lo: v128, hi: v128, maskLo: v128, maskHi: v128): void {
  const i = <u32>(m * gN + n);
  const at = <usize>i << 2;
  const flags = gFlags;
  if (gPlain) {
    v128.store(gOut + at, lo);
    v128.store(gOut + at, hi, 16);
    return;
  }
  if (flags & UPDATE) {
    sgdV(at, lo);
    sgdV(at + 16, hi);
    return;
  }
  if (flags & HAS_BIAS) {
    const b = gBias + (<usize>n << 2);
    lo = f32x4.add(lo, v128.load(b));
    hi = f32x4.add(hi, v128.load(b, 16));
  }
  const scale = f32x4.splat(gScale);
  const zero = f32x4.splat(0);
  if (flags & DROPOUT_BACKWARD) {
    lo = v128.bitselect(f32x4.mul(lo, scale), zero, maskLo);
    hi = v128.bitselect(f32x4.mul(hi, scale), zero, maskHi);
  }
  const actGrad = (flags >> ACT_GRAD_SHIFT) & 3;
  if (actGrad != 0) {
    lo = f32x4.mul(lo, derivativeV(v128.load(gAux + at), actGrad));
    hi = f32x4.mul(hi, derivativeV(v128.load(gAux + at, 16), actGrad));
  }
  const act = (flags >> ACT_SHIFT) & 3;
  if (act != 0) {
    lo = activate4(lo, act);
    hi = activate4(hi, act);
  }
  v128.store(gOut + at, lo);
  v128.store(gOut + at, hi, 16);
  if (flags & DROPOUT_FORWARD) {
    v128.store(gOut2 + at, v128.bitselect(f32x4.mul(lo, scale), zero, maskLo));
    v128.store(gOut2 + at, v128.bitselect(f32x4.mul(hi, scale), zero, maskHi), 16);
  }
}

// Stores one element (m, n) of C: the scalar twin of storeRow, for tiles cut by N.
function storeOne(m: i32, n: i32, value: f32): void {
  const i = <u32>(m * gN + n);
  const at = <usize>i << 2;
  const flags = gFlags;
  if (flags & UPDATE) {
    const param = load<f32>(gOut + at);
    const g = value + gWeightDecay * param;
    let direction = g;
    if (flags & MOMENTUM) {
      const v = gMomentum * load<f32>(gOut2 + at) + g;
      store<f32>(gOut2 + at, v);
      direction = flags & NESTEROV ? g + gMomentum * v : v;
    }
    store<f32>(gOut + at, param - gLr * direction);
    return;
  }
  let v = value;
  if (flags & HAS_BIAS) v += load<f32>(gBias + (<usize>n << 2));
  const kept = flags & (DROPOUT_FORWARD | DROPOUT_BACKWARD) ? keptOne(i) : true;
  if (flags & DROPOUT_BACKWARD) v = kept ? v * gScale : 0;
  const actGrad = (flags >> ACT_GRAD_SHIFT) & 3;
  if (actGrad != 0) v *= derivative(load<f32>(gAux + at), actGrad);
  const act = (flags >> ACT_SHIFT) & 3;
  if (act != 0) v = f32x4.extract_lane(activate4(f32x4.splat(v), act), 0);
  store<f32>(gOut + at, v);
  if (flags & DROPOUT_FORWARD) store<f32>(gOut2 + at, kept ? v * gScale : 0);
}

// ---------------------------------------------------------------------------------------------------
// The tile: rows m0 .. m0+rows-1 (rows ≤ R), columns n0 .. n0+cols-1 (cols ≤ 8) of the product from
// the A panel at pa ([k][4] f32, of which the first R are read) and the B panel at pb (8 f32 per k,
// `sb` bytes apart: 32 packed, N·4 read in place). R (4, 2 or 1) is a constant where this is inlined:
// a last row panel of 1 or 2 rows runs a narrower tile instead of multiplying zeros. With `swap` the
// product is Cᵀ: its element (r, c) is C's (c, r).

// @ts-ignore: decorator
@inline
function tile(R: i32, pa: usize, pb: usize, sb: usize, K: i32, m0: i32, n0: i32, rows: i32, cols: i32, buffer: usize, swap: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  for (let k = 0; k < K; k += 2) {
    let b0 = v128.load(pb);
    let b1 = v128.load(pb, 16);
    let a0 = v128.load32_splat(pa);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    if (R > 1) {
      const a1 = v128.load32_splat(pa, 4);
      c10 = madd(a1, b0, c10);
      c11 = madd(a1, b1, c11);
    }
    if (R > 2) {
      const a2 = v128.load32_splat(pa, 8);
      const a3 = v128.load32_splat(pa, 12);
      c20 = madd(a2, b0, c20);
      c21 = madd(a2, b1, c21);
      c30 = madd(a3, b0, c30);
      c31 = madd(a3, b1, c31);
    }
    if (k + 1 < K) {
      const pb1 = pb + sb;
      b0 = v128.load(pb1);
      b1 = v128.load(pb1, 16);
      a0 = v128.load32_splat(pa, 16);
      c00 = madd(a0, b0, c00);
      c01 = madd(a0, b1, c01);
      if (R > 1) {
        const a1 = v128.load32_splat(pa, 20);
        c10 = madd(a1, b0, c10);
        c11 = madd(a1, b1, c11);
      }
      if (R > 2) {
        const a2 = v128.load32_splat(pa, 24);
        const a3 = v128.load32_splat(pa, 28);
        c20 = madd(a2, b0, c20);
        c21 = madd(a2, b1, c21);
        c30 = madd(a3, b0, c30);
        c31 = madd(a3, b1, c31);
      }
    }
    pa += 32;
    pb += sb << 1;
  }
  if (!swap && cols == NR) {
    if (gPlain) {
      // No epilogue: store the rows as they are.
      const row = <usize>gN << 2;
      const at = gOut + (<usize>(m0 * gN + n0) << 2);
      v128.store(at, c00);
      v128.store(at, c01, 16);
      if (R > 1 && rows > 1) {
        v128.store(at + row, c10);
        v128.store(at + row, c11, 16);
      }
      if (R > 2 && rows > 2) {
        v128.store(at + 2 * row, c20);
        v128.store(at + 2 * row, c21, 16);
      }
      if (R > 3 && rows > 3) {
        v128.store(at + 3 * row, c30);
        v128.store(at + 3 * row, c31, 16);
      }
      return;
    }
    if (gFlags & (DROPOUT_FORWARD | DROPOUT_BACKWARD)) tileMasks(m0, n0, rows);
    storeRow(m0, n0, c00, c01, gMask0, gMask1);
    if (R > 1 && rows > 1) storeRow(m0 + 1, n0, c10, c11, gMask2, gMask3);
    if (R > 2 && rows > 2) storeRow(m0 + 2, n0, c20, c21, gMask4, gMask5);
    if (R > 3 && rows > 3) storeRow(m0 + 3, n0, c30, c31, gMask6, gMask7);
    return;
  }
  v128.store(buffer, c00);
  v128.store(buffer, c01, 16);
  v128.store(buffer, c10, 32);
  v128.store(buffer, c11, 48);
  v128.store(buffer, c20, 64);
  v128.store(buffer, c21, 80);
  v128.store(buffer, c30, 96);
  v128.store(buffer, c31, 112);
  if (swap) {
    // Column c of the tile is row n0 + c of C; store it along C's row (consecutive mask bits).
    for (let c = 0; c < cols; c++) {
      for (let r = 0; r < rows; r++) storeOne(n0 + c, m0 + r, load<f32>(buffer + (<usize>(r * NR + c) << 2)));
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) storeOne(m0 + r, n0 + c, load<f32>(buffer + (<usize>(r * NR + c) << 2)));
  }
}

// The tile for `rows` rows (a 4-row tile for 3 or 4, else the 2- or 1-row one), C or Cᵀ.
// @ts-ignore: decorator
@inline
function anyTile(pa: usize, pb: usize, sb: usize, K: i32, m0: i32, n0: i32, rows: i32, cols: i32, buffer: usize, swap: bool): void {
  if (rows > 2) tile(4, pa, pb, sb, K, m0, n0, rows, cols, buffer, swap);
  else if (rows == 2) tile(2, pa, pb, sb, K, m0, n0, rows, cols, buffer, swap);
  else tile(1, pa, pb, sb, K, m0, n0, rows, cols, buffer, swap);
}

// ---------------------------------------------------------------------------------------------------
// Packing.

// Panel i of opA: rows 4i .. 4i+3 as [k][4] at dst; with colsum, their sums over k.
function packA(A: usize, dst: usize, M: i32, K: i32, transA: bool, i: i32, colsum: usize): void {
  const m0 = i * MR;
  let sum = f32x4.splat(0);
  if (m0 + MR <= M) {
    if (transA) {
      // opA[m, k] = A[k·M + m]: the 4 rows at one k are contiguous.
      let src = A + (<usize>m0 << 2);
      const stride = <usize>M << 2;
      for (let k = 0; k < K; k++) {
        const v = v128.load(src);
        v128.store(dst + (<usize>k << 4), v);
        sum = f32x4.add(sum, v);
        src += stride;
      }
    } else {
      // opA[m, k] = A[m·K + k]: 4×4 blocks of the 4 rows, transposed.
      const rowBytes = <usize>K << 2;
      const r0 = A + <usize>m0 * rowBytes;
      const r1 = r0 + rowBytes;
      const r2 = r1 + rowBytes;
      const r3 = r2 + rowBytes;
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const off = <usize>k << 2;
        const x0 = v128.load(r0 + off);
        const x1 = v128.load(r1 + off);
        const x2 = v128.load(r2 + off);
        const x3 = v128.load(r3 + off);
        const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5);
        const t1 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
        const t2 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
        const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
        const o0 = i32x4.shuffle(t0, t2, 0, 1, 4, 5);
        const o1 = i32x4.shuffle(t0, t2, 2, 3, 6, 7);
        const o2 = i32x4.shuffle(t1, t3, 0, 1, 4, 5);
        const o3 = i32x4.shuffle(t1, t3, 2, 3, 6, 7);
        const d = dst + (<usize>k << 4);
        v128.store(d, o0);
        v128.store(d, o1, 16);
        v128.store(d, o2, 32);
        v128.store(d, o3, 48);
        sum = f32x4.add(f32x4.add(f32x4.add(f32x4.add(sum, o0), o1), o2), o3);
      }
      for (; k < K; k++) {
        const off = <usize>k << 2;
        let v = f32x4.splat(load<f32>(r0 + off));
        v = f32x4.replace_lane(v, 1, load<f32>(r1 + off));
        v = f32x4.replace_lane(v, 2, load<f32>(r2 + off));
        v = f32x4.replace_lane(v, 3, load<f32>(r3 + off));
        v128.store(dst + (<usize>k << 4), v);
        sum = f32x4.add(sum, v);
      }
    }
  } else {
    // The last, partial panel: rows past M are zero.
    for (let k = 0; k < K; k++) {
      const d = dst + (<usize>k << 4);
      v128.store(d, f32x4.splat(0));
      for (let r = 0; r < M - m0; r++) {
        const m = m0 + r;
        store<f32>(d + (<usize>r << 2), load<f32>(A + (<usize>(transA ? k * M + m : m * K + k) << 2)));
      }
      sum = f32x4.add(sum, v128.load(d));
    }
  }
  if (colsum != 0) {
    const rows = min(MR, M - m0);
    const out = colsum + (<usize>m0 << 2);
    store<f32>(out, f32x4.extract_lane(sum, 0));
    if (rows > 1) store<f32>(out, f32x4.extract_lane(sum, 1), 4);
    if (rows > 2) store<f32>(out, f32x4.extract_lane(sum, 2), 8);
    if (rows > 3) store<f32>(out, f32x4.extract_lane(sum, 3), 12);
  }
}

// Panel j of opB: columns 8j .. 8j+7 as [k][8] at dst; with `pair` (!transB, both panels full) also
// panel j + 1 at dst + 32·K.
function packB(B: usize, dst: usize, N: i32, K: i32, transB: bool, j: i32, pair: bool): void {
  const n0 = j * NR;
  if (n0 + NR <= N) {
    if (!transB) {
      // opB[k, n] = B[k·N + n]: the 8 columns at one k are contiguous. With `pair`, panel j + 1 (at
      // dst + 32·K) too: the 16 columns are one 64-byte line of B when B is 64-byte aligned.
      let src = B + (<usize>n0 << 2);
      const stride = <usize>N << 2;
      if (pair) {
        const dst1 = dst + (<usize>K << 5);
        for (let k = 0; k < K; k++) {
          const d = <usize>k << 5;
          v128.store(dst + d, v128.load(src));
          v128.store(dst + d, v128.load(src, 16), 16);
          v128.store(dst1 + d, v128.load(src, 32));
          v128.store(dst1 + d, v128.load(src, 48), 16);
          src += stride;
        }
        return;
      }
      for (let k = 0; k < K; k++) {
        const d = dst + (<usize>k << 5);
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        src += stride;
      }
    } else {
      if (pair) {
        packB(B, dst, N, K, transB, j, false);
        packB(B, dst + (<usize>K << 5), N, K, transB, j + 1, false);
        return;
      }
      // opB[k, n] = B[n·K + k]: 4×4 blocks of the 8 rows of B, transposed.
      const rowBytes = <usize>K << 2;
      const r0 = B + <usize>n0 * rowBytes;
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const off = <usize>k << 2;
        const d = dst + (<usize>k << 5);
        for (let half = 0; half < 2; half++) {
          const base = r0 + <usize>(half * 4) * rowBytes + off;
          const x0 = v128.load(base);
          const x1 = v128.load(base + rowBytes);
          const x2 = v128.load(base + 2 * rowBytes);
          const x3 = v128.load(base + 3 * rowBytes);
          const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5);
          const t1 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
          const t2 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
          const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
          const h = d + (<usize>half << 4);
          v128.store(h, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
          v128.store(h, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 32);
          v128.store(h, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 64);
          v128.store(h, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 96);
        }
      }
      for (; k < K; k++) {
        const d = dst + (<usize>k << 5);
        for (let c = 0; c < NR; c++) {
          store<f32>(d + (<usize>c << 2), load<f32>(r0 + <usize>c * rowBytes + (<usize>k << 2)));
        }
      }
    }
  } else {
    // The last, partial panel: columns past N are zero.
    for (let k = 0; k < K; k++) {
      const d = dst + (<usize>k << 5);
      v128.store(d, f32x4.splat(0));
      v128.store(d, f32x4.splat(0), 16);
      for (let c = 0; c < N - n0; c++) {
        const n = n0 + c;
        store<f32>(d + (<usize>c << 2), load<f32>(B + (<usize>(transB ? n * K + k : k * N + n) << 2)));
      }
    }
  }
}

// Rows k0 .. k1−1 of every full panel of opB stored [K, N] (!transB): panel by panel, each reading the
// rows' 32 bytes at one column panel. The k-block's rows stream in order across the panels (a few
// sequential streams the prefetcher follows), where packing one panel over the whole K (packB) reads a
// line from each of K rows N·4 bytes apart: for N = 1024, one 4 KiB page per k, neither prefetched nor
// in the TLB for long.
function packBRows(B: usize, packed: usize, N: i32, K: i32, k0: i32, k1: i32): void {
  const full = N / NR;
  const stride = <usize>N << 2;
  const panelBytes = <usize>K << 5;
  for (let j = 0; j < full; j++) {
    let src = B + ((<usize>k0 * <usize>N + <usize>(j * NR)) << 2);
    let dst = packed + <usize>j * panelBytes + (<usize>k0 << 5);
    for (let k = k0; k < k1; k++) {
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
      src += stride;
      dst += 32;
    }
  }
}

// Rows of opB per unit of packBRows in matmul_pack.
const K_BLOCK: i32 = 16;

// Scratch layout: packed A (⌈M/4⌉ panels of 16·K bytes); packed B (⌈N/8⌉ panels of 32·K bytes; in
// B_DIRECT mode one, for a partial last panel; in B_LOCAL mode two per part); then one 128-byte tile
// buffer per part; the start rounded up to 16 bytes. With SWAP, M and N (and A and B) trade places.
// @ts-ignore: decorator
@inline
function scratchBase(block: usize): usize {
  return (load<usize>(block, W_SCRATCH) + 15) & ~(<usize>15);
}

// The product the tiles compute: opA·opB, or with SWAP opBᵀ·opAᵀ (= Cᵀ).
let pM: i32 = 0;
let pN: i32 = 0;
let pA: usize = 0;
let pB: usize = 0;
let pTransA: bool = false;
let pTransB: bool = false;

function readProduct(block: usize): void {
  const flags = load<u32>(block, W_FLAGS);
  const M = load<i32>(block, W_M);
  const N = load<i32>(block, W_N);
  const A = load<usize>(block, W_A);
  const B = load<usize>(block, W_B);
  const transA = (flags & TRANS_A) != 0;
  const transB = (flags & TRANS_B) != 0;
  if (flags & SWAP) {
    pM = N;
    pN = M;
    pA = B;
    pB = A;
    pTransA = !transB;
    pTransB = !transA;
  } else {
    pM = M;
    pN = N;
    pA = A;
    pB = B;
    pTransA = transA;
    pTransB = transB;
  }
}

/** Phase 1: packs the panels of opA (with the column sums) and of opB (B_PACKED), split over parts. */
export function matmul_pack(block: usize, step: usize, part: i32, parts: i32): void {
  readProduct(block);
  const M = pM;
  const N = pN;
  const K = load<i32>(block, W_K);
  const flags = load<u32>(block, W_FLAGS);
  const mode = (flags >> B_MODE_SHIFT) & 3;
  const panelsA = (M + MR - 1) / MR;
  const panelsB = (N + NR - 1) / NR;
  const base = scratchBase(block);
  const packedB = base + <usize>panelsA * (<usize>K << 4);
  const panelBBytes = <usize>K << 5;
  // Without SWAP (which colSum excludes), opA's rows are C's rows: their sums are the column sums.
  const colsum = flags & COL_SUM ? load<usize>(block, W_COLSUM) : 0;
  // The B panels this phase packs: all of them by pairs, or in place just a partial last one.
  let firstB = 0;
  let lastB = panelsB;
  if (mode == B_LOCAL) firstB = panelsB;
  if (mode == B_DIRECT) firstB = N % NR != 0 ? panelsB - 1 : panelsB;
  // B's units of work, each a group of `weight` units (a row panel of A weighs 1; a group its bytes
  // in row panels of A), split evenly with A's. B stored [K, N] and packed here: blocks of K_BLOCK
  // rows across all full panels (packBRows), then a partial last panel on its own; else pairs of
  // column panels (four times a row panel's bytes).
  const rowOrder = mode == B_PACKED && !pTransB;
  const kBlocks = (K + K_BLOCK - 1) / K_BLOCK;
  const groups = rowOrder ? kBlocks + (N % NR != 0 ? 1 : 0) : (lastB - firstB + 1) >> 1;
  const weight = rowOrder ? max(1, (N * K_BLOCK) / (4 * K)) : 4;
  const units = <i64>(panelsA + weight * groups);
  const from = <i32>((units * part) / parts);
  const to = <i32>((units * (part + 1)) / parts);
  for (let u = from; u < to; u++) {
    if (u < panelsA) {
      packA(pA, base + <usize>u * (<usize>K << 4), M, K, pTransA, u, colsum);
      continue;
    }
    if ((u - panelsA) % weight != 0) continue;
    const g = (u - panelsA) / weight;
    if (rowOrder) {
      if (g < kBlocks) packBRows(pB, packedB, N, K, g * K_BLOCK, min(K, (g + 1) * K_BLOCK));
      else packB(pB, packedB + <usize>(panelsB - 1) * panelBBytes, N, K, false, panelsB - 1, false);
      continue;
    }
    const j = firstB + 2 * g;
    const dst = packedB + <usize>(j - firstB) * panelBBytes;
    const pair = j + 1 < lastB && (j + 2) * NR <= N;
    packB(pB, dst, N, K, pTransB, j, pair);
    if (!pair && j + 1 < lastB) packB(pB, dst + panelBBytes, N, K, pTransB, j + 1, false);
  }
}

/**
 * Phase 2: every tile, in cache-blocked order: blocks of `panelRows` row panels (their A panels stay in
 * cache), in each block every column panel (its B panel stays in L1) against the block's row panels.
 * Part p runs tiles [T·p/parts, T·(p+1)/parts) of that order.
 */
export function matmul_compute(block: usize, step: usize, part: i32, parts: i32): void {
  readEpilogue(block, step);
  readProduct(block);
  const M = pM;
  const N = pN;
  const K = load<i32>(block, W_K);
  if (gFlags & UPDATE) {
    // No step once the loss has counted a non-finite value (ops/softmax-xent.ts METRICS.nonFinite).
    if (load<f32>(load<usize>(block, W_METRICS), 12) > 0) return;
  }
  const swap = (gFlags & SWAP) != 0;
  const mode = (gFlags >> B_MODE_SHIFT) & 3;
  const panelsA = (M + MR - 1) / MR;
  const panelsB = (N + NR - 1) / NR;
  const base = scratchBase(block);
  const panelABytes = <usize>K << 4;
  const panelBBytes = <usize>K << 5;
  const packedB = base + <usize>panelsA * panelABytes;
  const bPanels: i32 = mode == B_PACKED ? panelsB : mode == B_DIRECT ? 1 : 2 * parts;
  const ownPanel = packedB + <usize>(2 * part) * panelBBytes; // B_LOCAL: two panels per part
  let localPair = -1; // B_LOCAL: the panel packed with the one before, in ownPanel's second half
  const buffer = packedB + <usize>bPanels * panelBBytes + <usize>part * TILE_BYTES;
  const panelRows = max(1, load<i32>(block, W_PANEL_ROWS));
  const tiles = <i64>panelsA * <i64>panelsB;
  const from = (tiles * part) / parts;
  const to = (tiles * (part + 1)) / parts;
  let t: i64 = 0;
  for (let i0 = 0; i0 < panelsA; i0 += panelRows) {
    const i1 = min(panelsA, i0 + panelRows);
    const blockTiles = <i64>(i1 - i0) * <i64>panelsB;
    if (t + blockTiles <= from) {
      t += blockTiles;
      continue;
    }
    if (t >= to) return;
    for (let j = 0; j < panelsB; j++) {
      const rowPanels = <i64>(i1 - i0);
      if (t + rowPanels <= from || t >= to) {
        t += rowPanels;
        continue;
      }
      const n0 = j * NR;
      const cols = min(NR, N - n0);
      let pb = packedB + <usize>j * panelBBytes;
      let sb: usize = 32;
      if (mode == B_DIRECT) {
        if (cols == NR) {
          pb = pB + (<usize>n0 << 2);
          sb = <usize>N << 2;
        } else {
          pb = packedB;
        }
      } else if (mode == B_LOCAL) {
        if (j == localPair) {
          // Packed with panel j − 1.
          pb = ownPanel + panelBBytes;
        } else {
          // Two panels at once where they share B's cache lines (stored [K, N]).
          const pair = !pTransB && (j + 2) * NR <= N;
          packB(pB, ownPanel, N, K, pTransB, j, pair);
          localPair = pair ? j + 1 : -1;
          pb = ownPanel;
        }
      }
      for (let i = i0; i < i1; i++) {
        if (t >= from && t < to) {
          const m0 = i * MR;
          const rows = min(MR, M - m0);
          if (swap) anyTile(base + <usize>i * panelABytes, pb, sb, K, m0, n0, rows, cols, buffer, true);
          else anyTile(base + <usize>i * panelABytes, pb, sb, K, m0, n0, rows, cols, buffer, false);
        }
        t++;
      }
    }
  }
}
