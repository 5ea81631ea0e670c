/**
 * Builds the Wasm backend's kernels (wasm/, AssemblyScript) with the compiler from `npm ci`: no system
 * toolchain and no committed binary. Four modules from one source: plain 128-bit SIMD, and the same with
 * wasm/features.ts's RELAXED switched on (relaxed-SIMD FMA), which only some engines validate (the
 * backend picks with `WebAssembly.validate`); each importing a shared `env.memory` (worker threads) or
 * an unshared one (pages without cross-origin isolation, one thread).
 *
 * As a Vite plugin it serves them as the virtual module `virtual:wasm-kernels` (base64 strings), so the
 * library build inlines them and tests and the demo compile them on import.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'wasm');
const MODULE_ID = 'virtual:wasm-kernels';
/** Memory limits in 64 KiB pages: the maximum must be declared for shared memory (4 GiB = 65536). */
export const MAXIMUM_PAGES = 65536;

interface Asc {
  main(
    argv: string[],
    options: {
      readFile(name: string, baseDir: string): Promise<string | null>;
      writeFile(name: string, contents: Uint8Array | string, baseDir: string): Promise<void>;
      listFiles(dirname: string, baseDir: string): Promise<string[] | null>;
      stdout: { write(text: string): void };
      stderr: { write(text: string): void };
    },
  ): Promise<{ error: Error | null; stderr: { toString(): string } }>;
}

/** Options of `compileAssemblyScript`. */
export interface CompileOptions {
  /** Where files are read from (imports resolve against it). */
  readonly baseDir: string;
  /** Files given as text instead of read from disk, by path relative to `baseDir`. */
  readonly sources?: Readonly<Record<string, string>>;
  /** Whether the imported memory is shared (threads). Default true. */
  readonly shared?: boolean;
}

/**
 * Compiles `index.ts` under `baseDir` (and what it imports) to one module with the kernels' flags:
 * -O3, the stub runtime, no asserts or abort, SIMD and relaxed SIMD, an imported memory of up to
 * MAXIMUM_PAGES (shared, with threads, unless `shared` is false). Returns the binary and the files read.
 */
export async function compileAssemblyScript(
  options: CompileOptions,
): Promise<{ binary: Uint8Array<ArrayBuffer>; files: string[] }> {
  const { baseDir, sources = {}, shared = true } = options;
  const asc = (await import('assemblyscript/asc')).default as unknown as Asc;
  let binary: Uint8Array | null = null;
  const files: string[] = [];
  let log = '';
  const { error } = await asc.main(
    [
      'index.ts',
      '--outFile',
      'kernels.wasm',
      '-O3',
      '--runtime',
      'stub',
      '--noAssert',
      '--use',
      'abort=',
      '--importMemory',
      ...(shared ? ['--sharedMemory'] : []),
      '--initialMemory',
      '1',
      '--maximumMemory',
      String(MAXIMUM_PAGES),
      '--enable',
      shared ? 'simd,threads,relaxed-simd' : 'simd,relaxed-simd',
      '--baseDir',
      baseDir,
    ],
    {
      async readFile(name, dir) {
        const path = join(dir, name);
        const given = sources[relative(baseDir, path)];
        if (given !== undefined) return given;
        try {
          const text = await readFile(path, 'utf8');
          files.push(path);
          return text;
        } catch {
          return null;
        }
      },
      async writeFile(name, contents) {
        if (name.endsWith('.wasm') && typeof contents !== 'string') binary = contents;
      },
      async listFiles() {
        return [];
      },
      stdout: {
        write(text) {
          log += text;
        },
      },
      stderr: {
        write(text) {
          log += text;
        },
      },
    },
  );
  const out = binary as Uint8Array | null;
  if (error || !out) throw new Error(`${baseDir}/index.ts did not compile: ${error?.message ?? ''}\n${log}`);
  return { binary: Uint8Array.from(out), files };
}

/**
 * Compiles wasm/index.ts into one module; `relaxed` switches wasm/features.ts's RELAXED on; `shared`
 * declares the imported memory shared (threads), which pages that are not cross-origin isolated cannot
 * make, so a build without it serves them (one thread).
 */
export async function compileKernels(
  relaxed: boolean,
  shared = true,
): Promise<{ binary: Uint8Array; files: string[] }> {
  const features = await readFile(join(SOURCE, 'features.ts'), 'utf8');
  const sources = relaxed
    ? { 'features.ts': features.replace('RELAXED: bool = false', 'RELAXED: bool = true') }
    : {};
  const built = await compileAssemblyScript({ baseDir: SOURCE, sources, shared });
  return { binary: built.binary, files: [...built.files, join(SOURCE, 'features.ts')] };
}

/** The four builds as the virtual module's source text. */
async function kernelsModule(): Promise<{ code: string; files: string[] }> {
  const builds = await Promise.all([
    compileKernels(false),
    compileKernels(true),
    compileKernels(false, false),
    compileKernels(true, false),
  ]);
  const names = ['simd', 'relaxed', 'simdUnshared', 'relaxedUnshared'];
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  const code = [
    ...builds.map(({ binary }, i) => `export const ${names[i]} = ${JSON.stringify(base64(binary))};`),
    `export const maximumPages = ${MAXIMUM_PAGES};`,
  ].join('\n');
  return { code, files: builds[0]?.files ?? [] };
}

/**
 * The module for the current sources: compiled once per process (the test projects share it) and kept
 * in node_modules/.cache keyed by a hash of every wasm/ file and the compiler's version, so an unchanged
 * tree does not compile again.
 */
let built: { key: string; result: Promise<{ code: string; files: string[] }> } | undefined;

async function cachedKernelsModule(): Promise<{ code: string; files: string[] }> {
  const names = (await readdir(SOURCE)).filter((name) => name.endsWith('.ts')).sort();
  const hash = createHash('sha256');
  hash.update((await import('assemblyscript/asc')).version ?? '');
  for (const name of names) hash.update(name).update(await readFile(join(SOURCE, name)));
  const key = hash.digest('hex').slice(0, 32);
  if (built?.key === key) return built.result;
  const cacheFile = join(ROOT, 'node_modules', '.cache', 'dropgpu-wasm', `${key}.js`);
  const files = names.map((name) => join(SOURCE, name));
  const result = readFile(cacheFile, 'utf8').then(
    (code) => ({ code, files }),
    async () => {
      const made = await kernelsModule();
      await mkdir(dirname(cacheFile), { recursive: true });
      await writeFile(cacheFile, made.code);
      return made;
    },
  );
  built = { key, result };
  return result;
}

export function wasmKernels(): Plugin {
  const resolved = `\0${MODULE_ID}`;
  return {
    name: 'dropgpu-wasm-kernels',
    resolveId: (id) => (id === MODULE_ID ? resolved : null),
    async load(id) {
      if (id !== resolved) return null;
      const { code, files } = await cachedKernelsModule();
      for (const file of files) this.addWatchFile(file);
      return code;
    },
  };
}
