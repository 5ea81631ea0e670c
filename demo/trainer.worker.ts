/**
 * The training worker (a dedicated module worker): MNIST, the backends, the nets and `fit` all live
 * here, so the page's main thread only draws. It answers the page's commands (protocol.ts) and sends
 * progress, epoch results, the paper's figures and the mistakes grid as events.
 *
 * `trainedSteps` on the worker's global scope is a read-out for the end-to-end test: the training
 * steps taken by the current nets (it checks that none are taken while paused).
 */
import {
  type Backend,
  type BackendKind,
  createBackend,
  type Dataset,
  DropgpuError,
  evaluate,
  fit,
  loadSafetensors,
  mlp,
  type Net,
  NonFiniteLossError,
  saveSafetensors,
  sgd,
  WebGpuUnavailableError,
} from '../src/index.js';
import { MnistBytes } from './data.js';
import type {
  ErrorInfo,
  FromWorker,
  Mistake,
  PredictionResult,
  Replies,
  RunSettings,
  SweepPoint,
  SweepSettings,
  ToWorker,
} from './protocol.js';
import { TrainSession } from './train-session.js';

const CLASSES = 10;
const MISTAKES_SHOWN = 24;

const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  trainedSteps: number;
};

let mnist: MnistBytes | null = null;
let webGpu = false;
let webGpuProblem: string | null = null;
let session: TrainSession | null = null;
let loaded: { net: Net; backend: Backend; test: Dataset } | null = null;

Object.defineProperty(scope, 'trainedSteps', {
  get: () => session?.steps ?? 0,
});

const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    return {
      name: error.name,
      message: error.message,
      expected: error instanceof DropgpuError || error instanceof NonFiniteLossError,
    };
  }
  return { name: 'Error', message: String(error), expected: false };
}

/** The model predictions, Save and the mistakes grid use: the session's first net, or a loaded one. */
function currentModel(): { net: Net; test: Dataset } | null {
  if (loaded) return loaded;
  const net = session?.nets[0];
  return net && session && !net.disposed ? { net, test: session.test } : null;
}

async function backendFor(kind: BackendKind): Promise<Backend> {
  if (kind === 'webgpu' && webGpu && webGpuProblem === null) {
    try {
      return await createBackend('webgpu');
    } catch (error) {
      if (!(error instanceof WebGpuUnavailableError)) throw error;
      webGpuProblem = error.message;
    }
  }
  if (kind === 'cpu') return createBackend('cpu');
  return createBackend('wasm', { threads: wasmThreads() });
}

/** The Wasm backend's threads: all cores but one, which stays with the page (its drawing and input). */
function wasmThreads(): number {
  return crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency - 1) : 1;
}

function disposeModels(): void {
  session?.dispose();
  session = null;
  if (loaded) {
    loaded.net.dispose();
    loaded.backend.dispose();
    loaded = null;
  }
}

/** Predicts the test digits and sends the first ones the model gets wrong. */
async function sendMistakes(): Promise<void> {
  const model = currentModel();
  if (!model) return;
  const { net, test } = model;
  const probs = await net.predict(test.x);
  const mistakes: Mistake[] = [];
  let wrong = 0;
  for (let r = 0; r < test.n; r++) {
    let guess = 0;
    for (let c = 1; c < CLASSES; c++) {
      if ((probs[r * CLASSES + c] as number) > (probs[r * CLASSES + guess] as number)) guess = c;
    }
    if (guess === test.y[r]) continue;
    wrong++;
    if (mistakes.length < MISTAKES_SHOWN) {
      mistakes.push({
        index: r,
        guess,
        label: test.y[r] as number,
        confidence: probs[r * CLASSES + guess] as number,
        pixels: test.x.slice(r * 784, (r + 1) * 784),
      });
    }
  }
  post({ type: 'mistakes', mistakes, wrong, n: test.n });
}

async function predict(pixels: Float32Array): Promise<PredictionResult | null> {
  const model = currentModel();
  if (!model) return null;
  const { net } = model;
  // MC dropout in one pass: every row is the same digit, and each row gets its own dropout masks.
  const batch = net.info.batchSize;
  const rows = batch * Math.ceil(64 / batch);
  const repeated = new Float32Array(rows * 784);
  for (let r = 0; r < rows; r++) repeated.set(pixels, r * 784);
  const plain = await net.predict(pixels);
  const mc = await net.predict(repeated, { mcSamples: 1 });
  const mean = new Float64Array(CLASSES);
  const square = new Float64Array(CLASSES);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < CLASSES; c++) {
      const p = mc.mean[r * CLASSES + c] as number;
      mean[c] = (mean[c] as number) + p / rows;
      square[c] = (square[c] as number) + (p * p) / rows;
    }
  }
  const std = mean.map((m, c) => Math.sqrt(Math.max(0, (square[c] as number) - m * m)));
  return { mean, std, plain, passes: rows, dropout: net.info.spec.keepProb.some((p) => p < 1) };
}

async function start(settings: RunSettings): Promise<Replies['start']> {
  if (!mnist) throw new Error('MNIST is not loaded yet');
  disposeModels();
  const train = mnist.train(settings.trainSize);
  const test = mnist.test(settings.testSize);
  const backend = await backendFor(settings.backend);
  session = await TrainSession.start(
    backend,
    settings,
    { train, test },
    {
      onProgress: (progress) => post({ type: 'progress', progress }),
      onEpoch: (result) => post({ type: 'epoch', result }),
      onFigures: (figures) =>
        post(
          { type: 'figures', figures },
          figures.members.map((m) => m.features.buffer),
        ),
      onResume: (epochs) =>
        post({ type: 'resumed', epochs, description: session?.backend.description ?? '' }),
      onState: (state, detail) => {
        const send = () =>
          post({
            type: 'state',
            state,
            ...(detail?.error === undefined ? {} : { error: errorInfo(detail.error) }),
            ...(detail?.checksum === undefined ? {} : { checksum: detail.checksum }),
          });
        // The grid is sent before the state, so that nothing runs on the nets after 'paused'.
        if (state === 'paused' || state === 'done' || state === 'stopped') {
          sendMistakes().then(send, (error: unknown) => {
            if (!(error instanceof DropgpuError)) throw error;
            send();
          });
        } else send();
      },
    },
  );
  return { description: backend.description, kind: backend.kind };
}

async function save(): Promise<Replies['save']> {
  const model = currentModel();
  if (!model) return null;
  const bytes = await saveSafetensors(model.net);
  const name = `dropgpu-mnist-${model.net.info.spec.sizes.join('-')}-step${model.net.step}.safetensors`;
  return { bytes, name };
}

async function load(message: Extract<ToWorker, { type: 'load' }>): Promise<Replies['load']> {
  if (!mnist) throw new Error('MNIST is not loaded yet');
  const model = loadSafetensors(message.bytes);
  const { sizes } = model.spec;
  if (sizes[0] !== 784 || sizes[sizes.length - 1] !== 10) {
    throw new Error(`this page takes MNIST models (784 inputs, 10 classes); the file has sizes [${sizes}]`);
  }
  disposeModels();
  const backend = await backendFor(message.backend);
  const net = await backend.compile(model.spec, { batchSize: 128 });
  net.setParams(model.params, { step: model.step });
  loaded = { net, backend, test: mnist.test(message.testSize) };
  await sendMistakes();
  return { spec: model.spec, step: model.step, description: backend.description };
}

/** Fig. 9: for each keep probability (hidden layers; inputs kept), a small net trained a few epochs. */
async function sweep(settings: SweepSettings): Promise<SweepPoint[]> {
  if (!mnist) throw new Error('MNIST is not loaded yet');
  const train = mnist.train(settings.trainSize);
  const test = mnist.test(settings.testSize);
  const backend = await backendFor(settings.backend);
  const points: SweepPoint[] = [];
  try {
    for (const [i, keep] of settings.keeps.entries()) {
      post({ type: 'sweep-progress', done: i, total: settings.keeps.length });
      const spec = mlp({
        sizes: [784, ...settings.hidden, 10],
        keepProb: { input: 1, hidden: keep },
        seed: settings.seed,
      });
      const net = await backend.compile(spec, {
        batchSize: settings.batchSize,
        optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
      });
      try {
        await fit(net, train, { epochs: settings.epochs });
        const [onTrain, onTest] = [await evaluate(net, train), await evaluate(net, test)];
        points.push({ keep, trainError: 1 - onTrain.accuracy, testError: 1 - onTest.accuracy });
      } finally {
        net.dispose();
      }
    }
    post({ type: 'sweep-progress', done: settings.keeps.length, total: settings.keeps.length });
  } finally {
    backend.dispose();
  }
  return points;
}

async function init(message: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  webGpu = message.webGpu;
  let adapter: string | null = null;
  const probing = (async () => {
    if (!webGpu) {
      webGpuProblem = 'navigator.gpu is missing';
      return;
    }
    try {
      const backend = await createBackend('webgpu');
      adapter = backend.description;
      backend.dispose();
    } catch (error) {
      if (!(error instanceof WebGpuUnavailableError)) throw error;
      webGpuProblem = error.message.replace(/^WebGPU is not available here: /, '');
    }
  })();
  try {
    mnist = await MnistBytes.fetch(message.mnistBase, (received, total) =>
      post({ type: 'mnist-progress', received, total }),
    );
    await probing;
    post({ type: 'ready', adapter, webGpuProblem });
  } catch (error) {
    post({ type: 'init-failed', error: errorInfo(error) });
  }
}

/** Runs a request and sends its reply (or its error) under the request's id. */
function answer<K extends keyof Replies>(id: number, work: () => Promise<Replies[K]>): void {
  work().then(
    (value) => {
      const transfer: Transferable[] = [];
      if (value && typeof value === 'object' && 'bytes' in value && value.bytes instanceof Uint8Array) {
        transfer.push(value.bytes.buffer);
      }
      post({ type: 'reply', id, value }, transfer);
    },
    (error: unknown) => post({ type: 'reply', id, error: errorInfo(error) }),
  );
}

scope.onmessage = (event) => {
  const message = event.data;
  switch (message.type) {
    case 'init':
      void init(message);
      break;
    case 'start':
      answer<'start'>(message.id, () => start(message.settings));
      break;
    case 'pause':
      session?.pause();
      break;
    case 'resume':
      session?.resume();
      break;
    case 'stop':
      session?.stop();
      break;
    case 'continue-after-loss':
      answer<'continue-after-loss'>(message.id, async () => {
        await session?.continueAfterLoss();
        return { description: session?.backend.description ?? '' };
      });
      break;
    case 'predict':
      answer<'predict'>(message.id, async () => {
        try {
          return await predict(message.pixels);
        } catch (error) {
          // A net replaced or lost mid-prediction: the next drawing predicts again with the new one.
          if (error instanceof DropgpuError) return null;
          throw error;
        }
      });
      break;
    case 'save':
      answer<'save'>(message.id, save);
      break;
    case 'load':
      answer<'load'>(message.id, () => load(message));
      break;
    case 'sweep':
      answer<'sweep'>(message.id, () => sweep(message.settings));
      break;
    default:
      message satisfies never;
  }
};
