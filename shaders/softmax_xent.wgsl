// softmax_xent: loss = (1/B) Σ_r [max_r + log Σ_c exp(z[r,c] − max_r) − z[r, y_r]] (SPEC §3.4).
// One workgroup: invocation t takes rows t, t + WorkgroupSize, …, then a fixed-order tree sum, so the
// result is deterministic. CPU reference: softmaxXentReference() in src/ops/softmax-xent.ts.

struct Params {
  rows: u32,
  classes: u32,
}

override WorkgroupSize: u32 = 64;

@group(0) @binding(0) var<storage, read> logits: array<f32>;     // [rows, classes]
@group(0) @binding(1) var<storage, read> labels: array<u32>;     // [rows]
@group(0) @binding(2) var<storage, read_write> loss: array<f32>; // [1]
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<f32, WorkgroupSize>;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(local_invocation_index) t: u32) {
  var sum = 0.0;
  for (var r = t; r < params.rows; r += WorkgroupSize) {
    let row = r * params.classes;
    var m = logits[row];
    for (var c = 1u; c < params.classes; c++) {
      m = max(m, logits[row + c]);
    }
    var sum_exp = 0.0;
    for (var c = 0u; c < params.classes; c++) {
      sum_exp += exp(logits[row + c] - m);
    }
    sum += m + log(sum_exp) - logits[row + labels[r]];
  }
  partial[t] = sum;
  for (var width = WorkgroupSize / 2u; width > 0u; width /= 2u) {
    workgroupBarrier();
    if (t < width) {
      partial[t] += partial[t + width];
    }
  }
  if (t == 0u) {
    loss[0] = partial[0] / f32(params.rows);
  }
}
