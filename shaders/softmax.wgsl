// softmax: probs[r, c] = exp(z[r,c] − max_r) / Σ exp(z[r,·] − max_r), one invocation per row.
// CPU reference: softmaxReference() in src/ops/softmax-xent.ts.

struct Params {
  rows: u32,
  classes: u32,
}

override WorkgroupSize: u32 = 64;

@group(0) @binding(0) var<storage, read> logits: array<f32>;      // [rows, classes]
@group(0) @binding(1) var<storage, read_write> probs: array<f32>; // [rows, classes]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= params.rows) {
    return;
  }
  let row = r * params.classes;
  var m = logits[row];
  for (var c = 1u; c < params.classes; c++) {
    m = max(m, logits[row + c]);
  }
  var sum_exp = 0.0;
  for (var c = 0u; c < params.classes; c++) {
    sum_exp += exp(logits[row + c] - m);
  }
  for (var c = 0u; c < params.classes; c++) {
    probs[row + c] = exp(logits[row + c] - m) / sum_exp;
  }
}
