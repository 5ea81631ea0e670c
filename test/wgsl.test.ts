/**
 * Every op's WGSL checked against its descriptor in Node, with no GPU (wgsl_reflect parses the shader):
 * it parses, has a compute entry `main`, declares storage bindings 0..n−1 exactly as `bind` fills
 * them (outputs writable), then the uniform `params` (sized as `uniform` packs it), then `step` iff the
 * kernel uses it; every override the descriptor sets exists; WGSL and reference name each other.
 * An op's fast variants (the kernels its `select` picks for some parameters) are checked the same way:
 * each op's sample parameters (`samples` in src/ops/<op>.ts) reach each of them.
 */
import { describe, expect, it } from 'vitest';
// The package's "main" is a CommonJS build inside an ES-module package; its ES build is this file.
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import type { OpName } from '../src/ir/ir.js';
import { type GpuKernel, kernelFor } from '../src/kernels/gpu.js';
import { OPS } from '../src/ops/index.js';

const shaderFiles = import.meta.glob('../shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;
const opFiles = import.meta.glob('../src/ops/*.ts', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

describe.each(Object.keys(OPS) as OpName[])('%s', (name) => {
  const base = OPS[name].kernel as GpuKernel<unknown>;
  // The kernel each sample runs by default, and every candidate the autotuner may pick instead.
  const samples = (OPS[name].samples as readonly unknown[]).flatMap((p) =>
    [kernelFor(base, p), ...(base.tuning?.candidates(p) ?? [])].map((kernel) => ({ p, kernel })),
  );
  const kernels = new Map(samples.map(({ kernel }) => [kernel.name ?? name, kernel]));
  // By code, not by name: one main file may sit behind more than one epilogue (matmul's Adam twins).
  const reflections = new Map(
    samples.map(({ kernel }) => [kernel.wgsl.code, new WgslReflect(kernel.wgsl.code)] as const),
  );

  it.each([...kernels.keys()])('%s parses and has one compute entry point, main', (file) => {
    for (const { kernel } of samples.filter((sample) => (sample.kernel.name ?? name) === file))
      expect(reflections.get(kernel.wgsl.code)?.entry.compute.map((entry) => entry.name)).toEqual(['main']);
  });

  it.each(samples.map(({ p, kernel }) => [kernel.name ?? name, JSON.stringify(p), p, kernel] as const))(
    '%s: bindings and overrides match the descriptor for %s',
    (_file, _label, p, kernel) => {
      const reflect = reflections.get(kernel.wgsl.code) as WgslReflect;
      const refs = kernel.bind(p);
      const storage = [...reflect.storage].sort((a, b) => a.binding - b.binding);
      expect(storage.map((s) => s.binding)).toEqual(refs.map((_, i) => i));
      refs.forEach((ref, i) => {
        if (ref?.[0] === 'out')
          expect(storage[i]?.access, `binding ${i} (${storage[i]?.name}) is an output`).toBe('read_write');
      });
      const uniforms = Object.fromEntries(reflect.uniforms.map((u) => [u.name, u]));
      expect(uniforms.params?.binding).toBe(refs.length);
      expect(uniforms.params?.size).toBe(kernel.uniform(p).byteLength);
      if (kernel.usesStep) expect(uniforms.step?.binding).toBe(refs.length + 1);
      else expect(uniforms.step).toBeUndefined();
      expect(reflect.uniforms).toHaveLength(kernel.usesStep ? 2 : 1);
      const declared = reflect.overrides.map((o) => o.name);
      for (const key of Object.keys(kernel.overrides?.(p) ?? {})) expect(declared).toContain(key);
    },
  );

  it.each([...kernels.keys()])('%s: its WGSL file and its CPU reference name each other', (file) => {
    const wgsl = shaderFiles[`../shaders/${file}.wgsl`];
    expect(wgsl, `shaders/${file}.wgsl exists`).toBeDefined();
    expect(wgsl).toMatch(/CPU reference: \w+Reference\(\) in src\/ops\/[\w-]+\.ts/);
    const opFile = (wgsl?.match(/CPU reference: \w+Reference\(\) in src\/ops\/([\w-]+\.ts)/) ?? [])[1];
    expect(opFiles[`../src/ops/${opFile}`]).toContain(`// WGSL twin: shaders/${file}.wgsl`);
  });
});

it('matmul runs matmul_vec4 by default exactly when every vec4-read dimension is a multiple of 4', () => {
  const kernel = OPS.matmul.kernel as GpuKernel<unknown>;
  const plain = { bias: false, activation: 'identity', activationGrad: 'identity', dropoutBackward: false };
  const pick = (transA: boolean, transB: boolean, M: number, N: number, K: number) =>
    kernelFor(kernel, { ...plain, M, N, K, transA, transB }).name;
  // Y = X·Wᵀ reads both along K; N is free.
  expect([4, 8, 784].map((K) => pick(false, true, 3, 5, K))).toEqual([
    'matmul_vec4',
    'matmul_vec4',
    'matmul_vec4',
  ]);
  expect([1, 5, 7, 33].map((K) => pick(false, true, 4, 4, K))).toEqual([
    'matmul',
    'matmul',
    'matmul',
    'matmul',
  ]);
  // dX = dY·W reads A along K and B along N; M is free.
  expect([pick(false, false, 3, 8, 8), pick(false, false, 3, 6, 8), pick(false, false, 3, 8, 10)]).toEqual([
    'matmul_vec4',
    'matmul',
    'matmul',
  ]);
  // dW = dYᵀ·X reads A along M and B along N; K is free.
  expect([pick(true, false, 8, 4, 7), pick(true, false, 10, 4, 8), pick(true, false, 8, 5, 8)]).toEqual([
    'matmul_vec4',
    'matmul',
    'matmul',
  ]);
  // Both transposed: A along M, B along K.
  expect([pick(true, true, 4, 3, 8), pick(true, true, 4, 3, 6)]).toEqual(['matmul_vec4', 'matmul']);
});

it('matmul: every tuning candidate has its own variant name, the default first', () => {
  const kernel = OPS.matmul.kernel as GpuKernel<unknown>;
  const p = {
    M: 64,
    N: 64,
    K: 64,
    transA: false,
    transB: true,
    bias: false,
    activation: 'identity',
    activationGrad: 'identity',
    dropoutBackward: false,
  };
  const candidates = kernel.tuning?.candidates(p) ?? [];
  expect(candidates.length).toBeGreaterThan(2);
  expect(new Set(candidates.map((c) => c.variant)).size).toBe(candidates.length);
  expect(candidates[0]?.variant).toBe(kernelFor(kernel, p).variant);
});

it('the optimizer steps and matmul parts joined into kernels name their CPU twins, which name them back', () => {
  const joined = new Set(
    (Object.keys(OPS) as OpName[]).flatMap((name) => {
      const base = OPS[name].kernel as GpuKernel<unknown>;
      return (OPS[name].samples as readonly unknown[]).flatMap((p) =>
        [kernelFor(base, p), ...(base.tuning?.candidates(p) ?? [])].flatMap((kernel) =>
          kernel.wgsl.files.map((file) => file.name),
        ),
      );
    }),
  );
  const shared = ['matmul_acc', 'matmul_epilogue', 'matmul_adam_epilogue', 'sgd_step', 'adam_step'];
  for (const file of shared.map((name) => `${name}.wgsl`)) {
    expect(joined, file).toContain(file);
    const wgsl = shaderFiles[`../shaders/${file}`] ?? '';
    const named = wgsl.match(
      /CPU (?:reference|twin):\s*(?:\/\/\s*)?(?:the [\w ]+ of )?\w+\(\) in src\/ops\/([\w-]+\.ts)/,
    );
    expect(named, `${file} names its CPU reference or twin`).not.toBeNull();
    expect(opFiles[`../src/ops/${named?.[1]}`], file).toContain(`// WGSL twin: shaders/${file}`);
  }
});
