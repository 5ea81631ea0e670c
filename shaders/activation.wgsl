// Activations and their derivatives, shared by bias_act, act_grad and matmul's epilogue (joined in
// front of them). Kinds: 0 identity, 1 relu, 2 tanh, 3 sigmoid. CPU twins: activationReference() in
// src/ops/bias-act.ts and actGradReference() in src/ops/act-grad.ts.

fn activate(z: f32, kind: u32) -> f32 {
  switch kind {
    // select, not max(): NaN must propagate (NaN <= 0 is false), as Math.max does on the CPU.
    case 1u: { return select(z, 0.0, z <= 0.0); }
    case 2u: { return accurate_tanh(z); }
    case 3u: { return 1.0 / (1.0 + exp(-z)); }
    default: { return z; }
  }
}

// Derivative at the pre-activation, written in terms of the output y = act(z).
fn derivative_from_output(y: f32, kind: u32) -> f32 {
  switch kind {
    case 1u: { return select(0.0, 1.0, y > 0.0); }
    case 2u: { return 1.0 - y * y; }
    case 3u: { return y * (1.0 - y); }
    default: { return 1.0; }
  }
}

// tanh(z) = sign(z)·(1 − e)/(1 + e) with e = exp(−2|z|) ∈ (0, 1], so no overflow for large |z|.
// Near 0, 1 − e cancels: there −expm1(−2|z|) comes from its Taylor series instead.
fn accurate_tanh(z: f32) -> f32 {
  let x = 2.0 * abs(z);
  var one_minus_e: f32;
  if (x < 0.25) {
    // −expm1(−x) = x − x²/2 + x³/6 − x⁴/24 + x⁵/120 − x⁶/720 + x⁷/5040 (next term < 2e-10·x)
    one_minus_e = x * (1.0 - x * (1.0 / 2.0 - x * (1.0 / 6.0 - x * (1.0 / 24.0 - x * (1.0 / 120.0 - x * (1.0 / 720.0 - x * (1.0 / 5040.0)))))));
  } else {
    one_minus_e = 1.0 - exp(-x);
  }
  return sign(z) * one_minus_e / (2.0 - one_minus_e);
}
