// The matmul kernels' shared part: the uniforms, the epilogue's overrides and bindings (2..9), and the
// epilogue itself. Joined after philox.wgsl, activation.wgsl, sgd_step.wgsl and matmul_acc.wgsl (the
// accumulator and order of sums) and in front of matmul.wgsl and its fast variants, which declare
// bindings 0 (a) and 1 (b) and the main loop. With Adam the kernels join matmul_adam_epilogue.wgsl
// instead (same interface, same matmul_acc.wgsl).
// CPU reference: the epilogue part of matmulReference() in src/ops/matmul.ts.
//
// Epilogue, in this order, on the accumulated value v at (m, n), i = m·N + n:
//   HasBias:            v += bias[n]
//   Dropout == 2:       v = kept(i) ? v · scale : 0          (backward: gradient through the mask)
//   ActivationGrad > 0: v *= act'(aux[i]), aux = the activation's output   (backward)
//   Activation > 0:     v = act(v)                                          (forward)
//   out[i] = v;  Dropout == 1: out2[i] = kept(i) ? v · scale : 0            (forward)
// or, with Update == 1, v is the gradient of the parameter `out` (the weight gradient dYᵀ·X) and the
// epilogue is the SGD step of sgd.wgsl, in place, without ever storing the gradient:
//   g = v + weight_decay · out[i];  HasMomentum: out2[i] = μ·out2[i] + g (the velocity), d = Nesterov ?
//   g + μ·out2[i] : out2[i];  out[i] −= lr · d        (skipped entirely once metrics[3] > 0)
// ColSum: colsum[m] = Σ_k opA[m, k], summed in k order (what bias_grad.wgsl computes from the same
// dY: the bias gradient, taken from the weight gradient's own pass over dY).
// BiasUpdate (with Update and ColSum): the column sums are not stored but are the gradient of the
// layer's bias, which gets sgd_step too, in place, with the same momentum and Nesterov and its own
// weight decay (the bias in colsum, its velocity in aux: the slots an update leaves free, since 8
// storage bindings is all a stage is guaranteed); skipped too once metrics[3] > 0. As sgd.wgsl's
// separate step on the stored column sums, bit for bit.

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
  weight_decay: f32, // Update == 1
  bias_weight_decay: f32, // BiasUpdate
}

struct Step {
  step: u32,
  lr: f32,
  momentum: f32,
}

override HasBias: bool = false;
override Activation: u32 = 0u;
override ActivationGrad: u32 = 0u;
override Dropout: u32 = 0u;
override Update: u32 = 0u;
override HasMomentum: bool = false;
override Nesterov: bool = false;
override ColSum: bool = false;
override BiasUpdate: bool = false;

@group(0) @binding(2) var<storage, read> bias: array<f32>;        // [N] when HasBias
// [M, N] when ActivationGrad > 0; [M] with BiasUpdate and HasMomentum: the bias's velocity, so read_write.
@group(0) @binding(3) var<storage, read_write> aux: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;   // [M, N]: C, or the parameter (Update)
@group(0) @binding(5) var<storage, read_write> out2: array<f32>;  // [M, N] when Dropout == 1; velocity
@group(0) @binding(6) var<storage, read> metrics: array<f32>;     // [4] when Update: softmax_xent.wgsl's
@group(0) @binding(7) var<storage, read_write> colsum: array<f32>; // [M] when ColSum; the bias (BiasUpdate)
@group(0) @binding(8) var<uniform> params: Params;
@group(0) @binding(9) var<uniform> step: Step;

// sgd_step.wgsl's step on the parameter out[i] with gradient `grad`, velocity in out2.
fn sgd_update(i: u32, grad: f32) {
  var v = 0.0;
  if (HasMomentum) {
    v = out2[i];
  }
  let next = sgd_step(out[i], grad, v, step.lr, step.momentum, params.weight_decay, HasMomentum, Nesterov);
  if (HasMomentum) {
    out2[i] = next.velocity;
  }
  out[i] = next.param;
}

// sgd_step.wgsl's step on the bias colsum[m] with gradient `grad` (its column sum), velocity in aux.
fn bias_update(m: u32, grad: f32) {
  var v = 0.0;
  if (HasMomentum) {
    v = aux[m];
  }
  let next = sgd_step(colsum[m], grad, v, step.lr, step.momentum, params.bias_weight_decay, HasMomentum, Nesterov);
  if (HasMomentum) {
    aux[m] = next.velocity;
  }
  colsum[m] = next.param;
}

fn store(i: u32, n: u32, value: f32, kept: bool) {
  if (Update == 1u) {
    sgd_update(i, value);
    return;
  }
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

// Stores row m, columns n0..n0+cols-1 (cols ≤ 8). The mask words of a block of 4 consecutive elements
// come from one Philox call, drawn when the row crosses into a new block (at most 3 calls for 8).
fn store_row(m: u32, n0: u32, lo: vec4f, hi: vec4f, cols: u32) {
  if (m >= params.M) {
    return;
  }
  let key = vec2u(params.key_lo, params.key_hi);
  var drawn = 0xffffffffu; // the block of 4 whose words are in `words`
  var words = vec4u(0u);
  for (var j = 0u; j < cols; j++) {
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

// Stores the invocation's block at (m0, n0), `rows` × `cols` of at most 8×8: acc[2r] holds row r's
// columns 0..3, acc[2r + 1] columns 4..7. Built by the kernels from their named accumulators.
fn store_block(m0: u32, n0: u32, acc: array<vec4f, 16>, rows: u32, cols: u32) {
  if (Update != 0u && metrics[3] > 0.0) {
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
        bias_update(m0 + r, sum);
      } else {
        colsum[m0 + r] = sum;
      }
    }
  }
}
