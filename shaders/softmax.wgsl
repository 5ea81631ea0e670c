// softmax: probs[r, c] = exp(z[r,c] − max_r) / Σ exp(z[r,·] − max_r), one invocation per row.
// Needs softmax_row.wgsl joined in front.
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
  let stats = softmax_stats(row, params.classes);
  let m = stats.x;
  let sum_exp = stats.y;
  for (var c = 0u; c < params.classes; c++) {
    probs[row + c] = exp(logits[row + c] - m) / sum_exp;
  }
}
