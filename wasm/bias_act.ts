// bias_act: out[r, c] = act(x[r, c] + b[c]). TS twin: src/ops/wasm/bias-act.ts (block: x, b, out,
// scratch, then rows, cols, activation). Parallel: each part takes a contiguous range of the flat
// index, row by row, f32x4 across columns.
import { activate4, IDENTITY, loadPartial, partStart, RELU, SIGMOID, storePartial, TANH, word } from './op_common';

// @ts-ignore: decorator
@inline
function biasActRange(x: usize, b: usize, out: usize, cols: u32, start: u32, end: u32, act: u32): void {
  let r = start / cols;
  let c = start - r * cols;
  let i = start;
  while (i < end) {
    // Columns c .. c1 of row r.
    const rowLeft = cols - c;
    const c1 = end - i < rowLeft ? c + (end - i) : cols;
    const base = <usize>r * <usize>cols;
    let j = c;
    for (; j + 4 <= c1; j += 4) {
      const at = (base + <usize>j) << 2;
      const z = f32x4.add(v128.load(x + at), v128.load(b + (<usize>j << 2)));
      v128.store(out + at, activate4(z, act));
    }
    if (j < c1) {
      const at = (base + <usize>j) << 2;
      const count = c1 - j;
      const z = f32x4.add(loadPartial(x + at, count, 0), loadPartial(b + (<usize>j << 2), count, 0));
      storePartial(out + at, activate4(z, act), count);
    }
    i += c1 - c;
    r++;
    c = 0;
  }
}

export function bias_act(block: usize, step: usize, part: i32, parts: i32): void {
  const x = <usize>word(block, 0);
  const b = <usize>word(block, 1);
  const out = <usize>word(block, 2);
  const rows = word(block, 4);
  const cols = word(block, 5);
  const act = word(block, 6);
  const n = rows * cols;
  const start = partStart(n, part, parts, 16);
  const end = partStart(n, part + 1, parts, 16);
  if (start >= end) return;
  if (act == RELU) biasActRange(x, b, out, cols, start, end, RELU);
  else if (act == TANH) biasActRange(x, b, out, cols, start, end, TANH);
  else if (act == SIGMOID) biasActRange(x, b, out, cols, start, end, SIGMOID);
  else biasActRange(x, b, out, cols, start, end, IDENTITY);
}
