// matmul_vec4: matmul.wgsl's fast variant: the same C[M, N] = Σ_k opA[m, k] · opB[k, n] with the same
// layouts and overrides (TransA, TransB), reading both operands as vec4 along whichever dimension is
// contiguous in memory: A along K when stored [M, K], along M when stored [K, M] (TransA); B along N
// when stored [K, N], along K when stored [N, K] (TransB). So it needs K % 4 == 0 for A [M, K] and for
// B [N, K], M % 4 == 0 for TransA, N % 4 == 0 for B [K, N] (`matmulVec4Fits` in src/ops/matmul.ts).
// Needs philox.wgsl, activation.wgsl, sgd_step.wgsl, matmul_acc.wgsl and matmul_epilogue.wgsl (or, with
// Adam, adam_step.wgsl, matmul_acc.wgsl and matmul_adam_epilogue.wgsl) joined in front (same epilogue).
// CPU reference: matmulReference() in src/ops/matmul.ts.
//
// Design: matmul.wgsl's 8×8 block per invocation and its exact order of sums (`add_group` and `mac` of
// matmul_acc.wgsl: the same bits), with 4 times fewer loads: per 4 steps of k it loads 16 vec4s
// (8 of A, 8 of B) where matmul.wgsl loads 64 floats; vectors that run the wrong way are transposed
// in registers. On SwiftShader that is 10–15% faster than matmul.wgsl; on lavapipe it is sometimes
// slower, which is why the autotuner (src/webgpu/autotune.ts) chooses between them.
//
// Guards: row and column indices are clamped into range (no load is out of bounds); rows and columns
// past M or N compute values that are never stored; the k loop stops exactly at K.

override TransA: bool = false;
override TransB: bool = false;
override WorkgroupX: u32 = 8u; // invocations along N
override WorkgroupY: u32 = 8u; // invocations along M

// Output rows and columns per invocation. Fixed: the accumulators below are written out for 8×8.
const Block: u32 = 8u;

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;

// Offset, in vec4s, of row `i` (clamped below `rows`) of a [rows, K] matrix.
fn row_along_k(i: u32, rows: u32) -> u32 {
  return min(i, rows - 1u) * (params.K / 4u);
}

// The vec4 indices, within one row of a [K, width] matrix, of columns i0..i0+3 and i0+4..i0+7. The
// second is clamped into range: when i0 + 4 ≥ width its values are never stored.
fn across_row(i0: u32, width: u32) -> vec2u {
  return vec2u(i0 / 4u, min(i0 + 4u, width - 4u) / 4u);
}

@compute @workgroup_size(WorkgroupX, WorkgroupY)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m0 = gid.y * Block;
  let n0 = gid.x * Block;
  if (m0 >= params.M || n0 >= params.N) {
    return;
  }
  // A [M, K]: its 8 rows' offsets. A [K, M]: the block's two vec4 columns and the row stride.
  let ra = array<u32, 8>(row_along_k(m0, params.M), row_along_k(m0 + 1u, params.M),
                         row_along_k(m0 + 2u, params.M), row_along_k(m0 + 3u, params.M),
                         row_along_k(m0 + 4u, params.M), row_along_k(m0 + 5u, params.M),
                         row_along_k(m0 + 6u, params.M), row_along_k(m0 + 7u, params.M));
  let am = across_row(m0, params.M);
  let a_stride = params.M / 4u;
  // B [N, K]: its 8 rows' (opB's columns') offsets. B [K, N]: the block's two vec4 columns and stride.
  let cb = array<u32, 8>(row_along_k(n0, params.N), row_along_k(n0 + 1u, params.N),
                         row_along_k(n0 + 2u, params.N), row_along_k(n0 + 3u, params.N),
                         row_along_k(n0 + 4u, params.N), row_along_k(n0 + 5u, params.N),
                         row_along_k(n0 + 6u, params.N), row_along_k(n0 + 7u, params.N));
  let bn = across_row(n0, params.N);
  let b_stride = params.N / 4u;

  var acc = Acc();
  // ColSum: Σ_k opA[m, k] for the block's rows, added one k at a time, by the first column block only.
  let sums = ColSum && n0 == 0u;
  var sum_lo = vec4f();
  var sum_hi = vec4f();
  let k4_end = params.K / 4u;
  for (var k4 = 0u; k4 < k4_end; k4++) {
    // Row r of opA at k .. k+3, for the block's 8 rows.
    var av: array<vec4f, 8>;
    if (TransA) {
      // Rows k .. k+3 of A [K, M], each 8 wide: transposed, row m of opA over those 4 k.
      let r = 4u * k4 * a_stride;
      let lo = transpose(mat4x4f(a[r + am.x], a[r + a_stride + am.x], a[r + 2u * a_stride + am.x],
                                 a[r + 3u * a_stride + am.x]));
      let hi = transpose(mat4x4f(a[r + am.y], a[r + a_stride + am.y], a[r + 2u * a_stride + am.y],
                                 a[r + 3u * a_stride + am.y]));
      av = array<vec4f, 8>(lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]);
    } else {
      av = array<vec4f, 8>(a[ra[0] + k4], a[ra[1] + k4], a[ra[2] + k4], a[ra[3] + k4],
                           a[ra[4] + k4], a[ra[5] + k4], a[ra[6] + k4], a[ra[7] + k4]);
    }
    // Matrices whose column c is opB's column n0 + c (blo) or n0 + 4 + c (bhi) at k .. k+3.
    var blo: mat4x4f;
    var bhi: mat4x4f;
    if (TransB) {
      blo = mat4x4f(b[cb[0] + k4], b[cb[1] + k4], b[cb[2] + k4], b[cb[3] + k4]);
      bhi = mat4x4f(b[cb[4] + k4], b[cb[5] + k4], b[cb[6] + k4], b[cb[7] + k4]);
    } else {
      let r = 4u * k4 * b_stride;
      blo = transpose(mat4x4f(b[r + bn.x], b[r + b_stride + bn.x], b[r + 2u * b_stride + bn.x],
                              b[r + 3u * b_stride + bn.x]));
      bhi = transpose(mat4x4f(b[r + bn.y], b[r + b_stride + bn.y], b[r + 2u * b_stride + bn.y],
                              b[r + 3u * b_stride + bn.y]));
    }
    add_group(&acc, av, blo, bhi);
    if (sums) {
      let lo = transpose(mat4x4f(av[0], av[1], av[2], av[3])); // column j: rows 0..3 at k + j
      let hi = transpose(mat4x4f(av[4], av[5], av[6], av[7]));
      sum_lo += lo[0]; sum_lo += lo[1]; sum_lo += lo[2]; sum_lo += lo[3];
      sum_hi += hi[0]; sum_hi += hi[1]; sum_hi += hi[2]; sum_hi += hi[3];
    }
  }
  // The last K % 4 steps: only A [K, M] with B [K, N] (dW = dYᵀ·X) may have K % 4 != 0, and there
  // both operands are read one k at a time.
  for (var k = 4u * k4_end; k < params.K; k++) {
    let alo = a[k * a_stride + am.x];
    let ahi = a[k * a_stride + am.y];
    acc = mac(acc, alo, ahi, b[k * b_stride + bn.x], b[k * b_stride + bn.y]);
    if (sums) {
      sum_lo += alo;
      sum_hi += ahi;
    }
  }
  store_acc(m0, n0, acc, sum_lo, sum_hi);
}
