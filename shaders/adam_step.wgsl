// One element's Adam step, as torch.optim.Adam with t = step + 1: g = grad + wd·p; m = β1·m + (1−β1)·g;
// v = β2·v + (1−β2)·g²; p −= lr·(m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε), the corrections 1 − β^t
// given. Shared by adam.wgsl and the matmul's fused Adam update (matmul_adam_epilogue.wgsl, joined in
// front of both), so both round the same way. CPU twin: adamReference() in src/ops/adam.ts.

struct AdamStep {
  param: f32,
  m: f32,
  v: f32,
}

fn adam_step(param: f32, grad: f32, m: f32, v: f32, lr: f32, beta1: f32, beta2: f32, epsilon: f32,
             weight_decay: f32, bias_correction1: f32, bias_correction2: f32) -> AdamStep {
  let g = grad + weight_decay * param;
  let mi = beta1 * m + (1.0 - beta1) * g;
  let vi = beta2 * v + (1.0 - beta2) * g * g;
  return AdamStep(param - lr * (mi / bias_correction1) / (sqrt(vi / bias_correction2) + epsilon), mi, vi);
}
