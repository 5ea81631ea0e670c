// One element's SGD step, as torch.optim.SGD: g = grad + wd·p; v = μ·v + g; d = nesterov ? g + μ·v : v;
// p −= lr·d (without momentum d = g and v is left as it is). Shared by sgd.wgsl and the matmul
// epilogue's fused update (joined in front of them), so both round the same way. CPU twin:
// sgdReference() in src/ops/sgd.ts.

struct SgdStep {
  param: f32,
  velocity: f32,
}

fn sgd_step(param: f32, grad: f32, velocity: f32, lr: f32, momentum: f32, weight_decay: f32,
            has_momentum: bool, nesterov: bool) -> SgdStep {
  let g = grad + weight_decay * param;
  var direction = g;
  var v = velocity;
  if (has_momentum) {
    v = momentum * velocity + g;
    direction = select(v, g + momentum * v, nesterov);
  }
  return SgdStep(param - lr * direction, v);
}
