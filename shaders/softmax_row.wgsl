// The max-subtracted normalizer of one row of logits, shared by softmax and softmax_xent_grad (joined
// in front of them; each declares the `logits` binding it reads). Twin of the max / sum-of-exp loops
// in src/ops/softmax-xent.ts.

// (max_c z[row + c], Σ_c exp(z[row + c] − max)) for the row starting at `row`.
fn softmax_stats(row: u32, classes: u32) -> vec2f {
  var m = logits[row];
  for (var c = 1u; c < classes; c++) {
    m = max(m, logits[row + c]);
  }
  var sum_exp = 0.0;
  for (var c = 0u; c < classes; c++) {
    sum_exp += exp(logits[row + c] - m);
  }
  return vec2f(m, sum_exp);
}
