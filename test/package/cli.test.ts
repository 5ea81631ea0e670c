/**
 * The CLI's command line (src/cli/), run in-process: help exits 0, every bad flag gets one line naming
 * it as typed and exit code 2 before any work; and dropgpu/node's tuning cache file. The installed
 * package is tested end to end by `npm run test:package` (run.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { defaultTuningFile, fileTuningStore } from '../../src/node/tuning-store.js';

/** What a mocked `write` received; calls the write's callback, which some writers wait for. */
function capture(stream: NodeJS.WriteStream, into: { text: string }) {
  return vi.spyOn(stream, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
    into.text += String(chunk);
    const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    done?.();
    return true;
  });
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = { text: '' };
  const stderr = { text: '' };
  const spies = [capture(process.stdout, stdout), capture(process.stderr, stderr)];
  try {
    const code = await main(argv);
    return { code, stdout: stdout.text, stderr: stderr.text };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

describe('dropgpu command line', () => {
  it.each([
    [['--help']],
    [['-h']],
    [['help']],
    [['train', '--help']],
    [['train', '-h']],
    [['train', '--epochs', '0', '--help']],
    [['eval', '--help']],
    [['eval', '-h']],
  ])('%j prints usage and exits 0', async (argv) => {
    const { code, stdout, stderr } = await cli(...argv);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: dropgpu/);
    expect(stderr).toBe('');
  });

  it.each([
    [['train', '--optimizer', 'foo'], 'train: --optimizer foo: expected sgd or adam'],
    [['train', '--limit', '0'], 'train: --limit 0: expected an integer from 1 to 60000'],
    [
      ['train', '--limit', '100'],
      'train: --limit 100: expected at least one batch (--batch 128) of examples',
    ],
    [
      ['train', '--max-norm', '0'],
      'train: --max-norm 0: expected a max-norm > 0, or "none" for no constraint',
    ],
    [
      ['train', '--max-norm', '-1'],
      'train: --max-norm -1: expected a max-norm > 0, or "none" for no constraint',
    ],
    [['train', '--epochs=-1'], 'train: --epochs=-1: expected an integer ≥ 1'],
    [['train', '--epochs', '1.5'], 'train: --epochs 1.5: expected an integer ≥ 1'],
    [['train', '--batch', '0'], 'train: --batch 0: expected an integer ≥ 1'],
    [['train', '--lr', ''], 'train: --lr "": expected a learning rate > 0'],
    [['train', '--momentum', '1'], 'train: --momentum 1: expected a momentum in [0, 1)'],
    [['train', '--keep-input', '0'], 'train: --keep-input 0: expected a keep probability in (0, 1]'],
    [['train', '--activation', 'gelu'], 'train: --activation gelu: expected relu, tanh or sigmoid'],
    [['train', '--backend', 'tpu'], 'train: --backend tpu: expected auto, wasm, webgpu or cpu'],
    [['train', '--seed', '-1'], 'train: --seed -1: expected an integer ≥ 0'],
    [['train', '--frobnicate'], 'train: unknown flag --frobnicate (dropgpu train --help lists the flags)'],
    [['train', '--no-autotune=1'], 'train: --no-autotune=1: --no-autotune takes no value'],
    [['train', 'extra'], 'train: unexpected argument "extra"'],
    [['train', '--epochs'], 'train: --epochs: expected a value after it'],
    [
      ['train', '--out', '/nonexistent/dir/m.safetensors'],
      'train: --out /nonexistent/dir/m.safetensors: no such folder /nonexistent/dir',
    ],
    [['train', '--data', '/nonexistent'], 'train: --data /nonexistent: no such folder'],
    [['eval'], 'eval: expected a model file: dropgpu eval <model.safetensors>'],
    [['eval', 'missing.safetensors'], 'eval: missing.safetensors: no such file'],
    [['eval', 'a', 'b'], 'eval: unexpected argument "b"'],
    [['eval', 'missing.safetensors', '--data', '/nonexistent'], 'eval: --data /nonexistent: no such folder'],
    [['eval', 'package.json'], 'eval: package.json: safetensors header length'],
  ])('%j: one line, exit 2', async (argv, message) => {
    const { code, stdout, stderr } = await cli(...argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.endsWith('\n') && stderr.split('\n').length).toBe(2);
    expect(stderr).toContain(`dropgpu ${message}`);
  });

  it('names an unknown command', async () => {
    const { code, stderr } = await cli('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toBe('dropgpu: unknown command "frobnicate" (expected train or eval; dropgpu --help)\n');
  });
});

describe('the tuning cache file', () => {
  const saved = process.env.XDG_CACHE_HOME;
  afterEach(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  });

  it('lives under XDG_CACHE_HOME, else ~/.cache', () => {
    process.env.XDG_CACHE_HOME = '/some/cache';
    expect(defaultTuningFile()).toBe('/some/cache/dropgpu/autotune-v1.json');
    delete process.env.XDG_CACHE_HOME;
    expect(defaultTuningFile()).toMatch(/\.cache\/dropgpu\/autotune-v1\.json$/);
  });

  it('reads back what it wrote, makes its folder, and reads null when there is none', () => {
    const folder = mkdtempSync(join(tmpdir(), 'dropgpu-tuning-'));
    try {
      const path = join(folder, 'deep', 'autotune.json');
      const store = fileTuningStore(path);
      expect(store.read()).toBeNull();
      store.write('{"adapter":{"matmul 1x2x3":"matmul 8x8"}}');
      expect(store.read()).toBe('{"adapter":{"matmul 1x2x3":"matmul 8x8"}}');
      expect(readFileSync(path, 'utf8')).toBe(store.read());
      // A folder that cannot be made (a file is in the way): the write is dropped, not thrown.
      const blocked = fileTuningStore(join(path, 'under-a-file', 'autotune.json'));
      expect(() => blocked.write('{}')).not.toThrow();
      expect(blocked.read()).toBeNull();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
