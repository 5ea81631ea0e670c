// matmul: C[M, N] = Σ_k opA[m, k] · opB[k, n], f32 row-major, with a fused epilogue.
// A is stored [M, K] ([K, M] when TransA); B is stored [K, N] ([N, K] when TransB). An MLP layer with
// PyTorch's W [O, I] uses Y = X·Wᵀ (TransB), dX = dY·W and dW = dYᵀ·X (TransA).
// Needs philox.wgsl and activation.wgsl joined in front.
// CPU reference: matmulReference() in src/ops/matmul.ts.
//
// Epilogue, in this order, on the accumulated value v at (m, n), i = m·N + n:
//   HasBias:            v += bias[n]
//   Dropout == 2:       v = kept(i) ? v · scale : 0          (backward: gradient through the mask)
//   ActivationGrad > 0: v *= act'(aux[i]), aux = the activation's output   (backward)
//   Activation > 0:     v = act(v)                                          (forward)
//   out[i] = v;  Dropout == 1: out2[i] = kept(i) ? v · scale : 0            (forward)
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

struct Params {
  M: u32,
  N: u32,
  K: u32,
  key_lo: u32,
  key_hi: u32,
  threshold: u32,
  keep_all: u32,
  scale: f32,
  site: u32,
  stream: u32,     // counter word 3: 0 in training
}

struct Step {
  step: u32,
  lr: f32,
  momentum: f32,
}

override TransA: bool = false;
override TransB: bool = false;
override HasBias: bool = false;
override Activation: u32 = 0u;
override ActivationGrad: u32 = 0u;
override Dropout: u32 = 0u;
override WorkgroupX: u32 = 8u; // invocations along N
override WorkgroupY: u32 = 8u; // invocations along M

// Output rows and columns per invocation. Fixed: the accumulators below are written out for 8×8.
const Block: u32 = 8u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;        // [N] when HasBias
@group(0) @binding(3) var<storage, read> aux: array<f32>;         // [M, N] when ActivationGrad > 0
@group(0) @binding(4) var<storage, read_write> out: array<f32>;   // [M, N]
@group(0) @binding(5) var<storage, read_write> out2: array<f32>;  // [M, N] when Dropout == 1
@group(0) @binding(6) var<uniform> params: Params;
@group(0) @binding(7) var<uniform> step: Step;

fn store(i: u32, n: u32, value: f32, kept: bool) {
  var v = value;
  if (HasBias) {
    v += bias[n];
  }
  if (Dropout == 2u) {
    v = select(0.0, v * params.scale, kept);
  }
  if (ActivationGrad != 0u) {
    v *= derivative_from_output(aux[i], ActivationGrad);
  }
  v = activate(v, Activation);
  out[i] = v;
  if (Dropout == 1u) {
    out2[i] = select(0.0, v * params.scale, kept);
  }
}

// Stores row m, columns n0..n0+7. The mask words of a block of 4 consecutive elements come from one
// Philox call, drawn when the row crosses into a new block (at most 3 calls for 8 elements).
fn store_row(m: u32, n0: u32, lo: vec4f, hi: vec4f) {
  if (m >= params.M) {
    return;
  }
  let key = vec2u(params.key_lo, params.key_hi);
  var drawn = 0xffffffffu; // the block of 4 whose words are in `words`
  var words = vec4u(0u);
  for (var j = 0u; j < 8u; j++) {
    let n = n0 + j;
    if (n >= params.N) {
      return;
    }
    let i = m * params.N + n;
    var kept = true;
    if (Dropout != 0u && params.keep_all == 0u) {
      if (i / 4u != drawn) {
        drawn = i / 4u;
        words = dropout_words(drawn, step.step, params.site, params.stream, key);
      }
      kept = words[i % 4u] < params.threshold;
    }
    store(i, n, select(hi[j & 3u], lo[j & 3u], j < 4u), kept);
  }
}

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
  }
  store_row(m0, n0, acc0lo, acc0hi);
  store_row(m0 + 1u, n0, acc1lo, acc1hi);
  store_row(m0 + 2u, n0, acc2lo, acc2hi);
  store_row(m0 + 3u, n0, acc3lo, acc3hi);
  store_row(m0 + 4u, n0, acc4lo, acc4hi);
  store_row(m0 + 5u, n0, acc5lo, acc5hi);
  store_row(m0 + 6u, n0, acc6lo, acc6hi);
  store_row(m0 + 7u, n0, acc7lo, acc7hi);
}
