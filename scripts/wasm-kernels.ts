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
import { readFile } from 'node:fs/promises';
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

/**
 * Compiles wasm/index.ts into one module; `relaxed` switches wasm/features.ts's RELAXED on; `shared`
 * declares the imported memory shared (threads), which pages that are not cross-origin isolated cannot
 * make, so a build without it serves them (one thread).
 */
export async function compileKernels(
  relaxed: boolean,
  shared = true,
): Promise<{ binary: Uint8Array; files: string[] }> {
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
      SOURCE,
    ],
    {
      async readFile(name, baseDir) {
        const path = join(baseDir, name);
        try {
          const text = await readFile(path, 'utf8');
          if (path.startsWith(SOURCE)) files.push(path);
          if (relaxed && relative(SOURCE, path) === 'features.ts') {
            return text.replace('RELAXED: bool = false', 'RELAXED: bool = true');
          }
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
  if (error || !binary) throw new Error(`wasm/ did not compile: ${error?.message ?? ''}\n${log}`);
  return { binary, files };
}

export function wasmKernels(): Plugin {
  const resolved = `\0${MODULE_ID}`;
  return {
    name: 'dropgpu-wasm-kernels',
    resolveId: (id) => (id === MODULE_ID ? resolved : null),
    async load(id) {
      if (id !== resolved) return null;
      const builds = await Promise.all([
        compileKernels(false),
        compileKernels(true),
        compileKernels(false, false),
        compileKernels(true, false),
      ]);
      for (const file of builds[0].files) this.addWatchFile(file);
      const names = ['simd', 'relaxed', 'simdUnshared', 'relaxedUnshared'];
      const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
      return [
        ...builds.map(({ binary }, i) => `export const ${names[i]} = ${JSON.stringify(base64(binary))};`),
        `export const maximumPages = ${MAXIMUM_PAGES};`,
      ].join('\n');
    },
  };
}
