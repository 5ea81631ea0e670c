// Philox4x32-10 (Salmon et al., SC'11), bit-identical to Random123's philox4x32_R(10, ctr, key).
// Port of philox4x32() and mulhi32() in src/rng/philox.ts; both pass Random123's known-answer vectors.
// Joined in front of every shader that makes dropout masks.

// High 32 bits of the 64-bit product a·b. WGSL has no 64-bit integers, so it is built from 16-bit
// halves; u32 arithmetic wraps, and no partial sum below can exceed the true high word.
fn mulhi32(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let lo_lo = a_lo * b_lo;
  let lo_hi = a_lo * b_hi;
  let hi_lo = a_hi * b_lo;
  let carry = ((lo_lo >> 16u) + (lo_hi & 0xffffu) + (hi_lo & 0xffffu)) >> 16u;
  return a_hi * b_hi + (lo_hi >> 16u) + (hi_lo >> 16u) + carry;
}

fn philox4x32(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var round = 0u; round < 10u; round++) {
    if (round > 0u) {
      k += vec2u(0x9E3779B9u, 0xBB67AE85u);
    }
    let hi0 = mulhi32(0xD2511F53u, c.x);
    let lo0 = 0xD2511F53u * c.x;
    let hi1 = mulhi32(0xCD9E8D57u, c.z);
    let lo1 = 0xCD9E8D57u * c.z;
    c = vec4u(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
  }
  return c;
}

// The dropout mask of SPEC §3.2: element i of site `site` at step t is kept iff word (i mod 4) of
// philox4x32([i / 4, t, site, stream], key) < threshold (t: the step), with stream 0 in training (MC-dropout
// inference uses its own stream). One call gives the words of the 4 elements of block i / 4, so
// kernels draw once per block. keepProb = 1 (threshold 2^32, which does not fit a u32) never gets
// here: such a site is left out of the graph. Twin of keptAt() in src/rng/philox.ts.
// (No identifier in these shaders is called `block`: wgsl_reflect, which checks them in CI, misparses it.)
fn dropout_words(block_index: u32, t: u32, site: u32, stream: u32, key: vec2u) -> vec4u {
  return philox4x32(vec4u(block_index, t, site, stream), key);
}
