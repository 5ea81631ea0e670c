// Exploration kernel for `npm run bench -- explore` (not part of the library): shaders/matmul_vec4.wgsl's
// vec4 loads, but each product added to its accumulator one at a time instead of in dot products of
// 4. Measured 8-14% slower than the library's kernel on every shape of the matmul suite.
// CPU reference: matmulReference() in src/ops/matmul.ts.

override TransA: bool = false;
override TransB: bool = false;
override WorkgroupX: u32 = 8u; // invocations along N
override WorkgroupY: u32 = 8u; // invocations along M

// Output rows and columns per invocation. Fixed: the accumulators below are written out for 8×8.
const Block: u32 = 8u;

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;

// Eight vec4s along K (v0..v7: one per row or column, k .. k+3) as four pairs of vectors across the
// eight, one pair per k: [k: 0..3 of the eight, k: 4..7, k+1: 0..3, …].
fn across(v0: vec4f, v1: vec4f, v2: vec4f, v3: vec4f, v4: vec4f, v5: vec4f, v6: vec4f, v7: vec4f)
    -> array<vec4f, 8> {
  return array<vec4f, 8>(
    vec4f(v0.x, v1.x, v2.x, v3.x), vec4f(v4.x, v5.x, v6.x, v7.x),
    vec4f(v0.y, v1.y, v2.y, v3.y), vec4f(v4.y, v5.y, v6.y, v7.y),
    vec4f(v0.z, v1.z, v2.z, v3.z), vec4f(v4.z, v5.z, v6.z, v7.z),
    vec4f(v0.w, v1.w, v2.w, v3.w), vec4f(v4.w, v5.w, v6.w, v7.w));
}

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
  let k4_end = params.K / 4u;
  for (var k4 = 0u; k4 < k4_end; k4++) {
    var av: array<vec4f, 8>;
    if (TransA) {
      let r = 4u * k4 * a_stride;
      av = array<vec4f, 8>(a[r + am.x], a[r + am.y],
                           a[r + a_stride + am.x], a[r + a_stride + am.y],
                           a[r + 2u * a_stride + am.x], a[r + 2u * a_stride + am.y],
                           a[r + 3u * a_stride + am.x], a[r + 3u * a_stride + am.y]);
    } else {
      av = across(a[ra[0] + k4], a[ra[1] + k4], a[ra[2] + k4], a[ra[3] + k4],
                  a[ra[4] + k4], a[ra[5] + k4], a[ra[6] + k4], a[ra[7] + k4]);
    }
    var bv: array<vec4f, 8>;
    if (TransB) {
      bv = across(b[cb[0] + k4], b[cb[1] + k4], b[cb[2] + k4], b[cb[3] + k4],
                  b[cb[4] + k4], b[cb[5] + k4], b[cb[6] + k4], b[cb[7] + k4]);
    } else {
      let r = 4u * k4 * b_stride;
      bv = array<vec4f, 8>(b[r + bn.x], b[r + bn.y],
                           b[r + b_stride + bn.x], b[r + b_stride + bn.y],
                           b[r + 2u * b_stride + bn.x], b[r + 2u * b_stride + bn.y],
                           b[r + 3u * b_stride + bn.x], b[r + 3u * b_stride + bn.y]);
    }
    acc = mac(acc, av[0], av[1], bv[0], bv[1]);
    acc = mac(acc, av[2], av[3], bv[2], bv[3]);
    acc = mac(acc, av[4], av[5], bv[4], bv[5]);
    acc = mac(acc, av[6], av[7], bv[6], bv[7]);
  }
  // The last K % 4 steps: only A [K, M] with B [K, N] (dW = dYᵀ·X) may have K % 4 != 0, and there
  // both operands are read one k at a time.
  for (var k = 4u * k4_end; k < params.K; k++) {
    acc = mac(acc, a[k * a_stride + am.x], a[k * a_stride + am.y], b[k * b_stride + bn.x], b[k * b_stride + bn.y]);
  }
  // The shared epilogue's column sums are not implemented here (ColSum stays false); the call keeps
  // its binding in the pipeline layout, which every matmul kernel shares.
  store_colsum(m0, n0, vec4f(), vec4f(), 8u);
  store_block(m0, n0, array<vec4f, 16>(acc.r0lo, acc.r0hi, acc.r1lo, acc.r1hi, acc.r2lo, acc.r2hi,
                                        acc.r3lo, acc.r3hi, acc.r4lo, acc.r4hi, acc.r5lo, acc.r5hi,
                                        acc.r6lo, acc.r6hi, acc.r7lo, acc.r7hi), 8u, 8u);
}
