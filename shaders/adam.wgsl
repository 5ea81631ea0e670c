// adam: in place, adam_step.wgsl's step (joined in front) on every element, as torch.optim.Adam with
// t = step + 1. The corrections 1 − β^t come in the step uniform, computed in double precision: in
// f32, 1 − 0.999^t cancels badly.
// Does nothing once the loss kernel counted a non-finite loss (metrics[3] > 0).
// CPU reference: adamReference() in src/ops/adam.ts.

struct Params {
  length: u32,
  beta1: f32,
  beta2: f32,
  epsilon: f32,
  weight_decay: f32,
}

struct Step {
  step: u32,
  lr: f32,
  momentum: f32,
  bias_correction1: f32,
  bias_correction2: f32,
}

override WorkgroupSize: u32 = 256;

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> metrics: array<f32>; // [4], see softmax_xent.wgsl
@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<uniform> step: Step;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WorkgroupSize;
  if (i >= params.length || metrics[3] > 0.0) {
    return;
  }
  let next = adam_step(param[i], grad[i], m[i], v[i], step.lr, params.beta1, params.beta2, params.epsilon,
                        params.weight_decay, step.bias_correction1, step.bias_correction2);
  m[i] = next.m;
  v[i] = next.v;
  param[i] = next.param;
}
