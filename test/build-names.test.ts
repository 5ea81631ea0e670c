/**
 * The built library keeps its names (vite.config.ts, `keepNames`): minified, an error's
 * `constructor.name` would be a letter like 't' and `console.log(err)` would print
 * `r [WebGpuUnavailableError]`. Runs against dist/ (CI builds before testing); without dist/ it skips
 * and says so, except with `CI` set, where that fails.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';

const built = fileURLToPath(new URL('../dist/dropgpu.js', import.meta.url));
const present = existsSync(built);
if (!present && !process.env.CI) {
  console.warn('Skipping the build-names test: dist/dropgpu.js is missing (run `npm run build`).');
}

const errorClasses = [
  'DropgpuError',
  'ArgumentError',
  'DisposedError',
  'WebGpuUnavailableError',
  'KernelCompileError',
  'DeviceLostError',
  'GpuValidationError',
  'ValidationError',
  'DataFormatError',
  'ModelFileError',
  'NonFiniteLossError',
  'WasmWorkerError',
];

describe.skipIf(!present && !process.env.CI)('the built library (dist/dropgpu.js)', () => {
  it('exists (CI builds it before the tests)', () => {
    expect(present, `${built} is missing: run \`npm run build\` first`).toBe(true);
  });

  it('keeps the names of its error classes: constructor.name, .name and what console.log shows', async () => {
    const library = (await import(/* @vite-ignore */ pathToFileURL(built).href)) as Record<string, unknown>;
    for (const name of errorClasses) {
      const ErrorClass = library[name] as new (...args: unknown[]) => Error;
      expect(typeof ErrorClass, name).toBe('function');
      const error =
        name === 'KernelCompileError'
          ? new ErrorClass('matmul', ['a message'])
          : new ErrorClass('x', 'something', 'nothing');
      expect(error.constructor.name).toBe(name);
      expect(error.name).toBe(name);
      expect(error).toBeInstanceOf(library.DropgpuError as typeof Error);
      // Node prints `t [ArgumentError]: …` when the two names differ.
      expect(inspect(error).split('\n')[0]).toMatch(new RegExp(`^${name}(: |$)`));
    }
    const argument = new (library.ArgumentError as new (...args: string[]) => Error)('x', 'a number', '"1"');
    expect(argument.constructor.name).toBe('ArgumentError');
    expect(String(argument)).toBe('ArgumentError: x: expected a number, got "1"');
  });

  it('keeps the names of its exported functions', async () => {
    const library = (await import(/* @vite-ignore */ pathToFileURL(built).href)) as Record<string, unknown>;
    const renamed = Object.entries(library)
      .filter(([key, value]) => typeof value === 'function' && value.name !== key)
      .map(([key, value]) => `${key} is named ${(value as () => void).name}`);
    expect(renamed).toEqual([]);
  });
});
