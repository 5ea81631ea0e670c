// bias_act: out[r, c] = act(x[r, c] + b[c]). CPU reference: biasActReference() in src/ops/bias-act.ts.
// Activation: 0 identity, 1 relu, 2 tanh, 3 sigmoid (an override: one pipeline per activation).
// Needs activation.wgsl joined in front.

struct Params {
  rows: u32,
  cols: u32,
}

override WorkgroupSize: u32 = 256;
override Activation: u32 = 0u;

@group(0) @binding(0) var<storage, read> x: array<f32>;         // [rows, cols]
@group(0) @binding(1) var<storage, read> b: array<f32>;         // [cols]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [rows, cols]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WorkgroupSize;
  if (i >= params.rows * params.cols) {
    return;
  }
  out[i] = activate(x[i] + b[i % params.cols], Activation);
}
