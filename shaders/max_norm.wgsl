// max_norm: in place on w [rows, cols]: a row with ‖w_r‖₂ > c is scaled to norm c; other rows are
// not written at all, so they stay bit for bit. One invocation per row.
// CPU reference: maxNormReference() in src/ops/max-norm.ts.

struct Params {
  rows: u32,
  cols: u32,
  max_norm: f32,
}

override WorkgroupSize: u32 = 64;

@group(0) @binding(0) var<storage, read_write> w: array<f32>; // [rows, cols]
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= params.rows) {
    return;
  }
  let row = r * params.cols;
  var squares = 0.0;
  for (var c = 0u; c < params.cols; c++) {
    squares += w[row + c] * w[row + c];
  }
  let norm = sqrt(squares);
  if (norm > params.max_norm) {
    let scale = params.max_norm / norm;
    for (var c = 0u; c < params.cols; c++) {
      w[row + c] = w[row + c] * scale;
    }
  }
}
