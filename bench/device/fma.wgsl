// The fp32 ceiling probe of `npm run bench:device`: every invocation runs Iterations rounds of 8
// independent vec4 fused multiply-adds (64 FLOP per round), with no memory traffic but one store at
// the end (so the compiler cannot drop the work). FLOPs per dispatch: invocations × Iterations × 64.

override WorkgroupSize: u32 = 256u;
override Iterations: u32 = 4096u;

@group(0) @binding(0) var<storage, read_write> out: array<vec4f>;

@compute @workgroup_size(WorkgroupSize)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WorkgroupSize;
  let s = f32(i) * 1e-9;
  var a0 = vec4f(s, s + 1.0, s + 2.0, s + 3.0);
  var a1 = a0 + 0.1; var a2 = a0 + 0.2; var a3 = a0 + 0.3;
  var a4 = a0 + 0.4; var a5 = a0 + 0.5; var a6 = a0 + 0.6; var a7 = a0 + 0.7;
  let m = vec4f(0.999999);
  let c = vec4f(1e-7);
  for (var k = 0u; k < Iterations; k++) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  out[i] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}
