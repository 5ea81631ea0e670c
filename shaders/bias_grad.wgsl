// bias_grad: db[c] = Σ_r dz[r, c]. One invocation per column, summing rows in order (deterministic);
// neighbouring invocations read neighbouring columns.
// CPU reference: biasGradReference() in src/ops/bias-grad.ts.

struct Params {
  rows: u32,
  cols: u32,
}

override WorkgroupSize: u32 = 64;

@group(0) @binding(0) var<storage, read> dz: array<f32>;       // [rows, cols]
@group(0) @binding(1) var<storage, read_write> db: array<f32>; // [cols]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= params.cols) {
    return;
  }
  var sum = 0.0;
  for (var r = 0u; r < params.rows; r++) {
    sum += dz[r * params.cols + c];
  }
  db[c] = sum;
}
