/**
 * The layout rules of CONTRIBUTING.md, checked: no import cycle between the folders of src/, no device
 * that reads the op table, no reference to a document outside the repository, and files of a readable
 * size.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.ts$/.test(name) ? [path] : [];
  });
}

/** The src/ files a file imports (relative imports only), as absolute paths. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)) {
    const target = resolve(dirname(file), (match[1] as string).replace(/\.js$/, '.ts'));
    if (target.startsWith(SRC) && target.endsWith('.ts')) found.push(target);
  }
  return found;
}

/** The folder of src/ a file belongs to ('.' for top-level files). */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? (parts[0] as string) : '.';
}

const files = sources(SRC);

describe('architecture', () => {
  test('no import cycle between the folders of src/', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of files) {
      for (const target of imports(file)) {
        const [from, to] = [folderOf(file), folderOf(target)];
        if (from === to || from === '.' || to === '.') continue;
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)?.add(to);
      }
    }
    const cycles: string[] = [];
    const reach = (from: string, to: string, seen = new Set<string>()): boolean => {
      if (from === to) return true;
      if (seen.has(from)) return false;
      seen.add(from);
      return [...(edges.get(from) ?? [])].some((next) => reach(next, to, seen));
    };
    for (const [from, targets] of edges) {
      for (const to of targets) if (reach(to, from)) cycles.push(`${from} → ${to} → … → ${from}`);
    }
    expect(cycles).toEqual([]);
  });

  test('no device file imports the op table', () => {
    const table = join(SRC, 'ops', 'index.ts');
    const devices = files.filter((file) => /src\/(webgpu|wasm|backend)\//.test(file));
    const offenders = devices.filter((file) => imports(file).includes(table)).map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });

  test('src/ cites only documents that are in the repository', () => {
    const bad: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      if (/\bSPEC\b/.test(text)) bad.push(`${relative(ROOT, file)}: cites SPEC`);
      for (const match of text.matchAll(/\b(docs\/[\w./-]+\.md|CONTRIBUTING\.md)/g)) {
        if (!existsSync(join(ROOT, match[1] as string))) bad.push(`${relative(ROOT, file)}: ${match[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test('no file in src/ is over 400 lines', () => {
    // safetensors.ts: the whole file format, its checks and their messages, read top to bottom.
    const allowed = new Set(['src/io/safetensors.ts']);
    const long = files
      .map((file) => [relative(ROOT, file), readFileSync(file, 'utf8').split('\n').length] as const)
      .filter(([name, lines]) => lines > 400 && !allowed.has(name));
    expect(long).toEqual([]);
  });
});
