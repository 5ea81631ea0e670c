// act_grad: dx[i] = dy[i] · act'(z[i]) from the activation's output y: relu' = [y > 0],
// tanh' = 1 − y², sigmoid' = y(1 − y). Needs activation.wgsl joined in front.
// CPU reference: actGradReference() in src/ops/act-grad.ts.

struct Params {
  length: u32,
}

override WorkgroupSize: u32 = 256;
override Activation: u32 = 0u;

@group(0) @binding(0) var<storage, read> dy: array<f32>;       // [length]
@group(0) @binding(1) var<storage, read> y: array<f32>;        // [length]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>; // [length]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WorkgroupSize;
  if (i >= params.length) {
    return;
  }
  dx[i] = dy[i] * derivative_from_output(y[i], Activation);
}
