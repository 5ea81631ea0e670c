// softmax_xent_grad: dz[r, c] = (softmax(z_r)[c] − [c = y_r]) / B, one invocation per row.
// Needs softmax_row.wgsl joined in front.
// CPU reference: softmaxXentGradReference() in src/ops/softmax-xent.ts.

struct Params {
  rows: u32,
  classes: u32,
}

override WorkgroupSize: u32 = 64;

@group(0) @binding(0) var<storage, read> logits: array<f32>;   // [rows, classes]
@group(0) @binding(1) var<storage, read> labels: array<u32>;   // [rows]
@group(0) @binding(2) var<storage, read_write> dz: array<f32>; // [rows, classes]
@group(0) @binding(3) var<uniform> params: Params;

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
  let inv_rows = 1.0 / f32(params.rows);
  for (var c = 0u; c < params.classes; c++) {
    let p = exp(logits[row + c] - m) / sum_exp;
    dz[row + c] = (p - select(0.0, 1.0, c == labels[r])) * inv_rows;
  }
}
