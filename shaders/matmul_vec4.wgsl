// matmul_vec4: matmul.wgsl's fast variant for the forward GEMM Y = X·Wᵀ: C[M, N] = Σ_k A[m, k] · B[n, k]
// with A stored [M, K] and B stored [N, K] (TransB, not TransA) and K % 4 == 0, reading both operands
// as vec4 along K. Same semantics as matmul.wgsl, epilogue included: it is the same matmul_epilogue.wgsl.
// Needs philox.wgsl, activation.wgsl and matmul_epilogue.wgsl joined in front.
// CPU reference: matmulReference() in src/ops/matmul.ts.
//
// Design: matmul.wgsl's, with 4 times fewer loads. Each invocation computes an 8×8 block of C in 16
// named vec4 accumulators; per step of 4 along K it loads 8 rows of A and 8 rows of B as vec4s (16
// loads for 256 multiply-adds, where matmul.wgsl does 64 loads). Measured 10–20% faster on the
// forward shapes on SwiftShader (docs/performance.md). Within a step the 4 products of a dot are
// summed before they reach the accumulator, so the rounding differs slightly from matmul.wgsl's.
//
// Guards: as in matmul.wgsl, row and column indices are clamped into range once (no load out of
// bounds), stores are guarded, and the loop stops exactly at K / 4.

override WorkgroupX: u32 = 8u; // invocations along N
override WorkgroupY: u32 = 8u; // invocations along M

// Output rows and columns per invocation. Fixed: the accumulators below are written out for 8×8.
const Block: u32 = 8u;

@group(0) @binding(0) var<storage, read> a: array<vec4f>;  // [M, K / 4]
@group(0) @binding(1) var<storage, read> b: array<vec4f>;  // [N, K / 4]

// Offset, in vec4s, of A's row m (clamped into range).
fn a_row(m: u32) -> u32 {
  return min(m, params.M - 1u) * (params.K / 4u);
}

// Offset, in vec4s, of B's row n, i.e. of opB's column n (clamped into range).
fn b_col(n: u32) -> u32 {
  return min(n, params.N - 1u) * (params.K / 4u);
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
  // acc{row}{lo: columns 0..3, hi: columns 4..7}
  var acc0lo = vec4f(); var acc0hi = vec4f(); var acc1lo = vec4f(); var acc1hi = vec4f();
  var acc2lo = vec4f(); var acc2hi = vec4f(); var acc3lo = vec4f(); var acc3hi = vec4f();
  var acc4lo = vec4f(); var acc4hi = vec4f(); var acc5lo = vec4f(); var acc5hi = vec4f();
  var acc6lo = vec4f(); var acc6hi = vec4f(); var acc7lo = vec4f(); var acc7hi = vec4f();
  for (var k4 = 0u; k4 < params.K / 4u; k4++) {
    // Columns n0..n0+3 and n0+4..n0+7 of opB at k = 4·k4 .. 4·k4+3, one column per matrix column:
    // a row vector times blo is (dot(a, b[n0]), dot(a, b[n0+1]), dot(a, b[n0+2]), dot(a, b[n0+3])).
    let blo = mat4x4f(b[cb[0] + k4], b[cb[1] + k4], b[cb[2] + k4], b[cb[3] + k4]);
    let bhi = mat4x4f(b[cb[4] + k4], b[cb[5] + k4], b[cb[6] + k4], b[cb[7] + k4]);
    let a0 = a[ra[0] + k4];
    let a1 = a[ra[1] + k4];
    let a2 = a[ra[2] + k4];
    let a3 = a[ra[3] + k4];
    let a4 = a[ra[4] + k4];
    let a5 = a[ra[5] + k4];
    let a6 = a[ra[6] + k4];
    let a7 = a[ra[7] + k4];
    acc0lo += a0 * blo; acc0hi += a0 * bhi;
    acc1lo += a1 * blo; acc1hi += a1 * bhi;
    acc2lo += a2 * blo; acc2hi += a2 * bhi;
    acc3lo += a3 * blo; acc3hi += a3 * bhi;
    acc4lo += a4 * blo; acc4hi += a4 * bhi;
    acc5lo += a5 * blo; acc5hi += a5 * bhi;
    acc6lo += a6 * blo; acc6hi += a6 * bhi;
    acc7lo += a7 * blo; acc7hi += a7 * bhi;
  }
  store_block(m0, n0, array<vec4f, 16>(acc0lo, acc0hi, acc1lo, acc1hi, acc2lo, acc2hi, acc3lo, acc3hi,
                                        acc4lo, acc4hi, acc5lo, acc5hi, acc6lo, acc6hi, acc7lo, acc7hi));
}
