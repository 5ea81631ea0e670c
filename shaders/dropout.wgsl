// dropout: out[i] = x[i] · scale if element i is kept at (seed, step, site), else 0 (SPEC §3.2).
// Dispatch: one invocation per 4 elements.
// Needs philox.wgsl joined in front. CPU reference: dropoutReference() in src/ops/dropout.ts.

struct Params {
  length: u32,
  key_lo: u32,      // seed mod 2^32
  key_hi: u32,      // floor(seed / 2^32)
  threshold: u32,   // floor(keepProb · 2^32)
  keep_all: u32,    // 1 when keepProb = 1
  scale: f32,       // 1 / keepProb, rounded to f32
  site: u32,
  stream: u32,     // counter word 3: 0 in training
}

struct Step {
  step: u32,
  lr: f32,
  momentum: f32,
}

override WorkgroupSize: u32 = 256;

@group(0) @binding(0) var<storage, read> x: array<f32>;         // [length]
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // [length]
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<uniform> step: Step;

// One invocation per block of 4 elements: one Philox call gives all four words.
@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // The first element of this invocation's block of 4 is 4·quad.
  let quad = gid.x + gid.y * groups.x * WorkgroupSize;
  if (quad * 4u >= params.length) {
    return;
  }
  var words = vec4u(0u);
  if (params.keep_all == 0u) {
    words = dropout_words(quad, step.step, params.site, params.stream, vec2u(params.key_lo, params.key_hi));
  }
  for (var lane = 0u; lane < 4u; lane++) {
    let i = quad * 4u + lane;
    if (i < params.length) {
      let kept = params.keep_all != 0u || words[lane] < params.threshold;
      out[i] = select(0.0, x[i] * params.scale, kept);
    }
  }
}
