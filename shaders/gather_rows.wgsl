// gather_rows: a training batch from a dataset kept on the GPU. x[r, c] = the dataset's row rows[r],
// column c; labels[r] = its label. Per step only `rows` (batch × 4 bytes) is uploaded, not the batch.
// With Bytes, the dataset holds one byte per value (MNIST's pixels), 4 to a u32 word, and a value is
// table[byte]: the same Float32 table the Dataset's x was made with, so x comes out bit-identical.
// Without, it holds the Dataset's f32 values themselves (as u32 bits). Labels are bytes, 4 to a word.
// CPU reference: gatherRowsReference() in src/ops/gather-rows.ts.

struct Params {
  batch: u32,
  features: u32,
}

override WorkgroupSize: u32 = 256;
override Bytes: bool = false;

@group(0) @binding(0) var<storage, read> rows: array<u32>;          // [batch], each < the dataset's n
@group(0) @binding(1) var<storage, read> data: array<u32>;          // [n·features / 4] bytes or [n·features] f32
@group(0) @binding(2) var<storage, read> table: array<f32>;         // [256] when Bytes
@group(0) @binding(3) var<storage, read> label_bytes: array<u32>;   // [n / 4], one label per byte
@group(0) @binding(4) var<storage, read_write> x: array<f32>;       // [batch, features]
@group(0) @binding(5) var<storage, read_write> labels: array<u32>;  // [batch]
@group(0) @binding(6) var<uniform> params: Params;

fn byte_at(word: u32, index: u32) -> u32 {
  return (word >> (8u * (index % 4u))) & 0xffu;
}

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WorkgroupSize;
  if (i >= params.batch * params.features) {
    return;
  }
  let r = i / params.features;
  let c = i % params.features;
  let row = rows[r];
  let j = row * params.features + c;
  if (Bytes) {
    x[i] = table[byte_at(data[j / 4u], j)];
  } else {
    x[i] = bitcast<f32>(data[j]);
  }
  if (c == 0u) {
    labels[r] = byte_at(label_bytes[row / 4u], row);
  }
}
