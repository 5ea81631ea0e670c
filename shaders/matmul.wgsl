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
// Each invocation computes a BlockM × BlockN block of C in registers from plain global loads: on the
// software adapter measured here, shared-memory tiling and barriers cost more than they save.
// Every load is bounds-guarded (out of range reads 0) and every store guarded: any shape is correct.

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

const BlockM: u32 = 4u;
const BlockN: u32 = 4u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;        // [N] when HasBias
@group(0) @binding(3) var<storage, read> aux: array<f32>;         // [M, N] when ActivationGrad > 0
@group(0) @binding(4) var<storage, read_write> out: array<f32>;   // [M, N]
@group(0) @binding(5) var<storage, read_write> out2: array<f32>;  // [M, N] when Dropout == 1
@group(0) @binding(6) var<uniform> params: Params;
@group(0) @binding(7) var<uniform> step: Step;

fn load_a(m: u32, k: u32) -> f32 {
  if (m >= params.M || k >= params.K) {
    return 0.0;
  }
  if (TransA) {
    return a[k * params.M + m];
  }
  return a[m * params.K + k];
}

fn load_b(k: u32, n: u32) -> f32 {
  if (k >= params.K || n >= params.N) {
    return 0.0;
  }
  if (TransB) {
    return b[n * params.K + k];
  }
  return b[k * params.N + n];
}

fn kept(i: u32) -> bool {
  return dropout_kept(i, step.step, params.site, vec2u(params.key_lo, params.key_hi), params.threshold, params.keep_all != 0u);
}

fn store(m: u32, n: u32, value: f32) {
  let i = m * params.N + n;
  var v = value;
  if (HasBias) {
    v += bias[n];
  }
  if (Dropout == 2u) {
    v = select(0.0, v * params.scale, kept(i));
  }
  if (ActivationGrad != 0u) {
    v *= derivative_from_output(aux[i], ActivationGrad);
  }
  v = activate(v, Activation);
  out[i] = v;
  if (Dropout == 1u) {
    out2[i] = select(0.0, v * params.scale, kept(i));
  }
}

@compute @workgroup_size(WorkgroupX, WorkgroupY)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m0 = gid.y * BlockM;
  let n0 = gid.x * BlockN;
  if (m0 >= params.M || n0 >= params.N) {
    return;
  }
  var acc: array<vec4f, BlockM>;
  for (var k = 0u; k < params.K; k++) {
    let bk = vec4f(load_b(k, n0), load_b(k, n0 + 1u), load_b(k, n0 + 2u), load_b(k, n0 + 3u));
    for (var i = 0u; i < BlockM; i++) {
      acc[i] = fma(vec4f(load_a(m0 + i, k)), bk, acc[i]);
    }
  }
  for (var i = 0u; i < BlockM; i++) {
    for (var j = 0u; j < BlockN; j++) {
      if (m0 + i < params.M && n0 + j < params.N) {
        store(m0 + i, n0 + j, acc[i][j]);
      }
    }
  }
}
