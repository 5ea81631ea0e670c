// matmul_tiled_double: matmul_tiled.wgsl with double-buffered workgroup tiles. While the workgroup
// computes on one pair of tiles (opA's rows, opB's columns over TileK k), it stages the next TileK k
// into the other pair, so that a GPU overlaps the global loads of tile j + 1 with the arithmetic of
// tile j, and one barrier per K-tile suffices (matmul_tiled.wgsl needs two: before the arithmetic,
// and before the next staging overwrites what was read). Why one is enough: the writes of buffer
// (j + 1) % 2 during tile j come after the barrier that ended tile j − 1, the last reads of that
// buffer; the reads of buffer j % 2 during tile j come after the barrier that ended its writes.
// Twice the workgroup memory of matmul_tiled.wgsl: 16 KiB for 8×8 invocations at TileK = 16 (the
// WebGPU default limit), which is why this is a file of its own and not an override of that one (the
// single-buffered tiles of its bigger workgroups would not fit doubled).
// Needs philox.wgsl, activation.wgsl, sgd_step.wgsl, matmul_acc.wgsl and matmul_epilogue.wgsl (or, with
// Adam, adam_step.wgsl, matmul_acc.wgsl and matmul_adam_epilogue.wgsl) joined in front.
// CPU reference: matmulReference() in src/ops/matmul.ts.
//
// Staging, layout and order of sums are matmul_tiled.wgsl's, line for line: `add_group` for every full
// group of 4 k, then `mac` one k at a time for the last K % 4, in k order; the column sums one k at a
// time. So it gives the default kernel's bits (tested; checked on each device by the autotuner).

override TransA: bool = false;
override TransB: bool = false;
override WorkgroupX: u32 = 8u; // invocations along N
override WorkgroupY: u32 = 8u; // invocations along M
override TileK: u32 = 16u;     // k per staged tile: a multiple of 4

const Block: u32 = 8u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;

// Two tiles each, one after the other: buffer s of tile_a starts at s · (TileK / 4) · tile_m; within
// it, [g · tile_m + r] = opA[m_base + r, k0 + 4g .. k0 + 4g + 3] (tile_b likewise with tile_n).
var<workgroup> tile_a: array<vec4f, 2u * (TileK / 4u) * Block * WorkgroupY>;
var<workgroup> tile_b: array<vec4f, 2u * (TileK / 4u) * Block * WorkgroupX>;

// Stages opA's rows m_base .. m_base + tile_m − 1 and opB's columns n_base .. n_base + tile_n − 1 at
// k0 .. k0 + TileK − 1 into buffer `s`, invocation t of `threads` taking every threads-th element.
fn stage(s: u32, k0: u32, m_base: u32, n_base: u32, t: u32) {
  let tile_m = Block * WorkgroupY;
  let tile_n = Block * WorkgroupX;
  let threads = WorkgroupX * WorkgroupY;
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let base_a = s * (TileK / 4u) * tile_m;
  let base_b = s * (TileK / 4u) * tile_n;
  for (var e = t; e < tile_m * TileK; e += threads) {
    var row: u32;
    var kk: u32;
    if (TransA) {
      kk = e / tile_m; // A [K, M]: consecutive invocations, consecutive m
      row = e % tile_m;
    } else {
      row = e / TileK; // A [M, K]: consecutive invocations, consecutive k
      kk = e % TileK;
    }
    let m = min(m_base + row, M - 1u);
    let k = k0 + kk;
    let kc = min(k, K - 1u);
    let at = select(m * K + kc, kc * M + m, TransA);
    tile_a[base_a + (kk / 4u) * tile_m + row][kk % 4u] = select(0.0, a[at], k < K);
  }
  for (var e = t; e < tile_n * TileK; e += threads) {
    var col: u32;
    var kk: u32;
    if (TransB) {
      col = e / TileK; // B [N, K]: consecutive invocations, consecutive k
      kk = e % TileK;
    } else {
      kk = e / tile_n; // B [K, N]: consecutive invocations, consecutive n
      col = e % tile_n;
    }
    let n = min(n_base + col, N - 1u);
    let k = k0 + kk;
    let kc = min(k, K - 1u);
    let at = select(kc * N + n, n * K + kc, TransB);
    tile_b[base_b + (kk / 4u) * tile_n + col][kk % 4u] = select(0.0, b[at], k < K);
  }
}

@compute @workgroup_size(WorkgroupX, WorkgroupY)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let tile_m = Block * WorkgroupY; // the tile's rows and columns
  let tile_n = Block * WorkgroupX;
  let m_base = wid.y * tile_m;
  let n_base = wid.x * tile_n;
  let lm = lid.y * Block;
  let ln = lid.x * Block;
  let m0 = m_base + lm;
  let n0 = n_base + ln;
  let K = params.K;

  var acc = Acc();
  let sums = ColSum && n0 == 0u;
  var sum_lo = vec4f();
  var sum_hi = vec4f();
  stage(0u, 0u, m_base, n_base, t);
  workgroupBarrier();
  var s = 0u; // the buffer holding k0 .. k0 + TileK − 1
  for (var k0 = 0u; k0 < K; k0 += TileK) {
    if (k0 + TileK < K) {
      stage(1u - s, k0 + TileK, m_base, n_base, t);
    }
    let base_a = s * (TileK / 4u) * tile_m;
    let base_b = s * (TileK / 4u) * tile_n;
    let count = min(TileK, K - k0);
    let full = count / 4u; // groups of 4 k: k0 is a multiple of 4, so these are matmul.wgsl's groups
    for (var g = 0u; g < full; g++) {
      let ar = base_a + g * tile_m + lm;
      let bc = base_b + g * tile_n + ln;
      let rows = array<vec4f, 8>(tile_a[ar], tile_a[ar + 1u], tile_a[ar + 2u], tile_a[ar + 3u],
                                 tile_a[ar + 4u], tile_a[ar + 5u], tile_a[ar + 6u], tile_a[ar + 7u]);
      let blo = mat4x4f(tile_b[bc], tile_b[bc + 1u], tile_b[bc + 2u], tile_b[bc + 3u]);
      let bhi = mat4x4f(tile_b[bc + 4u], tile_b[bc + 5u], tile_b[bc + 6u], tile_b[bc + 7u]);
      add_group(&acc, rows, blo, bhi);
      if (sums) {
        let lo = transpose(mat4x4f(rows[0], rows[1], rows[2], rows[3]));
        let hi = transpose(mat4x4f(rows[4], rows[5], rows[6], rows[7]));
        sum_lo += lo[0]; sum_lo += lo[1]; sum_lo += lo[2]; sum_lo += lo[3];
        sum_hi += hi[0]; sum_hi += hi[1]; sum_hi += hi[2]; sum_hi += hi[3];
      }
    }
    // The last K % 4 products (only in the last tile), one k at a time.
    let ar = base_a + full * tile_m + lm;
    let bc = base_b + full * tile_n + ln;
    for (var j = 0u; j < count % 4u; j++) {
      let alo = vec4f(tile_a[ar][j], tile_a[ar + 1u][j], tile_a[ar + 2u][j], tile_a[ar + 3u][j]);
      let ahi = vec4f(tile_a[ar + 4u][j], tile_a[ar + 5u][j], tile_a[ar + 6u][j], tile_a[ar + 7u][j]);
      let blo = vec4f(tile_b[bc][j], tile_b[bc + 1u][j], tile_b[bc + 2u][j], tile_b[bc + 3u][j]);
      let bhi = vec4f(tile_b[bc + 4u][j], tile_b[bc + 5u][j], tile_b[bc + 6u][j], tile_b[bc + 7u][j]);
      acc = mac(acc, alo, ahi, blo, bhi);
      if (sums) {
        sum_lo += alo;
        sum_hi += ahi;
      }
    }
    workgroupBarrier();
    s = 1u - s;
  }
  if (m0 < params.M && n0 < params.N) {
    store_acc(m0, n0, acc, sum_lo, sum_hi);
  }
}
