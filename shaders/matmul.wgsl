// matmul: C[M, N] = Σ_k opA[m, k] · opB[k, n], f32 row-major, with a fused epilogue.
// A is stored [M, K] ([K, M] when TransA); B is stored [K, N] ([N, K] when TransB). An MLP layer with
// PyTorch's W [O, I] uses Y = X·Wᵀ (TransB), dX = dY·W and dW = dYᵀ·X (TransA).
// Needs philox.wgsl, activation.wgsl, sgd_step.wgsl, matmul_acc.wgsl (the accumulator and order of
// sums) and matmul_epilogue.wgsl (uniforms, bindings 2..9, the fused epilogue and its order: bias,
// dropout mask, activation derivative, activation; or the SGD update; the column sums of opA) joined
// in front; with Adam, adam_step.wgsl, matmul_acc.wgsl and matmul_adam_epilogue.wgsl (bindings 2..10).
// CPU reference: matmulReference() in src/ops/matmul.ts.
// Fast variant: matmul_vec4.wgsl (vec4 loads, same order of sums, same bits) where it fits.
//
// Design, from measurements on the software adapter (Chromium's SwiftShader, see docs): each
// invocation computes an 8×8 block of C in registers from plain global loads. Loads dominate there
// (each is a bounds-checked 4-lane gather), so a bigger block means more FMAs per load: 4×4 blocks ran
// at about half the speed of 8×8; 8×16 spilled. Shared-memory tiling lost (barriers are expensive).
// The block is an Acc of 16 named vec4s (matmul_acc.wgsl), summed in groups of 4 k.
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

// Offset of opA's row m (clamped into range) at k = 0.
fn a_row(m: u32) -> u32 {
  let row = min(m, params.M - 1u);
  return select(row * params.K, row, TransA);
}

// Offset of opB's column n (clamped into range) at k = 0.
fn b_col(n: u32) -> u32 {
  let col = min(n, params.N - 1u);
  return select(col, col * params.K, TransB);
}

// opA's rows m0..m0+7 at k: rows 0..3 in column 0, rows 4..7 in column 1.
fn a_at(ra: array<u32, 8>, k: u32) -> mat2x4f {
  let ka = k * select(1u, params.M, TransA);
  return mat2x4f(vec4f(a[ra[0] + ka], a[ra[1] + ka], a[ra[2] + ka], a[ra[3] + ka]),
                 vec4f(a[ra[4] + ka], a[ra[5] + ka], a[ra[6] + ka], a[ra[7] + ka]));
}

// opB's columns n0..n0+7 at k: columns 0..3 in column 0, 4..7 in column 1.
fn b_at(cb: array<u32, 8>, k: u32) -> mat2x4f {
  let kb = k * select(params.N, 1u, TransB);
  return mat2x4f(vec4f(b[cb[0] + kb], b[cb[1] + kb], b[cb[2] + kb], b[cb[3] + kb]),
                 vec4f(b[cb[4] + kb], b[cb[5] + kb], b[cb[6] + kb], b[cb[7] + kb]));
}

@compute @workgroup_size(WorkgroupX, WorkgroupY)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m0 = gid.y * Block;
  let n0 = gid.x * Block;
  if (m0 >= params.M || n0 >= params.N) {
    return;
  }
  let ra = array<u32, 8>(a_row(m0), a_row(m0 + 1u), a_row(m0 + 2u), a_row(m0 + 3u),
                         a_row(m0 + 4u), a_row(m0 + 5u), a_row(m0 + 6u), a_row(m0 + 7u));
  let cb = array<u32, 8>(b_col(n0), b_col(n0 + 1u), b_col(n0 + 2u), b_col(n0 + 3u),
                         b_col(n0 + 4u), b_col(n0 + 5u), b_col(n0 + 6u), b_col(n0 + 7u));
  var acc = Acc();
  // ColSum: Σ_k opA[m, k] for the block's rows, added one k at a time, by the first column block only.
  let sums = ColSum && n0 == 0u;
  var sum_lo = vec4f();
  var sum_hi = vec4f();
  let k4_end = params.K / 4u;
  for (var k4 = 0u; k4 < k4_end; k4++) {
    let k = 4u * k4;
    let a0 = a_at(ra, k);
    let a1 = a_at(ra, k + 1u);
    let a2 = a_at(ra, k + 2u);
    let a3 = a_at(ra, k + 3u);
    // Row r of opA at k .. k+3: rows 0..3 are lo's columns, 4..7 hi's.
    let lo = transpose(mat4x4f(a0[0], a1[0], a2[0], a3[0]));
    let hi = transpose(mat4x4f(a0[1], a1[1], a2[1], a3[1]));
    let b0 = b_at(cb, k);
    let b1 = b_at(cb, k + 1u);
    let b2 = b_at(cb, k + 2u);
    let b3 = b_at(cb, k + 3u);
    add_group(&acc, array<vec4f, 8>(lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]),
              transpose(mat4x4f(b0[0], b1[0], b2[0], b3[0])), transpose(mat4x4f(b0[1], b1[1], b2[1], b3[1])));
    if (sums) {
      sum_lo += a0[0]; sum_lo += a1[0]; sum_lo += a2[0]; sum_lo += a3[0];
      sum_hi += a0[1]; sum_hi += a1[1]; sum_hi += a2[1]; sum_hi += a3[1];
    }
  }
  for (var k = 4u * k4_end; k < params.K; k++) {
    let ak = a_at(ra, k);
    let bk = b_at(cb, k);
    acc = mac(acc, ak[0], ak[1], bk[0], bk[1]);
    if (sums) {
      sum_lo += ak[0];
      sum_hi += ak[1];
    }
  }
  store_acc(m0, n0, acc, sum_lo, sum_hi);
}
