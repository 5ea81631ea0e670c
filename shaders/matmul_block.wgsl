// matmul_block: matmul_vec4.wgsl with a smaller block per invocation — BlockM × BlockN of 4×4, 4×8 or
// 8×4 (8×8 is matmul_vec4.wgsl itself) — for shapes whose 8×8 grid has too few invocations to fill a
// GPU (B = 128: 2,048 invocations). Same layouts, overrides, shape constraints (`matmulVec4Fits`) and
// vec4 loads as matmul_vec4.wgsl, and the same order of sums for every output (a group of 4 k as one
// `vec4 × mat4x4`, added to the accumulator; the last K % 4 products one at a time, as in `add_group`
// and `mac` of matmul_acc.wgsl): the same bits, checked on each device by the autotuner.
// Needs philox.wgsl, activation.wgsl, sgd_step.wgsl, matmul_acc.wgsl and matmul_epilogue.wgsl (or, with
// Adam, adam_step.wgsl, matmul_acc.wgsl and matmul_adam_epilogue.wgsl) joined in front.
// CPU reference: matmulReference() in src/ops/matmul.ts.
//
// The accumulators past the block (rows 4..7 when BlockM == 4, columns 4..7 when BlockN == 4) are
// never computed: every use is behind a test of an override, which the pipeline's compile removes.

override TransA: bool = false;
override TransB: bool = false;
override WorkgroupX: u32 = 8u; // invocations along N
override WorkgroupY: u32 = 8u; // invocations along M
override BlockM: u32 = 4u;     // rows per invocation: 4 or 8
override BlockN: u32 = 4u;     // columns per invocation: 4 or 8

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;

// Offset, in vec4s, of row `i` (clamped below `rows`) of a [rows, K] matrix.
fn row_along_k(i: u32, rows: u32) -> u32 {
  return min(i, rows - 1u) * (params.K / 4u);
}

// The vec4 indices, within one row of a [K, width] matrix, of columns i0..i0+3 and i0+4..i0+7 (the
// second clamped into range).
fn across_row(i0: u32, width: u32) -> vec2u {
  return vec2u(i0 / 4u, min(i0 + 4u, width - 4u) / 4u);
}

// add_group of matmul_acc.wgsl on the block's accumulators only.
fn add_group_block(acc: ptr<function, Acc>, rows: array<vec4f, 8>, blo: mat4x4f, bhi: mat4x4f) {
  (*acc).r0lo += rows[0] * blo; (*acc).r1lo += rows[1] * blo;
  (*acc).r2lo += rows[2] * blo; (*acc).r3lo += rows[3] * blo;
  if (BlockN == 8u) {
    (*acc).r0hi += rows[0] * bhi; (*acc).r1hi += rows[1] * bhi;
    (*acc).r2hi += rows[2] * bhi; (*acc).r3hi += rows[3] * bhi;
  }
  if (BlockM == 8u) {
    (*acc).r4lo += rows[4] * blo; (*acc).r5lo += rows[5] * blo;
    (*acc).r6lo += rows[6] * blo; (*acc).r7lo += rows[7] * blo;
    if (BlockN == 8u) {
      (*acc).r4hi += rows[4] * bhi; (*acc).r5hi += rows[5] * bhi;
      (*acc).r6hi += rows[6] * bhi; (*acc).r7hi += rows[7] * bhi;
    }
  }
}

// mac of matmul_acc.wgsl on the block's accumulators only.
fn mac_block(acc: ptr<function, Acc>, alo: vec4f, ahi: vec4f, blo: vec4f, bhi: vec4f) {
  (*acc).r0lo += alo.x * blo; (*acc).r1lo += alo.y * blo;
  (*acc).r2lo += alo.z * blo; (*acc).r3lo += alo.w * blo;
  if (BlockN == 8u) {
    (*acc).r0hi += alo.x * bhi; (*acc).r1hi += alo.y * bhi;
    (*acc).r2hi += alo.z * bhi; (*acc).r3hi += alo.w * bhi;
  }
  if (BlockM == 8u) {
    (*acc).r4lo += ahi.x * blo; (*acc).r5lo += ahi.y * blo;
    (*acc).r6lo += ahi.z * blo; (*acc).r7lo += ahi.w * blo;
    if (BlockN == 8u) {
      (*acc).r4hi += ahi.x * bhi; (*acc).r5hi += ahi.y * bhi;
      (*acc).r6hi += ahi.z * bhi; (*acc).r7hi += ahi.w * bhi;
    }
  }
}

@compute @workgroup_size(WorkgroupX, WorkgroupY)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m0 = gid.y * BlockM;
  let n0 = gid.x * BlockN;
  if (m0 >= params.M || n0 >= params.N) {
    return;
  }
  let ra = array<u32, 8>(row_along_k(m0, params.M), row_along_k(m0 + 1u, params.M),
                         row_along_k(m0 + 2u, params.M), row_along_k(m0 + 3u, params.M),
                         row_along_k(m0 + 4u, params.M), row_along_k(m0 + 5u, params.M),
                         row_along_k(m0 + 6u, params.M), row_along_k(m0 + 7u, params.M));
  let am = across_row(m0, params.M);
  let a_stride = params.M / 4u;
  let cb = array<u32, 8>(row_along_k(n0, params.N), row_along_k(n0 + 1u, params.N),
                         row_along_k(n0 + 2u, params.N), row_along_k(n0 + 3u, params.N),
                         row_along_k(n0 + 4u, params.N), row_along_k(n0 + 5u, params.N),
                         row_along_k(n0 + 6u, params.N), row_along_k(n0 + 7u, params.N));
  let bn = across_row(n0, params.N);
  let b_stride = params.N / 4u;

  var acc = Acc();
  let sums = ColSum && n0 == 0u;
  var sum_lo = vec4f();
  var sum_hi = vec4f();
  let k4_end = params.K / 4u;
  for (var k4 = 0u; k4 < k4_end; k4++) {
    var av: array<vec4f, 8>;
    if (TransA) {
      let r = 4u * k4 * a_stride;
      let lo = transpose(mat4x4f(a[r + am.x], a[r + a_stride + am.x], a[r + 2u * a_stride + am.x],
                                 a[r + 3u * a_stride + am.x]));
      av[0] = lo[0]; av[1] = lo[1]; av[2] = lo[2]; av[3] = lo[3];
      if (BlockM == 8u) {
        let hi = transpose(mat4x4f(a[r + am.y], a[r + a_stride + am.y], a[r + 2u * a_stride + am.y],
                                   a[r + 3u * a_stride + am.y]));
        av[4] = hi[0]; av[5] = hi[1]; av[6] = hi[2]; av[7] = hi[3];
      }
    } else {
      av[0] = a[ra[0] + k4]; av[1] = a[ra[1] + k4]; av[2] = a[ra[2] + k4]; av[3] = a[ra[3] + k4];
      if (BlockM == 8u) {
        av[4] = a[ra[4] + k4]; av[5] = a[ra[5] + k4]; av[6] = a[ra[6] + k4]; av[7] = a[ra[7] + k4];
      }
    }
    var blo: mat4x4f;
    var bhi: mat4x4f;
    if (TransB) {
      blo = mat4x4f(b[cb[0] + k4], b[cb[1] + k4], b[cb[2] + k4], b[cb[3] + k4]);
      if (BlockN == 8u) {
        bhi = mat4x4f(b[cb[4] + k4], b[cb[5] + k4], b[cb[6] + k4], b[cb[7] + k4]);
      }
    } else {
      let r = 4u * k4 * b_stride;
      blo = transpose(mat4x4f(b[r + bn.x], b[r + b_stride + bn.x], b[r + 2u * b_stride + bn.x],
                              b[r + 3u * b_stride + bn.x]));
      if (BlockN == 8u) {
        bhi = transpose(mat4x4f(b[r + bn.y], b[r + b_stride + bn.y], b[r + 2u * b_stride + bn.y],
                                b[r + 3u * b_stride + bn.y]));
      }
    }
    add_group_block(&acc, av, blo, bhi);
    if (sums) {
      let lo = transpose(mat4x4f(av[0], av[1], av[2], av[3]));
      sum_lo += lo[0]; sum_lo += lo[1]; sum_lo += lo[2]; sum_lo += lo[3];
      if (BlockM == 8u) {
        let hi = transpose(mat4x4f(av[4], av[5], av[6], av[7]));
        sum_hi += hi[0]; sum_hi += hi[1]; sum_hi += hi[2]; sum_hi += hi[3];
      }
    }
  }
  // The last K % 4 steps: only A [K, M] with B [K, N] may have K % 4 != 0 (see matmul_vec4.wgsl).
  for (var k = 4u * k4_end; k < params.K; k++) {
    let alo = a[k * a_stride + am.x];
    var ahi = vec4f();
    if (BlockM == 8u) {
      ahi = a[k * a_stride + am.y];
    }
    var bhi = vec4f();
    if (BlockN == 8u) {
      bhi = b[k * b_stride + bn.y];
    }
    mac_block(&acc, alo, ahi, b[k * b_stride + bn.x], bhi);
    if (sums) {
      sum_lo += alo;
      sum_hi += ahi;
    }
  }
  store_acc_sized(m0, n0, acc, sum_lo, sum_hi, BlockM, BlockN);
}
