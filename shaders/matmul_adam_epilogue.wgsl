// The matmul kernels' epilogue for the weight gradient under Adam: joined, instead of
// matmul_epilogue.wgsl, after adam_step.wgsl and matmul_acc.wgsl (the same accumulator and order of
// sums) and in front of matmul.wgsl or any of its fast variants, which declare bindings 0 (a) and 1
// (b) and the main loop and call `store_acc` / `store_acc_sized`. A file of its own because it binds
// 9 storage buffers (a, b, W and its two moments, metrics, the bias and its two moments) where a stage
// is guaranteed 8: it runs only on devices that offer more (Device.fusesAdamUpdates).
// CPU reference: the Adam part of matmulReference() in src/ops/matmul.ts.
//
// The accumulated value v at (m, n), i = m·N + n, is the gradient of the parameter W[i] (the weight
// gradient dYᵀ·X) and is never stored: adam_step.wgsl's step is applied to W[i] and its moments in
// place, with the lr and bias corrections of the step uniform (as adam.wgsl), skipped entirely once
// metrics[3] > 0. As adam.wgsl's separate step on the stored gradient, bit for bit.
// ColSum: the column sums Σ_k opA[m, k] (the bias gradient) are stored in `bias`; with BiasUpdate
// they are instead the gradient of the bias in `bias`, which gets adam_step too, in place, with its
// moments in bias_m and bias_v and its own weight decay; skipped too once metrics[3] > 0. As
// adam.wgsl's separate step on the stored column sums, bit for bit.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  beta1: f32,
  beta2: f32,
  epsilon: f32,
  weight_decay: f32,
  bias_weight_decay: f32, // BiasUpdate
}

struct Step {
  step: u32,
  lr: f32,
  momentum: f32,
  bias_correction1: f32,
  bias_correction2: f32,
}

override ColSum: bool = false;
override BiasUpdate: bool = false;

@group(0) @binding(2) var<storage, read_write> param: array<f32>;   // [M, N]: W
@group(0) @binding(3) var<storage, read_write> moment1: array<f32>; // [M, N]: W's first moment
@group(0) @binding(4) var<storage, read_write> moment2: array<f32>; // [M, N]: W's second moment
@group(0) @binding(5) var<storage, read> metrics: array<f32>;       // [4]: softmax_xent.wgsl's
@group(0) @binding(6) var<storage, read_write> bias: array<f32>;    // [M] with ColSum: the sums, or the bias (BiasUpdate)
@group(0) @binding(7) var<storage, read_write> bias_m: array<f32>;  // [M] with BiasUpdate
@group(0) @binding(8) var<storage, read_write> bias_v: array<f32>;  // [M] with BiasUpdate
@group(0) @binding(9) var<uniform> params: Params;
@group(0) @binding(10) var<uniform> step: Step;

// adam_step.wgsl's step on W[i] with gradient `grad`.
fn adam_update(i: u32, grad: f32) {
  let next = adam_step(param[i], grad, moment1[i], moment2[i], step.lr, params.beta1, params.beta2,
                       params.epsilon, params.weight_decay, step.bias_correction1, step.bias_correction2);
  moment1[i] = next.m;
  moment2[i] = next.v;
  param[i] = next.param;
}

// adam_step.wgsl's step on the bias bias[m] with gradient `grad` (its column sum).
fn bias_adam_update(m: u32, grad: f32) {
  let next = adam_step(bias[m], grad, bias_m[m], bias_v[m], step.lr, params.beta1, params.beta2,
                       params.epsilon, params.bias_weight_decay, step.bias_correction1, step.bias_correction2);
  bias_m[m] = next.m;
  bias_v[m] = next.v;
  bias[m] = next.param;
}

// Updates row m, columns n0..n0+cols-1 (cols ≤ 8) of W.
fn store_row(m: u32, n0: u32, lo: vec4f, hi: vec4f, cols: u32) {
  if (m >= params.M) {
    return;
  }
  for (var j = 0u; j < cols; j++) {
    let n = n0 + j;
    if (n >= params.N) {
      return;
    }
    adam_update(m * params.N + n, select(hi[j & 3u], lo[j & 3u], j < 4u));
  }
}

// Applies the invocation's block of the gradient at (m0, n0), `rows` × `cols` of at most 8×8: acc[2r]
// holds row r's columns 0..3, acc[2r + 1] columns 4..7 (matmul_acc.wgsl's store_acc builds it).
fn store_block(m0: u32, n0: u32, acc: array<vec4f, 16>, rows: u32, cols: u32) {
  if (metrics[3] > 0.0) {
    return;
  }
  for (var r = 0u; r < rows; r++) {
    store_row(m0 + r, n0, acc[2u * r], acc[2u * r + 1u], cols);
  }
}

// Stores the column sums of opA's rows m0..m0+rows-1 (rows 0..3 in lo, 4..7 in hi) that exist, or
// with BiasUpdate applies them to the bias. Only the invocations of the first column block sum them
// (n0 == 0), so only they store: each bias element has one writer.
fn store_colsum(m0: u32, n0: u32, lo: vec4f, hi: vec4f, rows: u32) {
  if (!ColSum || n0 != 0u) {
    return;
  }
  if (BiasUpdate && metrics[3] > 0.0) {
    return;
  }
  for (var r = 0u; r < rows; r++) {
    if (m0 + r < params.M) {
      let sum = select(hi[r & 3u], lo[r & 3u], r < 4u);
      if (BiasUpdate) {
        bias_adam_update(m0 + r, sum);
      } else {
        bias[m0 + r] = sum;
      }
    }
  }
}
