// sgd: in place, as torch.optim.SGD: g = grad + wd·p; v = μ·v + g; d = nesterov ? g + μ·v : v;
// p −= lr·d (without momentum d = g and v is a placeholder). lr and μ come from the step uniform.
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
  let g = grad[i] + params.weight_decay * param[i];
  var direction = g;
  if (HasMomentum) {
    let v = step.momentum * velocity[i] + g;
    velocity[i] = v;
    direction = select(v, g + step.momentum * v, Nesterov);
  }
  param[i] = param[i] - step.lr * direction;
}
