/**
 * The Wasm SIMD arithmetic ceiling of this machine, one thread, in GFLOP/s (one f32x4 multiply-add =
 * 8 flops), for bench/wasm/ceiling.ts and bench/wasm/matmul.ts. Small AS kernels (generated below,
 * compiled by bench/wasm/asc.ts) run many independent f32x4 chains with nothing but arithmetic (and
 * L1 loads) in the loop:
 *   chainN:  N dependent chains acc = acc·m + c (mul then add: 2 instructions per multiply-add);
 *   indepN:  N accumulators acc += x_i·y with the product off the chain (what a matmul does);
 *   loadN:   the same with x_i loaded from (L1) memory in every step, as a matmul's operands are;
 *   tileRxC: a matmul's R×C register tile (splat A, load B, multiply-add), operands in L1;
 *   relaxed variants: the same with f32x4.relaxed_madd (one FMA), where this engine validates it
 *   (Node 20: behind --experimental-wasm-relaxed-simd; `relaxed` switches it on, see asc.ts).
 * The ceiling is the best of them; bench/wasm/matmul.ts reports fractions of it. On the machine this
 * was written on (2 vCPUs of a Xeon, KVM) the plain ceiling came from the tiles (~27 GFLOP/s: V8 issues
 * about one f32x4 mul + add pair per cycle), the relaxed one from the chains (~45: two FMAs per cycle).
 * Timing: best of many short runs (bench/wasm/timing.ts). Never a test.
 */
import { compileAs, enableRelaxedSimd, instantiate } from './asc.js';
import { bestMs } from './timing.js';

const REPEAT = 16; // loop body copies per iteration

function chainKernel(name: string, chains: number, relaxed: boolean): string {
  const lines: string[] = [];
  lines.push(`export function ${name}(out: usize, iterations: i32, mf: f32, cf: f32): void {`);
  lines.push('  const m = f32x4.splat(mf); const c = f32x4.splat(cf);');
  for (let i = 0; i < chains; i++) lines.push(`  let a${i} = f32x4.splat(cf * <f32>${i + 1});`);
  lines.push('  for (let it = 0; it < iterations; it++) {');
  for (let r = 0; r < REPEAT; r++) {
    for (let i = 0; i < chains; i++) {
      lines.push(
        relaxed
          ? `    a${i} = f32x4.relaxed_madd(a${i}, m, c);`
          : `    a${i} = f32x4.add(f32x4.mul(a${i}, m), c);`,
      );
    }
  }
  lines.push('  }');
  const sum = Array.from({ length: chains }, (_, i) => `a${i}`).reduce((s, a) => `f32x4.add(${s}, ${a})`);
  lines.push(`  v128.store(out, ${sum});`);
  lines.push('}');
  return lines.join('\n');
}

function indepKernel(name: string, accs: number, relaxed: boolean): string {
  const lines: string[] = [];
  lines.push(`export function ${name}(out: usize, iterations: i32, mf: f32, cf: f32): void {`);
  lines.push('  const d = f32x4.splat(mf); let y = f32x4.splat(cf);');
  for (let i = 0; i < accs; i++) {
    lines.push(`  let a${i} = f32x4.splat(0); const x${i} = f32x4.splat(cf * <f32>${i + 1});`);
  }
  lines.push('  for (let it = 0; it < iterations; it++) {');
  for (let r = 0; r < REPEAT; r++) {
    for (let i = 0; i < accs; i++) {
      lines.push(
        relaxed
          ? `    a${i} = f32x4.relaxed_madd(x${i}, y, a${i});`
          : `    a${i} = f32x4.add(a${i}, f32x4.mul(x${i}, y));`,
      );
    }
    lines.push('    y = f32x4.mul(y, d);');
  }
  lines.push('  }');
  const sum = Array.from({ length: accs }, (_, i) => `a${i}`).reduce((s, a) => `f32x4.add(${s}, ${a})`);
  lines.push(`  v128.store(out, ${sum});`);
  lines.push('}');
  return lines.join('\n');
}

function loadKernel(name: string, accs: number, relaxed: boolean): string {
  const lines: string[] = [];
  lines.push(`export function ${name}(out: usize, iterations: i32, mf: f32, cf: f32): void {`);
  lines.push('  const d = f32x4.splat(mf); let y = f32x4.splat(cf);');
  for (let i = 0; i < accs; i++) {
    lines.push(`  let a${i} = f32x4.splat(0); v128.store(out, f32x4.splat(cf * <f32>${i + 1}), ${i * 16});`);
  }
  lines.push('  for (let it = 0; it < iterations; it++) {');
  for (let r = 0; r < REPEAT; r++) {
    for (let i = 0; i < accs; i++) {
      const x = `v128.load(out, ${i * 16})`;
      lines.push(
        relaxed
          ? `    a${i} = f32x4.relaxed_madd(${x}, y, a${i});`
          : `    a${i} = f32x4.add(a${i}, f32x4.mul(${x}, y));`,
      );
    }
    lines.push('    y = f32x4.mul(y, d);');
  }
  lines.push('  }');
  const sum = Array.from({ length: accs }, (_, i) => `a${i}`).reduce((s, a) => `f32x4.add(${s}, ${a})`);
  lines.push(`  v128.store(out, ${sum});`);
  lines.push('}');
  return lines.join('\n');
}

/**
 * A matmul register tile without the memory hierarchy: R×C outputs (C/4 vectors per row) accumulate
 * splat(a_r)·b_c over 64 k steps whose operands sit in a 3 KiB buffer (L1), repeated.
 */
function tileKernel(name: string, rows: number, cols: number, relaxed: boolean): string {
  const nv = cols / 4;
  const lines: string[] = [];
  lines.push(`export function ${name}(out: usize, iterations: i32, mf: f32, cf: f32): void {`);
  lines.push(
    `  for (let i = 0; i < ${64 * (rows + cols)}; i++) store<f32>(out + 64 + <usize>i * 4, cf * <f32>(i & 7));`,
  );
  for (let r = 0; r < rows; r++)
    for (let v = 0; v < nv; v++) lines.push(`  let c${r}_${v} = f32x4.splat(0);`);
  lines.push('  for (let it = 0; it < iterations; it++) {');
  lines.push(`    let pa = out + 64; let pb = out + 64 + ${64 * rows * 4};`);
  lines.push('    for (let k = 0; k < 64; k++) {');
  for (let v = 0; v < nv; v++) lines.push(`      const b${v} = v128.load(pb, ${v * 16});`);
  for (let r = 0; r < rows; r++) {
    lines.push(`      const a${r} = v128.load32_splat(pa, ${r * 4});`);
    for (let v = 0; v < nv; v++) {
      const acc = `c${r}_${v}`;
      lines.push(
        relaxed
          ? `      ${acc} = f32x4.relaxed_madd(a${r}, b${v}, ${acc});`
          : `      ${acc} = f32x4.add(${acc}, f32x4.mul(a${r}, b${v}));`,
      );
    }
  }
  lines.push(`      pa += ${rows * 4}; pb += ${cols * 4};`);
  lines.push('    }');
  lines.push('  }');
  let sum = 'f32x4.splat(0)';
  for (let r = 0; r < rows; r++) for (let v = 0; v < nv; v++) sum = `f32x4.add(${sum}, c${r}_${v})`;
  lines.push(`  v128.store(out, ${sum});`);
  lines.push('}');
  return lines.join('\n');
}

interface Variant {
  name: string;
  vectorsPerIteration: number;
  relaxed: boolean;
  source: string;
}

function variants(): Variant[] {
  const list: Variant[] = [];
  for (const relaxed of [false, true]) {
    const tag = relaxed ? '_relaxed' : '';
    for (const chains of [8, 10, 12, 14]) {
      const name = `chain${chains}${tag}`;
      list.push({
        name,
        vectorsPerIteration: chains * REPEAT,
        relaxed,
        source: chainKernel(name, chains, relaxed),
      });
    }
    for (const accs of [4, 6]) {
      const name = `indep${accs}${tag}`;
      list.push({
        name,
        vectorsPerIteration: accs * REPEAT,
        relaxed,
        source: indepKernel(name, accs, relaxed),
      });
    }
    for (const accs of [6, 8, 10]) {
      const name = `load${accs}${tag}`;
      list.push({
        name,
        vectorsPerIteration: accs * REPEAT,
        relaxed,
        source: loadKernel(name, accs, relaxed),
      });
    }
    for (const [rows, cols] of [
      [4, 8],
      [3, 12],
      [2, 16],
    ] as const) {
      const name = `tile${rows}x${cols}${tag}`;
      const vectorsPerIteration = 64 * rows * (cols / 4);
      list.push({ name, vectorsPerIteration, relaxed, source: tileKernel(name, rows, cols, relaxed) });
    }
  }
  return list;
}

export interface Ceiling {
  /** Best GFLOP/s of the plain SIMD variants (mul + add). */
  simd: number;
  /** Best GFLOP/s of the relaxed_madd variants, or null where relaxed SIMD does not validate. */
  relaxed: number | null;
  rows: { name: string; gflops: number }[];
}

/**
 * Measures every variant (best of `reps` runs of about `ms` each) and returns the ceilings; `relaxed`:
 * switch relaxed SIMD on where it is behind a flag (it stays on for the rest of the process).
 */
export async function measureCeiling(relaxed: boolean, reps = 30, ms = 10): Promise<Ceiling> {
  const hasRelaxed = relaxed && (await enableRelaxedSimd());
  const all = variants();
  const plain = all.filter((v) => !v.relaxed);
  const relaxedOnes = all.filter((v) => v.relaxed);
  const modules: { list: Variant[]; exports: WebAssembly.Exports }[] = [];
  const build = async (list: Variant[]) => {
    const binary = await compileAs({ 'index.ts': list.map((v) => v.source).join('\n\n') });
    const { exports } = await instantiate(binary, 65536);
    modules.push({ list, exports });
  };
  await build(plain);
  if (hasRelaxed) await build(relaxedOnes);
  const rows: { name: string; gflops: number }[] = [];
  for (const { list, exports } of modules) {
    for (const v of list) {
      const run = exports[v.name] as (out: number, iterations: number, m: number, c: number) => void;
      const m = v.name.startsWith('chain') ? 0.999 : 1;
      run(1024, 100, m, 0.001); // warm up (tier-up)
      let iterations = 100;
      for (;;) {
        const t = performance.now();
        run(1024, iterations, m, 0.001);
        if (performance.now() - t > ms * 0.5) break;
        iterations *= 2;
      }
      const best = bestMs(() => run(1024, iterations, m, 0.001), reps);
      rows.push({ name: v.name, gflops: (iterations * v.vectorsPerIteration * 8) / best / 1e6 });
    }
  }
  const bestOf = (relaxedOnes: boolean) =>
    Math.max(0, ...rows.filter((r) => r.name.endsWith('_relaxed') === relaxedOnes).map((r) => r.gflops));
  return { simd: bestOf(false), relaxed: hasRelaxed ? bestOf(true) : null, rows };
}
