// sgd: in place, sgd_step.wgsl's step (joined in front) on every element: as torch.optim.SGD
// (without momentum the velocity binding is a placeholder). lr and μ come from the step uniform.
// Does nothing once the loss kernel counted a non-finite loss (metrics[3] > 0).
// CPU reference: sgdReference() in src/ops/sgd.ts.

struct Params {
  length: u32,
  weight_decay: f32,
}

struct Step {
  step: u32,
  lr: f32,
  momentum: f32,
}

override WorkgroupSize: u32 = 256;
override HasMomentum: bool = false;
override Nesterov: bool = false;

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> velocity: array<f32>;
@group(0) @binding(3) var<storage, read> metrics: array<f32>; // [4], see softmax_xent.wgsl
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(5) var<uniform> step: Step;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WorkgroupSize;
  if (i >= params.length || metrics[3] > 0.0) {
    return;
  }
  var v = 0.0;
  if (HasMomentum) {
    v = velocity[i];
  }
  let next = sgd_step(param[i], grad[i], v, step.lr, step.momentum, params.weight_decay, HasMomentum, Nesterov);
  if (HasMomentum) {
    velocity[i] = next.velocity;
  }
  param[i] = next.param;
}
