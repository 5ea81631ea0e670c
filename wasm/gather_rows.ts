// gather_rows: x[r, c] = the dataset's row rows[r], column c (bytes through the 256-entry table, or the
// f32 bits themselves); labels[r] = its label byte. Bit-exact copies (u32 loads and stores). TS twin:
// src/ops/wasm/gather-rows.ts (block: rows, data, table, label_bytes, x, labels, scratch, then batch,
// features, bytes). Parallel over batch rows.
import { partStart, word } from './op_common';

export function gather_rows(block: usize, step: usize, part: i32, parts: i32): void {
  const rows = <usize>word(block, 0);
  const data = <usize>word(block, 1);
  const table = <usize>word(block, 2);
  const labelBytes = <usize>word(block, 3);
  const x = <usize>word(block, 4);
  const labels = <usize>word(block, 5);
  const batch = word(block, 7);
  const features = word(block, 8);
  const bytes = word(block, 9) != 0;
  const r0 = partStart(batch, part, parts, 1);
  const r1 = partStart(batch, part + 1, parts, 1);
  const rowBytes = <usize>features << 2;
  for (let r = r0; r < r1; r++) {
    const row = <usize>load<u32>(rows + (<usize>r << 2));
    const dst = x + <usize>r * rowBytes;
    if (bytes) {
      const src = data + row * <usize>features;
      let c: usize = 0;
      for (; c + 4 <= <usize>features; c += 4) {
        const word4 = load<u32>(src + c);
        store<u32>(dst + (c << 2), load<u32>(table + ((<usize>word4 & 0xff) << 2)));
        store<u32>(dst + (c << 2), load<u32>(table + ((<usize>(word4 >> 8) & 0xff) << 2)), 4);
        store<u32>(dst + (c << 2), load<u32>(table + ((<usize>(word4 >> 16) & 0xff) << 2)), 8);
        store<u32>(dst + (c << 2), load<u32>(table + (<usize>(word4 >> 24) << 2)), 12);
      }
      for (; c < <usize>features; c++) {
        store<u32>(dst + (c << 2), load<u32>(table + (<usize>load<u8>(src + c) << 2)));
      }
    } else {
      memory.copy(dst, data + row * rowBytes, rowBytes);
    }
    store<u32>(labels + (<usize>r << 2), <u32>load<u8>(labelBytes + row));
  }
}
