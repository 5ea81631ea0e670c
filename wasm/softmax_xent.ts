// softmax_xent (two phases), softmax_xent_grad and softmax: the row kernels of src/ops/softmax-xent.ts.
// TS twin: src/ops/wasm/softmax-xent.ts. e^(z − max) in f32x4 (exp4), summed per row in f64x2; the
// probabilities divided in f64, so p − 1 does not lose the small rest as an f32 sum would.
//
// softmax_xent: block logits, labels, metrics, loss, scratch, then rows, classes. Phase
// softmax_xent (parallel over rows) writes each row's loss term max + log Σ e − z[label] (f64) and
// whether its first argmax is the label (u32) to scratch; phase softmax_xent_total (part 0 alone) sums
// them in row order, writes the loss and accumulates the metrics in place.
// softmax_xent_grad: block logits, labels, dz, scratch, rows, classes. softmax: block logits, probs,
// scratch, rows, classes. Both parallel over rows.
import { exp4, loadPartial, log64, partStart, promoteHigh, storePartial, word } from './op_common';

/** The row's max by f32.max (NaN propagates, as Math.max does). */
// @ts-ignore: decorator
@inline
function rowMax(row: usize, classes: u32): f32 {
  const full = classes & ~3;
  let m = f32x4.splat(-Infinity);
  for (let c: u32 = 0; c < full; c += 4) m = f32x4.max(m, v128.load(row + (<usize>c << 2)));
  if (full < classes) m = f32x4.max(m, loadPartial(row + (<usize>full << 2), classes - full, -Infinity));
  return max<f32>(max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max<f32>(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
}

/**
 * Σ_c e^(z[c] − m) in f64; when `out` is not 0, also stores each e^(z[c] − m) (f32) there.
 */
// @ts-ignore: decorator
@inline
function rowSumExp(row: usize, classes: u32, m: f32, out: usize): f64 {
  const full = classes & ~3;
  const mv = f32x4.splat(m);
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  for (let c: u32 = 0; c < full; c += 4) {
    const e = exp4(f32x4.sub(v128.load(row + (<usize>c << 2)), mv));
    if (out) v128.store(out + (<usize>c << 2), e);
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(e));
    hi = f64x2.add(hi, promoteHigh(e));
  }
  if (full < classes) {
    const count = classes - full;
    let e = exp4(f32x4.sub(loadPartial(row + (<usize>full << 2), count, 0), mv));
    if (out) storePartial(out + (<usize>full << 2), e, count);
    // Lanes past the row add nothing.
    const inRow = i32x4.lt_u(i32x4(0, 1, 2, 3), i32x4.splat(count));
    e = v128.and(e, inRow);
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(e));
    hi = f64x2.add(hi, promoteHigh(e));
  }
  return (f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1)) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
}

/** out[c] = f32(out[c] / sum / divisor), in f64; out holds the row's e^(z − max). */
// @ts-ignore: decorator
@inline
function rowNormalize(out: usize, classes: u32, sum: f64): void {
  const full = classes & ~3;
  const s = f64x2.splat(sum);
  for (let c: u32 = 0; c < full; c += 4) {
    const at = out + (<usize>c << 2);
    const e = v128.load(at);
    v128.store(at, v128.shuffle<f32>(
      f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(e), s)),
      f32x4.demote_f64x2_zero(f64x2.div(promoteHigh(e), s)),
      0, 1, 4, 5,
    ));
  }
  for (let c = full; c < classes; c++) {
    const at = out + (<usize>c << 2);
    store<f32>(at, <f32>(<f64>load<f32>(at) / sum));
  }
}

export function softmax_xent(block: usize, step: usize, part: i32, parts: i32): void {
  const logits = <usize>word(block, 0);
  const labels = <usize>word(block, 1);
  const scratch = <usize>word(block, 4);
  const rows = word(block, 5);
  const classes = word(block, 6);
  const r0 = partStart(rows, part, parts, 1);
  const r1 = partStart(rows, part + 1, parts, 1);
  const correct = scratch + (<usize>rows << 3);
  for (let r = r0; r < r1; r++) {
    const row = logits + ((<usize>r * <usize>classes) << 2);
    const label = load<u32>(labels + (<usize>r << 2));
    // The first maximum by `>`, as the reference (a NaN after the first logit is passed over).
    let m = load<f32>(row);
    let best: u32 = 0;
    for (let c: u32 = 1; c < classes; c++) {
      const z = load<f32>(row + (<usize>c << 2));
      if (z > m) {
        m = z;
        best = c;
      }
    }
    const sum = rowSumExp(row, classes, m, 0);
    const term = <f64>m + log64(sum) - <f64>load<f32>(row + (<usize>label << 2));
    store<f64>(scratch + (<usize>r << 3), term);
    store<u32>(correct + (<usize>r << 2), best == label ? 1 : 0);
  }
}

export function softmax_xent_total(block: usize, step: usize, part: i32, parts: i32): void {
  if (part != 0) return;
  const metrics = <usize>word(block, 2);
  const loss = <usize>word(block, 3);
  const scratch = <usize>word(block, 4);
  const rows = word(block, 5);
  const correct = scratch + (<usize>rows << 3);
  let total: f64 = 0;
  let right: u32 = 0;
  for (let r: u32 = 0; r < rows; r++) {
    total += load<f64>(scratch + (<usize>r << 3));
    right += load<u32>(correct + (<usize>r << 2));
  }
  const value = <f32>(total / <f64>rows);
  store<f32>(loss, value);
  if (metrics) {
    store<f32>(metrics, load<f32>(metrics) + value);
    store<f32>(metrics, load<f32>(metrics, 4) + <f32>right, 4);
    store<f32>(metrics, load<f32>(metrics, 8) + <f32>rows, 8);
    // Not finite: NaN fails every comparison, and ±Inf is beyond the largest f32.
    const finite = Mathf.abs(value) <= 3.4028234663852886e38;
    store<f32>(metrics, load<f32>(metrics, 12) + (finite ? 0 : 1), 12);
  }
}

export function softmax_xent_grad(block: usize, step: usize, part: i32, parts: i32): void {
  const logits = <usize>word(block, 0);
  const labels = <usize>word(block, 1);
  const dz = <usize>word(block, 2);
  const rows = word(block, 4);
  const classes = word(block, 5);
  const r0 = partStart(rows, part, parts, 1);
  const r1 = partStart(rows, part + 1, parts, 1);
  const rowsF = <f64>rows;
  for (let r = r0; r < r1; r++) {
    const offset = (<usize>r * <usize>classes) << 2;
    const row = logits + offset;
    const out = dz + offset;
    const label = load<u32>(labels + (<usize>r << 2));
    const sum = rowSumExp(row, classes, rowMax(row, classes), out);
    const eLabel = label < classes ? <f64>load<f32>(out + (<usize>label << 2)) : 0;
    // (p − [c = label]) / rows: first p / rows for all, then the label's entry again.
    rowNormalize(out, classes, sum * rowsF);
    if (label < classes) store<f32>(out + (<usize>label << 2), <f32>((eLabel / sum - 1) / rowsF));
  }
}

export function softmax(block: usize, step: usize, part: i32, parts: i32): void {
  const logits = <usize>word(block, 0);
  const probs = <usize>word(block, 1);
  const rows = word(block, 3);
  const classes = word(block, 4);
  const r0 = partStart(rows, part, parts, 1);
  const r1 = partStart(rows, part + 1, parts, 1);
  for (let r = r0; r < r1; r++) {
    const offset = (<usize>r * <usize>classes) << 2;
    const sum = rowSumExp(logits + offset, classes, rowMax(logits + offset, classes), probs + offset);
    rowNormalize(probs + offset, classes, sum);
  }
}
