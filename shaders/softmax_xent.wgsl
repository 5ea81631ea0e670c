// softmax_xent: loss = (1/B) Σ_r [max_r + log Σ_c exp(z[r,c] − max_r) − z[r, y_r]] (SPEC §3.4), and the
// training metrics accumulated on the device so they can be read once per reporting interval:
//   metrics[0] += loss   metrics[1] += rows whose argmax (first maximum) is the label
//   metrics[2] += rows   metrics[3] += 1 if the loss is not finite (optimizers skip their update then)
// One workgroup of WorkgroupSize (256) invocations, parallel over rows: invocation t takes rows t,
// t + WorkgroupSize, … (each summed in row order), then a fixed-order tree sum over the invocations,
// so the result is deterministic: the same bits on every run and every device that computes exp and
// log alike. The logits of a step are B × classes floats: one workgroup of 256 reads them at B ≤ a
// few thousand in a few loads each, less than a dispatch costs.
// CPU reference: softmaxXentReference() in src/ops/softmax-xent.ts.

struct Params {
  rows: u32,
  classes: u32,
}

override WorkgroupSize: u32 = 256; // a power of 2 (the tree sum)

@group(0) @binding(0) var<storage, read> logits: array<f32>;        // [rows, classes]
@group(0) @binding(1) var<storage, read> labels: array<u32>;        // [rows]
@group(0) @binding(2) var<storage, read_write> metrics: array<f32>; // [4], accumulated in place
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;    // [1]
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> partial_loss: array<f32, WorkgroupSize>;
var<workgroup> partial_correct: array<u32, WorkgroupSize>;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(local_invocation_index) t: u32) {
  var sum = 0.0;
  var correct = 0u;
  for (var r = t; r < params.rows; r += WorkgroupSize) {
    let row = r * params.classes;
    var m = logits[row];
    var best = 0u;
    for (var c = 1u; c < params.classes; c++) {
      if (logits[row + c] > m) {
        m = logits[row + c];
        best = c;
      }
    }
    var sum_exp = 0.0;
    for (var c = 0u; c < params.classes; c++) {
      sum_exp += exp(logits[row + c] - m);
    }
    sum += m + log(sum_exp) - logits[row + labels[r]];
    correct += select(0u, 1u, best == labels[r]);
  }
  partial_loss[t] = sum;
  partial_correct[t] = correct;
  for (var width = WorkgroupSize / 2u; width > 0u; width /= 2u) {
    workgroupBarrier();
    if (t < width) {
      partial_loss[t] += partial_loss[t + width];
      partial_correct[t] += partial_correct[t + width];
    }
  }
  if (t == 0u) {
    let value = partial_loss[0] / f32(params.rows);
    loss[0] = value;
    metrics[0] += value;
    metrics[1] += f32(partial_correct[0]);
    metrics[2] += f32(params.rows);
    // Not finite: NaN fails every comparison, and ±Inf is beyond the largest f32.
    let finite = abs(value) <= 3.4028234663852886e38;
    metrics[3] += select(1.0, 0.0, finite);
  }
}
