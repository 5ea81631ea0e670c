// The matmul kernels' accumulator and the order of their sums, shared by both epilogues
// (matmul_epilogue.wgsl and matmul_adam_epilogue.wgsl), so that every kernel behind either one sums
// every output exactly alike. Joined in front of the epilogue, which provides what `store_acc` calls:
// `store_colsum(m0, n0, lo, hi, rows)` and `store_block(m0, n0, acc, rows, cols)`.
// CPU reference: the sums of matmulReference() in src/ops/matmul.ts (in k order, in double precision).

// The 8×8 block of C an invocation accumulates: row r's columns 0..3 in r{r}lo, 4..7 in r{r}hi. Named
// fields, not an array: a dynamically indexed array becomes memory traffic on SwiftShader.
struct Acc {
  r0lo: vec4f, r0hi: vec4f, r1lo: vec4f, r1hi: vec4f, r2lo: vec4f, r2hi: vec4f, r3lo: vec4f, r3hi: vec4f,
  r4lo: vec4f, r4hi: vec4f, r5lo: vec4f, r5hi: vec4f, r6lo: vec4f, r6hi: vec4f, r7lo: vec4f, r7hi: vec4f,
}

// The order of the sums, the same in every kernel (so all give the same bits): for each output, the
// products of k = 4j .. 4j+3 are summed as one dot product (WGSL's vector × matrix, whose order is the
// compiler's but the same for every kernel), which is then added to the accumulator (`add_group`); the
// last K % 4 products are added one at a time (`mac`). Grouping touches each of the 64 accumulators,
// which live in spilled registers on a CPU adapter, once per 4 k instead of 4 times.

// One group of 4 k for the whole block: rows[r] = opA[m0 + r, k .. k+3]; column c of blo (bhi) =
// opB[k .. k+3, n0 + c] (n0 + 4 + c), so rows[r] · blo holds the 4 dot products of row r.
fn add_group(acc: ptr<function, Acc>, rows: array<vec4f, 8>, blo: mat4x4f, bhi: mat4x4f) {
  (*acc).r0lo += rows[0] * blo; (*acc).r0hi += rows[0] * bhi;
  (*acc).r1lo += rows[1] * blo; (*acc).r1hi += rows[1] * bhi;
  (*acc).r2lo += rows[2] * blo; (*acc).r2hi += rows[2] * bhi;
  (*acc).r3lo += rows[3] * blo; (*acc).r3hi += rows[3] * bhi;
  (*acc).r4lo += rows[4] * blo; (*acc).r4hi += rows[4] * bhi;
  (*acc).r5lo += rows[5] * blo; (*acc).r5hi += rows[5] * bhi;
  (*acc).r6lo += rows[6] * blo; (*acc).r6hi += rows[6] * bhi;
  (*acc).r7lo += rows[7] * blo; (*acc).r7hi += rows[7] * bhi;
}

// One k (of the last K % 4) for the whole block: opA's rows 0..3 (alo) and 4..7 (ahi) at k, opB's
// columns 0..3 (blo) and 4..7 (bhi).
fn mac(acc: Acc, alo: vec4f, ahi: vec4f, blo: vec4f, bhi: vec4f) -> Acc {
  var c = acc;
  c.r0lo += alo.x * blo; c.r0hi += alo.x * bhi;
  c.r1lo += alo.y * blo; c.r1hi += alo.y * bhi;
  c.r2lo += alo.z * blo; c.r2hi += alo.z * bhi;
  c.r3lo += alo.w * blo; c.r3hi += alo.w * bhi;
  c.r4lo += ahi.x * blo; c.r4hi += ahi.x * bhi;
  c.r5lo += ahi.y * blo; c.r5hi += ahi.y * bhi;
  c.r6lo += ahi.z * blo; c.r6hi += ahi.z * bhi;
  c.r7lo += ahi.w * blo; c.r7hi += ahi.w * bhi;
  return c;
}

// Stores the block and its column sums (see store_block and store_colsum).
fn store_acc(m0: u32, n0: u32, acc: Acc, sum_lo: vec4f, sum_hi: vec4f) {
  store_acc_sized(m0, n0, acc, sum_lo, sum_hi, 8u, 8u);
}

// Stores the top-left `rows` × `cols` (4 or 8 each) of the block and the first `rows` column sums:
// the smaller blocks of matmul_block.wgsl, whose accumulators past them are never computed.
fn store_acc_sized(m0: u32, n0: u32, acc: Acc, sum_lo: vec4f, sum_hi: vec4f, rows: u32, cols: u32) {
  store_colsum(m0, n0, sum_lo, sum_hi, rows);
  store_block(m0, n0, array<vec4f, 16>(acc.r0lo, acc.r0hi, acc.r1lo, acc.r1hi, acc.r2lo, acc.r2hi,
                                        acc.r3lo, acc.r3hi, acc.r4lo, acc.r4hi, acc.r5lo, acc.r5hi,
                                        acc.r6lo, acc.r6hi, acc.r7lo, acc.r7hi), rows, cols);
}
