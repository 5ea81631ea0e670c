// The matmul kernels' shared part: the uniforms, the epilogue's overrides and bindings (2..9), and the
// epilogue itself. Joined after philox.wgsl, activation.wgsl and sgd_step.wgsl and in front of matmul.wgsl and of its
// fast variant matmul_vec4.wgsl, which declare bindings 0 (a) and 1 (b) and the main loop.
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

// The 8×8 block of C an invocation accumulates: row r's columns 0..3 in r{r}lo, 4..7 in r{r}hi. Named
// fields, not an array: a dynamically indexed array becomes memory traffic on SwiftShader.
struct Acc {
  r0lo: vec4f, r0hi: vec4f, r1lo: vec4f, r1hi: vec4f, r2lo: vec4f, r2hi: vec4f, r3lo: vec4f, r3hi: vec4f,
  r4lo: vec4f, r4hi: vec4f, r5lo: vec4f, r5hi: vec4f, r6lo: vec4f, r6hi: vec4f, r7lo: vec4f, r7hi: vec4f,
}

// The order of the sums, the same in both kernels (so both give the same bits): for each output, the
// products of k = 4j .. 4j+3 are summed as one dot product (WGSL's vector × matrix, whose order is the
// compiler's but the same for both kernels), which is then added to the accumulator (`add_group`); the
// last K % 4 products are added one at a time (`mac`). Grouping touches each of the 64 accumulators,
// which live in spilled registers on a CPU adapter, once per 4 k instead of 4 times.

// One group of 4 k for the whole block: rows[r] = opA[m0 + r, k .. k+3]; column c of blo (bhi) =
// opB[k .. k+3, n0 + c] (n0 + 4 + c), so rows[r] · blo holds the 4 dot products of row r.
fn add_group(acc: ptr<function, Acc>, rows: array<vec4f, 8>, blo: mat4x4f, bhi: mat4x4f) {
  (*acc).r0lo += rows[0] * blo; (*acc).r0hi += rows[0] * bhi;
  (*acc).r1lo += rows[1] * blo; (*acc).r1hi += rows[1] * bhi;
  (*acc).r2lo += rows[2] * blo; (*acc).r2hi += rows[2] * bhi;
  (*acc).r3lo += rows[3] * blo; (*acc).r3hi += rows[3] * bhi;
  (*acc).r4lo += rows[4] * blo; (*acc).r4hi += rows[4] * bhi;
  (*acc).r5lo += rows[5] * blo; (*acc).r5hi += rows[5] * bhi;
  (*acc).r6lo += rows[6] * blo; (*acc).r6hi += rows[6] * bhi;
  (*acc).r7lo += rows[7] * blo; (*acc).r7hi += rows[7] * bhi;
}

// One k (of the last K % 4) for the whole block: opA's rows 0..3 (alo) and 4..7 (ahi) at k, opB's
// columns 0..3 (blo) and 4..7 (bhi).
fn mac(acc: Acc, alo: vec4f, ahi: vec4f, blo: vec4f, bhi: vec4f) -> Acc {
  var c = acc;
  c.r0lo += alo.x * blo; c.r0hi += alo.x * bhi;
  c.r1lo += alo.y * blo; c.r1hi += alo.y * bhi;
  c.r2lo += alo.z * blo; c.r2hi += alo.z * bhi;
  c.r3lo += alo.w * blo; c.r3hi += alo.w * bhi;
  c.r4lo += ahi.x * blo; c.r4hi += ahi.x * bhi;
  c.r5lo += ahi.y * blo; c.r5hi += ahi.y * bhi;
  c.r6lo += ahi.z * blo; c.r6hi += ahi.z * bhi;
  c.r7lo += ahi.w * blo; c.r7hi += ahi.w * bhi;
  return c;
}

// Stores the block and its column sums (see store_block and store_colsum).
fn store_acc(m0: u32, n0: u32, acc: Acc, sum_lo: vec4f, sum_hi: vec4f) {
  store_acc_sized(m0, n0, acc, sum_lo, sum_hi, 8u, 8u);
}

// Stores the top-left `rows` × `cols` (4 or 8 each) of the block and the first `rows` column sums:
// the smaller blocks of matmul_block.wgsl, whose accumulators past them are never computed.
fn store_acc_sized(m0: u32, n0: u32, acc: Acc, sum_lo: vec4f, sum_hi: vec4f, rows: u32, cols: u32) {
  store_colsum(m0, n0, sum_lo, sum_hi, rows);
  store_block(m0, n0, array<vec4f, 16>(acc.r0lo, acc.r0hi, acc.r1lo, acc.r1hi, acc.r2lo, acc.r2hi,
                                        acc.r3lo, acc.r3hi, acc.r4lo, acc.r4hi, acc.r5lo, acc.r5hi,
                                        acc.r6lo, acc.r6hi, acc.r7lo, acc.r7hi), rows, cols);
}

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
