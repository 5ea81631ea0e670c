// matmul: C[M, N] = Σ_k opA[m, k] · opB[k, n], f32 row-major, with a fused epilogue.
// A is stored [M, K] ([K, M] when TransA); B is stored [K, N] ([N, K] when TransB). An MLP layer with
// PyTorch's W [O, I] uses Y = X·Wᵀ (TransB), dX = dY·W and dW = dYᵀ·X (TransA).
// Needs philox.wgsl, activation.wgsl and matmul_epilogue.wgsl (uniforms, bindings 2..9, the fused
// epilogue and its order: bias, dropout mask, activation derivative, activation; or the SGD update;
// the column sums of opA) joined in front.
// CPU reference: matmulReference() in src/ops/matmul.ts.
// Fast variant for Y = X·Wᵀ with K % 4 == 0: matmul_vec4.wgsl (same semantics, vec4 loads along K).
//
// Design, from measurements on the software adapter (Chromium's SwiftShader, see docs): each
// invocation computes an 8×8 block of C in registers from plain global loads. Loads dominate there
// (each is a bounds-checked 4-lane gather), so a bigger block means more FMAs per load: 4×4 blocks ran
// at about half the speed of 8×8; 8×16 spilled. Shared-memory tiling lost (barriers are expensive).
// The block is 16 named vec4 accumulators because WGSL function arrays cannot be sized by overrides
// and a dynamically indexed private array becomes memory traffic on SwiftShader.
//
// Guards: each row and column index is clamped into range once, so no load is ever out of bounds;
// rows and columns past M or N compute values that are never stored (stores are guarded), and the
// k loop stops exactly at K. Every shape is correct.

override TransA: bool = false;
override TransB: bool = false;
override WorkgroupX: u32 = 8u; // invocations along N
override WorkgroupY: u32 = 8u; // invocations along M

// Output rows and columns per invocation. Fixed: the accumulators below are written out for 8×8.
const Block: u32 = 8u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;

// Offset of opA's row m (clamped into range) at k = 0; successive k are a_step apart.
fn a_row(m: u32) -> u32 {
  let row = min(m, params.M - 1u);
  return select(row * params.K, row, TransA);
}

// Offset of opB's column n (clamped into range) at k = 0; successive k are b_step apart.
fn b_col(n: u32) -> u32 {
  let col = min(n, params.N - 1u);
  return select(col, col * params.K, TransB);
}

@compute @workgroup_size(WorkgroupX, WorkgroupY)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m0 = gid.y * Block;
  let n0 = gid.x * Block;
  if (m0 >= params.M || n0 >= params.N) {
    return;
  }
  let a_step = select(1u, params.M, TransA);
  let b_step = select(params.N, 1u, TransB);
  let ra = array<u32, 8>(a_row(m0), a_row(m0 + 1u), a_row(m0 + 2u), a_row(m0 + 3u),
                         a_row(m0 + 4u), a_row(m0 + 5u), a_row(m0 + 6u), a_row(m0 + 7u));
  let cb = array<u32, 8>(b_col(n0), b_col(n0 + 1u), b_col(n0 + 2u), b_col(n0 + 3u),
                         b_col(n0 + 4u), b_col(n0 + 5u), b_col(n0 + 6u), b_col(n0 + 7u));
  // acc{row}{lo: columns 0..3, hi: columns 4..7}
  var acc0lo = vec4f(); var acc0hi = vec4f(); var acc1lo = vec4f(); var acc1hi = vec4f();
  var acc2lo = vec4f(); var acc2hi = vec4f(); var acc3lo = vec4f(); var acc3hi = vec4f();
  var acc4lo = vec4f(); var acc4hi = vec4f(); var acc5lo = vec4f(); var acc5hi = vec4f();
  var acc6lo = vec4f(); var acc6hi = vec4f(); var acc7lo = vec4f(); var acc7hi = vec4f();
  // ColSum: Σ_k opA[m, k] for the block's rows, summed by the first column block only.
  let sums = ColSum && n0 == 0u;
  var sum_lo = vec4f();
  var sum_hi = vec4f();
  for (var k = 0u; k < params.K; k++) {
    let ka = k * a_step;
    let kb = k * b_step;
    let blo = vec4f(b[cb[0] + kb], b[cb[1] + kb], b[cb[2] + kb], b[cb[3] + kb]);
    let bhi = vec4f(b[cb[4] + kb], b[cb[5] + kb], b[cb[6] + kb], b[cb[7] + kb]);
    let a0 = a[ra[0] + ka];
    let a1 = a[ra[1] + ka];
    let a2 = a[ra[2] + ka];
    let a3 = a[ra[3] + ka];
    let a4 = a[ra[4] + ka];
    let a5 = a[ra[5] + ka];
    let a6 = a[ra[6] + ka];
    let a7 = a[ra[7] + ka];
    acc0lo += a0 * blo; acc0hi += a0 * bhi;
    acc1lo += a1 * blo; acc1hi += a1 * bhi;
    acc2lo += a2 * blo; acc2hi += a2 * bhi;
    acc3lo += a3 * blo; acc3hi += a3 * bhi;
    acc4lo += a4 * blo; acc4hi += a4 * bhi;
    acc5lo += a5 * blo; acc5hi += a5 * bhi;
    acc6lo += a6 * blo; acc6hi += a6 * bhi;
    acc7lo += a7 * blo; acc7hi += a7 * bhi;
    if (sums) {
      sum_lo += vec4f(a0, a1, a2, a3);
      sum_hi += vec4f(a4, a5, a6, a7);
    }
  }
  store_colsum(m0, n0, sum_lo, sum_hi);
  store_block(m0, n0, array<vec4f, 16>(acc0lo, acc0hi, acc1lo, acc1hi, acc2lo, acc2hi, acc3lo, acc3hi,
                                        acc4lo, acc4hi, acc5lo, acc5hi, acc6lo, acc6hi, acc7lo, acc7hi));
}
