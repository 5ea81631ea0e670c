/**
 * Matmul kernel variants for bench/wasm/matmul.ts, generated as AssemblyScript text and compiled by
 * bench/wasm/asc.ts: plain C = opA·opB (no epilogue), one thread, packing both operands into panels
 * (A: [k][MR] per MR rows, B: [k][NR] per NR columns, zero-padded) and then running an MR×NR register
 * tile of f32x4 accumulators over the whole K for every (column panel, row panel), column panels
 * outermost. They let the micro-kernel shape, the k unrolling and mul+add vs relaxed_madd be compared
 * with the kernel that ships (wasm/matmul_kernels.ts). Never a test.
 *
 * Export of every variant: `<name>(C, A, B, M, N, K, transA, transB, scratch)`.
 */

export interface VariantConfig {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (a multiple of 4). */
  nr: number;
  /** k steps per loop iteration. */
  unroll: number;
  /** f32x4.relaxed_madd instead of mul + add. */
  relaxed: boolean;
  /** Per row: splat the A scalar right before its products (false: all MR splats first). */
  interleave?: boolean;
  /**
   * How the A scalars become vectors: 'load' (v128.load32_splat per row) or 'shuffle' (one v128 load
   * per 4 rows, then a lane broadcast by i32x4.shuffle; rows past the last group of 4 by load).
   */
  splat?: 'load' | 'shuffle';
  /**
   * Unrolled steps after the first each inside `if (k + u < K)`: the branch makes V8 schedule each
   * step's loads in its own block, instead of hoisting every load of the loop body to its top (which
   * keeps them all live and spills).
   */
  guard?: boolean;
}

export function variantName(c: VariantConfig): string {
  const splat = c.splat === 'shuffle' ? '_shuf' : '';
  const guard = c.guard ? 'g' : '';
  return `mm_${c.mr}x${c.nr}_u${c.unroll}${guard}${splat}${c.interleave === false ? '_s' : ''}${c.relaxed ? '_relaxed' : ''}`;
}

/** AS source of one variant. */
export function variantSource(c: VariantConfig): string {
  const name = variantName(c);
  const { mr, nr, unroll } = c;
  const nv = nr / 4;
  const L: string[] = [];
  const acc = (r: number, v: number) => `c${r}_${v}`;
  const madd = (a: string, b: string, cc: string) =>
    c.relaxed ? `f32x4.relaxed_madd(${a}, ${b}, ${cc})` : `f32x4.add(${cc}, f32x4.mul(${a}, ${b}))`;
  L.push(
    `export function ${name}(C: usize, A: usize, B: usize, M: i32, N: i32, K: i32, transA: i32, transB: i32, scratch: usize): void {`,
  );
  L.push(`  const panelsA = (M + ${mr - 1}) / ${mr}; const panelsB = (N + ${nr - 1}) / ${nr};`);
  L.push(`  const pa0 = scratch; const pb0 = scratch + <usize>(panelsA * ${mr} * K) * 4;`);
  L.push(`  const tile = pb0 + <usize>(panelsB * ${nr} * K) * 4;`);
  // Pack A: panel i, [k][r].
  L.push(`  for (let i = 0; i < panelsA; i++) {`);
  L.push(`    const dst = pa0 + <usize>(i * K * ${mr}) * 4;`);
  L.push(`    for (let k = 0; k < K; k++) {`);
  L.push(`      for (let r = 0; r < ${mr}; r++) {`);
  L.push(`        const m = i * ${mr} + r;`);
  L.push(`        let v: f32 = 0;`);
  L.push(`        if (m < M) v = load<f32>(A + <usize>(transA ? k * M + m : m * K + k) * 4);`);
  L.push(`        store<f32>(dst + <usize>(k * ${mr} + r) * 4, v);`);
  L.push(`      }`);
  L.push(`    }`);
  L.push(`  }`);
  // Pack B: panel j, [k][c].
  L.push(`  for (let j = 0; j < panelsB; j++) {`);
  L.push(`    const dst = pb0 + <usize>(j * K * ${nr}) * 4;`);
  L.push(`    for (let k = 0; k < K; k++) {`);
  L.push(`      for (let cc = 0; cc < ${nr}; cc++) {`);
  L.push(`        const n = j * ${nr} + cc;`);
  L.push(`        let v: f32 = 0;`);
  L.push(`        if (n < N) v = load<f32>(B + <usize>(transB ? n * K + k : k * N + n) * 4);`);
  L.push(`        store<f32>(dst + <usize>(k * ${nr} + cc) * 4, v);`);
  L.push(`      }`);
  L.push(`    }`);
  L.push(`  }`);
  // Compute.
  L.push(`  for (let j = 0; j < panelsB; j++) {`);
  L.push(`    const pbj = pb0 + <usize>(j * K * ${nr}) * 4;`);
  L.push(`    for (let i = 0; i < panelsA; i++) {`);
  L.push(`      let pa = pa0 + <usize>(i * K * ${mr}) * 4; let pb = pbj;`);
  for (let r = 0; r < mr; r++)
    for (let v = 0; v < nv; v++) L.push(`      let ${acc(r, v)} = f32x4.splat(0);`);
  const step = (indent: string, u: number) => {
    for (let v = 0; v < nv; v++)
      L.push(`${indent}const b${v}_${u} = v128.load(pb, ${(u * nr + v * 4) * 4});`);
    if (c.splat === 'shuffle') {
      const groups = Math.floor(mr / 4);
      for (let q = 0; q < groups; q++)
        L.push(`${indent}const av${q}_${u} = v128.load(pa, ${(u * mr + q * 4) * 4});`);
      for (let r = 0; r < mr; r++) {
        const l = r % 4;
        const av = `av${Math.floor(r / 4)}_${u}`;
        L.push(
          r < groups * 4
            ? `${indent}const a${r}_${u} = i32x4.shuffle(${av}, ${av}, ${l}, ${l}, ${l}, ${l});`
            : `${indent}const a${r}_${u} = v128.load32_splat(pa, ${(u * mr + r) * 4});`,
        );
        for (let v = 0; v < nv; v++)
          L.push(`${indent}${acc(r, v)} = ${madd(`a${r}_${u}`, `b${v}_${u}`, acc(r, v))};`);
      }
      return;
    }
    if (c.interleave === false) {
      for (let r = 0; r < mr; r++)
        L.push(`${indent}const a${r}_${u} = v128.load32_splat(pa, ${(u * mr + r) * 4});`);
      for (let r = 0; r < mr; r++)
        for (let v = 0; v < nv; v++)
          L.push(`${indent}${acc(r, v)} = ${madd(`a${r}_${u}`, `b${v}_${u}`, acc(r, v))};`);
    } else {
      for (let r = 0; r < mr; r++) {
        L.push(`${indent}const a${r}_${u} = v128.load32_splat(pa, ${(u * mr + r) * 4});`);
        for (let v = 0; v < nv; v++)
          L.push(`${indent}${acc(r, v)} = ${madd(`a${r}_${u}`, `b${v}_${u}`, acc(r, v))};`);
      }
    }
  };
  L.push(`      let k = 0;`);
  if (c.guard) {
    L.push(`      for (; k < K; k += ${unroll}) {`);
    step('        ', 0);
    for (let u = 1; u < unroll; u++) {
      L.push(`${'  '.repeat(u + 3)}if (k + ${u} < K) {`);
      step('  '.repeat(u + 4), u);
    }
    for (let u = unroll - 1; u >= 1; u--) L.push(`${'  '.repeat(u + 3)}}`);
    L.push(`        pa += ${unroll * mr * 4}; pb += ${unroll * nr * 4};`);
    L.push(`      }`);
  } else {
    L.push(`      for (; k + ${unroll} <= K; k += ${unroll}) {`);
    for (let u = 0; u < unroll; u++) step('        ', u);
    L.push(`        pa += ${unroll * mr * 4}; pb += ${unroll * nr * 4};`);
    L.push(`      }`);
  }
  L.push(`      for (; k < K; k++) {`);
  step('        ', 0);
  L.push(`        pa += ${mr * 4}; pb += ${nr * 4};`);
  L.push(`      }`);
  for (let r = 0; r < mr; r++)
    for (let v = 0; v < nv; v++) L.push(`      v128.store(tile, ${acc(r, v)}, ${(r * nr + v * 4) * 4});`);
  L.push(`      const m0 = i * ${mr}; const n0 = j * ${nr};`);
  L.push(`      const rows = min(${mr}, M - m0); const cols = min(${nr}, N - n0);`);
  L.push(`      for (let r = 0; r < rows; r++) {`);
  L.push(
    `        const dst = C + <usize>((m0 + r) * N + n0) * 4; const src = tile + <usize>(r * ${nr}) * 4;`,
  );
  L.push(`        if (cols == ${nr}) {`);
  for (let v = 0; v < nv; v++) L.push(`          v128.store(dst, v128.load(src, ${v * 16}), ${v * 16});`);
  L.push(`        } else {`);
  L.push(
    `          for (let cc = 0; cc < cols; cc++) store<f32>(dst + <usize>cc * 4, load<f32>(src + <usize>cc * 4));`,
  );
  L.push(`        }`);
  L.push(`      }`);
  L.push(`    }`);
  L.push(`  }`);
  L.push(`}`);
  return L.join('\n');
}

/** Scratch bytes a variant needs. */
export function variantScratch(c: VariantConfig, M: number, N: number, K: number): number {
  return (Math.ceil(M / c.mr) * c.mr * K + Math.ceil(N / c.nr) * c.nr * K + c.mr * c.nr) * 4 + 64;
}
