/**
 * The demo page: wires the control panel, a training session, the charts, the drawing pad, the
 * mistakes grid and save/load together. The pieces live in their own modules; this one holds the
 * page's state (the data, the session or loaded model) and turns events into updates.
 */
import {
  type Backend,
  type BackendKind,
  createBackend,
  type Dataset,
  DropgpuError,
  loadSafetensors,
  type Net,
  NonFiniteLossError,
  saveSafetensors,
  WebGpuUnavailableError,
} from '../src/index.js';
import { LiveChart, type SeriesStyle } from './charts.js';
import {
  COMPARE_PRESET,
  FieldError,
  type RunConfig,
  readConfig,
  SINGLE_PRESET,
  writeSpec,
} from './config.js';
import { MnistBytes } from './data.js';
import { DrawPad, paintDigit } from './draw.js';
import type { EpochResult, SessionProgress, SessionState } from './train-session.js';
import { TrainSession } from './train-session.js';
import { ProbabilityBars, ProgressView, setStat, showMistakes } from './views.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const form = byId<HTMLFormElement>('config');
const buttons = {
  start: byId<HTMLButtonElement>('start'),
  pause: byId<HTMLButtonElement>('pause'),
  stop: byId<HTMLButtonElement>('stop'),
  save: byId<HTMLButtonElement>('save'),
  resume: byId<HTMLButtonElement>('notice-resume'),
};
const formError = byId('form-error');
const adapterLine = byId('adapter');
const progress = new ProgressView(byId<HTMLProgressElement>('progress'), byId('progress-text'));
const stats = byId<HTMLTableElement>('stats');
const bars = new ProbabilityBars(byId('probs'), byId('probs-caption'));
const filesStatus = byId('files-status');

const BLUE = '#2563eb';
const ORANGE = '#ea580c';

/** The model the drawing pad, the mistakes grid and Save use: the session's first net, or a loaded one. */
interface Model {
  readonly net: Net;
  readonly use: <T>(work: () => Promise<T>) => Promise<T>;
  readonly test: Dataset;
}

let mnist: MnistBytes | null = null;
let webGpuProblem: string | null = null;
let session: TrainSession | null = null;
let sessionTest: Dataset | null = null;
let loaded: { net: Net; backend: Backend; test: Dataset } | null = null;
let charts: { loss: LiveChart; accuracy: LiveChart } | null = null;
let config: RunConfig | null = null;

function currentModel(): Model | null {
  if (loaded) return { net: loaded.net, use: (work) => work(), test: loaded.test };
  const net = session?.nets[0];
  if (!session || !net || !sessionTest) return null;
  return { net, use: (work) => (session as TrainSession).use(work), test: sessionTest };
}

function showNotice(text: string, kind: 'info' | 'error', resumable = false): void {
  const notice = byId('notice');
  notice.hidden = false;
  notice.className = `notice ${kind}`;
  byId('notice-text').textContent = text;
  buttons.resume.hidden = !resumable;
}

function hideNotice(): void {
  byId('notice').hidden = true;
}

function describeError(error: unknown): string {
  if (error instanceof NonFiniteLossError) return `Training diverged. ${error.message}`;
  if (error instanceof DropgpuError) return `${error.name}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// ---- Buttons and form -------------------------------------------------------------------------------

function updateButtons(): void {
  const state = session?.state;
  const running = state === 'training' || state === 'paused';
  buttons.start.disabled = mnist === null || running;
  buttons.pause.disabled = !running;
  buttons.pause.textContent = state === 'paused' ? 'Resume' : 'Pause';
  buttons.stop.disabled = !running;
  buttons.save.disabled = currentModel() === null;
}

form.addEventListener('change', (event) => {
  const target = event.target as HTMLInputElement;
  if (target.name === 'mode') {
    const preset = target.value === 'compare' ? COMPARE_PRESET : SINGLE_PRESET;
    (form.elements.namedItem('trainSize') as HTMLInputElement).value = String(preset.trainSize);
    (form.elements.namedItem('epochs') as HTMLInputElement).value = String(preset.epochs);
    byId('mode-hint').textContent =
      target.value === 'compare'
        ? 'Two nets, same seed, same initial weights, same data order, on a small subset: one with the ' +
          'keep probabilities below, one without dropout.'
        : 'Train one net on a subset of MNIST.';
  }
  if (target.name === 'optimizer') {
    const momentum = form.querySelector<HTMLElement>('[data-optimizer="sgd"]');
    if (momentum) momentum.hidden = target.value !== 'sgd';
    (form.elements.namedItem('lr') as HTMLInputElement).value = target.value === 'adam' ? '0.001' : '0.05';
  }
});

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void start();
});
buttons.pause.addEventListener('click', () => {
  if (session?.state === 'paused') void session.resume();
  else session?.pause();
});
buttons.stop.addEventListener('click', () => session?.stop());
buttons.resume.addEventListener('click', () => {
  buttons.resume.disabled = true;
  session?.resume().then(
    () => hideNotice(),
    (error: unknown) => {
      showNotice(`Could not resume: ${describeError(error)}`, 'error', true);
      buttons.resume.disabled = false;
    },
  );
});

// ---- Training -------------------------------------------------------------------------------------

async function backendFor(kind: BackendKind): Promise<Backend> {
  if (kind === 'webgpu' && webGpuProblem === null) {
    try {
      return await createBackend('webgpu');
    } catch (error) {
      if (!(error instanceof WebGpuUnavailableError)) throw error;
      webGpuProblem = error.message;
      noWebGpu();
    }
  }
  if (kind === 'cpu') return createBackend('cpu');
  return createBackend('wasm');
}

async function start(): Promise<void> {
  formError.textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  let next: RunConfig;
  try {
    next = readConfig(form);
  } catch (error) {
    formError.textContent = describeError(error);
    const field = error instanceof FieldError ? form.elements.namedItem(error.field) : null;
    if (field instanceof HTMLElement) field.setAttribute('aria-invalid', 'true');
    return;
  }
  if (!mnist) return;
  buttons.start.disabled = true;
  disposeModels();
  if (!(webGpuProblem && next.backend === 'webgpu')) hideNotice();
  try {
    const train = mnist.train(next.trainSize);
    const test = mnist.test(next.testSize);
    const backend = await backendFor(next.backend);
    config = next;
    setUpCharts(next);
    setUpStats(next);
    progress.reset(
      `Compiling ${next.members.length === 2 ? 'two nets' : 'the net'} on ${backend.description}…`,
    );
    adapterLine.textContent = `Training on ${backend.description}`;
    sessionTest = test;
    session = await TrainSession.start(
      backend,
      {
        members: next.members,
        batchSize: next.batchSize,
        optimizer: next.optimizer,
        maxNorm: next.maxNorm,
        epochs: next.epochs,
        seed: next.seed,
        train,
        test,
        evaluateTrain: next.compare,
      },
      { onProgress, onEpoch, onState, onResume },
    );
    onState('training');
  } catch (error) {
    formError.textContent = describeError(error);
    progress.reset('Not started.');
  }
  updateButtons();
}

function disposeModels(): void {
  if (session) {
    const backend = session.backend;
    session.dispose();
    backend.dispose();
    session = null;
  }
  if (loaded) {
    loaded.net.dispose();
    loaded.backend.dispose();
    loaded = null;
  }
}

function setUpCharts(run: RunConfig): void {
  charts?.loss.destroy();
  charts?.accuracy.destroy();
  let series: SeriesStyle[];
  if (run.compare) {
    series = [
      { label: 'dropout: train', color: BLUE, dashed: true },
      { label: 'dropout: test', color: BLUE, points: true },
      { label: 'no dropout: train', color: ORANGE, dashed: true },
      { label: 'no dropout: test', color: ORANGE, points: true },
    ];
    byId('chart-note').textContent =
      'Both nets are evaluated without dropout after every epoch, on the training subset (dashed) and ' +
      'on the test examples (solid). The gap between a net’s two curves is its overfitting.';
  } else {
    series = [
      { label: 'train (with dropout)', color: '#93c5fd' },
      { label: 'test', color: BLUE, points: true },
    ];
    byId('chart-note').textContent =
      'Train: the running mean over the steps since the last report, with dropout on. Test: after every ' +
      'epoch, without dropout.';
  }
  const percent = (v: number) => `${Math.round(v * 1000) / 10}%`;
  charts = {
    loss: new LiveChart(byId('chart-loss'), 'loss', series, (v) => v.toFixed(2)),
    accuracy: new LiveChart(byId('chart-accuracy'), 'accuracy', series, percent),
  };
}

function setUpStats(run: RunConfig): void {
  // In one-net mode the train figures are the running means with dropout; in the comparison, evaluations.
  const head = '<tr><th></th><th>train loss</th><th>train acc.</th><th>test loss</th><th>test acc.</th></tr>';
  const rows = run.members
    .map(
      (m, i) =>
        `<tr><th>${m.label}</th>${['train-loss', 'train-accuracy', 'test-loss', 'test-accuracy']
          .map((k) => `<td data-member="${i}" data-stat="${k}">–</td>`)
          .join('')}</tr>`,
    )
    .join('');
  stats.innerHTML = `<thead>${head}</thead><tbody>${rows}</tbody>`;
}

function stat(member: number, key: string): HTMLElement | null {
  return stats.querySelector<HTMLElement>(`[data-member="${member}"][data-stat="${key}"]`);
}

function onProgress(p: SessionProgress): void {
  if (!config) return;
  progress.show(p.fraction, p.epoch, config.epochs, p.samplesPerSecond, p.etaSeconds);
  if (config.compare) return; // The comparison plots evaluations without dropout (onEpoch).
  const loss = stat(p.member, 'train-loss');
  const accuracy = stat(p.member, 'train-accuracy');
  if (loss) setStat(loss, p.loss, 'loss');
  if (accuracy) setStat(accuracy, p.accuracy, 'accuracy');
  charts?.loss.add(p.epoch, [p.loss, null]);
  charts?.accuracy.add(p.epoch, [p.accuracy, null]);
}

function onEpoch(result: EpochResult): void {
  if (!config) return;
  const { member, epoch, train, test } = result;
  for (const [key, value, kind] of [
    ['test-loss', test.loss, 'loss'],
    ['test-accuracy', test.accuracy, 'accuracy'],
    ['train-loss', train?.loss, 'loss'],
    ['train-accuracy', train?.accuracy, 'accuracy'],
  ] as const) {
    const element = stat(member, key);
    if (element && value !== undefined) setStat(element, value, kind);
  }
  if (config.compare) {
    const values = (pick: (r: { loss: number; accuracy: number }) => number) => {
      const row: (number | null)[] = [null, null, null, null];
      row[member * 2] = train ? pick(train) : null;
      row[member * 2 + 1] = pick(test);
      return row;
    };
    charts?.loss.add(
      epoch,
      values((r) => r.loss),
    );
    charts?.accuracy.add(
      epoch,
      values((r) => r.accuracy),
    );
  } else {
    charts?.loss.add(epoch, [null, test.loss]);
    charts?.accuracy.add(epoch, [null, test.accuracy]);
  }
  if (member === 0) void predictDrawing();
}

function onResume(epochs: number): void {
  charts?.loss.truncate(epochs);
  charts?.accuracy.truncate(epochs);
}

function onState(state: SessionState, error?: unknown): void {
  updateButtons();
  const kind = session?.backend.kind;
  switch (state) {
    case 'training':
      progress.setPaused(false);
      break;
    case 'paused':
      progress.setPaused(true);
      void refreshModelViews();
      break;
    case 'done':
      progress.finish(`Done: ${config?.epochs ?? 0} epochs.`);
      void refreshModelViews();
      break;
    case 'stopped':
      progress.finish('Stopped. The net keeps what it learned: try it, save it, or start again.');
      void refreshModelViews();
      break;
    case 'lost':
      progress.finish('The GPU device was lost.');
      showNotice(
        `${describeError(error)}. The parameters read back after the last finished epoch are kept: ` +
          'Resume opens a new device, restores them and continues from there.',
        'error',
        true,
      );
      buttons.resume.disabled = false;
      break;
    case 'failed':
      progress.finish('Training failed.');
      showNotice(describeError(error), 'error');
      if (!(error instanceof DropgpuError)) console.error(error);
      break;
    default:
      state satisfies never;
  }
  if (state === 'training' && kind) adapterLine.textContent = `Training on ${session?.backend.description}`;
}

// ---- Try it, mistakes, save and load ----------------------------------------------------------------

let drawing: Float32Array | null = null;
let predicting: Promise<void> | null = null;
let predictAgain = false;

const pad = new DrawPad(byId<HTMLCanvasElement>('pad'), (pixels) => {
  drawing = pixels;
  const preview = byId<HTMLCanvasElement>('preview');
  paintDigit(preview, pixels ?? new Float32Array(784));
  void predictDrawing();
});
byId('clear').addEventListener('click', () => pad.clear());

/** Predicts the drawing; calls made while one runs collapse into one more run after it. */
async function predictDrawing(): Promise<void> {
  if (predicting) {
    predictAgain = true;
    return predicting;
  }
  predicting = (async () => {
    do {
      predictAgain = false;
      await predictOnce();
    } while (predictAgain);
  })().finally(() => {
    predicting = null;
  });
  return predicting;
}

async function predictOnce(): Promise<void> {
  const pixels = drawing;
  const model = currentModel();
  if (!pixels) return bars.clear('Draw a digit.');
  if (!model) return bars.clear('Train or load a model first; then it reads your digit.');
  const { net } = model;
  // MC dropout in one pass: every row is the same digit, and each row gets its own dropout masks.
  const batch = net.info.batchSize;
  const rows = batch * Math.ceil(64 / batch);
  const repeated = new Float32Array(rows * 784);
  for (let r = 0; r < rows; r++) repeated.set(pixels, r * 784);
  try {
    const [plain, mc] = await model.use(async () => [
      await net.predict(pixels),
      await net.predict(repeated, { mcSamples: 1 }),
    ]);
    const mean = new Float64Array(10);
    const square = new Float64Array(10);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < 10; c++) {
        const p = mc.mean[r * 10 + c] as number;
        mean[c] = (mean[c] as number) + p / rows;
        square[c] = (square[c] as number) + (p * p) / rows;
      }
    }
    const std = mean.map((m, c) => Math.sqrt(Math.max(0, (square[c] as number) - m * m)));
    bars.show(
      mean,
      std,
      plain,
      rows,
      net.info.spec.keepProb.some((p) => p < 1),
    );
  } catch (error) {
    // A net replaced or lost mid-prediction: the next event predicts again with the new one.
    if (!(error instanceof DropgpuError)) throw error;
  }
}

async function refreshModelViews(): Promise<void> {
  updateButtons();
  const model = currentModel();
  if (!model) return;
  try {
    await model.use(() => showMistakes(byId('mistakes'), byId('mistakes-caption'), model.net, model.test));
  } catch (error) {
    if (!(error instanceof DropgpuError)) throw error;
  }
  await predictDrawing();
}

buttons.save.addEventListener('click', async () => {
  const model = currentModel();
  if (!model) return;
  try {
    const bytes = await model.use(() => saveSafetensors(model.net));
    const name = `dropgpu-mnist-${model.net.info.spec.sizes.join('-')}-step${model.net.step}.safetensors`;
    const url = URL.createObjectURL(
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
    );
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    filesStatus.textContent = `Saved ${name} (${(bytes.length / 1e6).toFixed(2)} MB).`;
  } catch (error) {
    filesStatus.textContent = `Could not save: ${describeError(error)}`;
  }
});

byId<HTMLInputElement>('load').addEventListener('change', async (event) => {
  const input = event.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = '';
  if (!file || !mnist) return;
  try {
    const model = loadSafetensors(await file.arrayBuffer());
    const { sizes } = model.spec;
    if (sizes[0] !== 784 || sizes[sizes.length - 1] !== 10) {
      throw new Error(`this page takes MNIST models (784 inputs, 10 classes); the file has sizes [${sizes}]`);
    }
    if (session?.state === 'training' || session?.state === 'paused') session.stop();
    const run = readConfig(form);
    disposeModels();
    const backend = await backendFor(run.backend);
    const net = await backend.compile(model.spec, { batchSize: 128 });
    net.setParams(model.params, { step: model.step });
    loaded = { net, backend, test: mnist.test(run.testSize) };
    writeSpec(form, model.spec);
    filesStatus.textContent = `Loaded ${file.name}: sizes [${sizes.join(', ')}], ${model.step} training steps.`;
    adapterLine.textContent = `Model on ${backend.description}`;
    await refreshModelViews();
  } catch (error) {
    filesStatus.textContent = `Could not load ${file.name}: ${describeError(error)}`;
  }
  updateButtons();
});

// ---- Start-up ---------------------------------------------------------------------------------------

function noWebGpu(): void {
  const select = form.elements.namedItem('backend') as HTMLSelectElement;
  select.value = 'wasm';
  const option = select.querySelector<HTMLOptionElement>('option[value="webgpu"]');
  if (option) {
    option.disabled = true;
    option.textContent = 'WebGPU (not available here)';
  }
  adapterLine.textContent = `No WebGPU: training on the Wasm backend (${threadsNote()})`;
  showNotice(
    `WebGPU is not available in this browser (${webGpuProblem}). The page trains on the Wasm backend ` +
      'instead: the same computation in WebAssembly SIMD on the CPU. For the GPU, use a browser with ' +
      'WebGPU enabled, such as a recent Chrome or Edge.',
    'info',
  );
}

function threadsNote(): string {
  return crossOriginIsolated
    ? `${navigator.hardwareConcurrency} threads`
    : 'one thread: the page is not cross-origin isolated';
}

async function probeWebGpu(): Promise<void> {
  try {
    const backend = await createBackend('webgpu');
    const software = /swiftshader|llvmpipe|lavapipe|fallback|software/i.test(backend.description);
    backend.dispose();
    if (software) {
      // No GPU: the adapter emulates one on the CPU, where the Wasm backend is several times faster.
      (form.elements.namedItem('backend') as HTMLSelectElement).value = 'wasm';
      adapterLine.textContent = `Adapter: ${backend.description} (software: training on Wasm, ${threadsNote()})`;
    } else {
      adapterLine.textContent = `Adapter: ${backend.description}`;
    }
  } catch (error) {
    if (!(error instanceof WebGpuUnavailableError)) throw error;
    webGpuProblem = error.message.replace(/^WebGPU is not available here: /, '');
    noWebGpu();
  }
}

async function boot(): Promise<void> {
  progress.reset('Loading MNIST…');
  const probing = probeWebGpu();
  try {
    mnist = await MnistBytes.fetch(`${import.meta.env.BASE_URL}mnist/`, (received, total) => {
      const mb = (n: number) => (n / 1e6).toFixed(1);
      progress.reset(`Loading MNIST… ${mb(received)} of ${total > 0 ? mb(total) : '?'} MB`);
    });
    progress.reset('MNIST loaded (60,000 training and 10,000 test digits). Press Start.');
  } catch (error) {
    progress.reset('MNIST could not be loaded.');
    showNotice(describeError(error), 'error');
  }
  await probing;
  updateButtons();
}

void boot();
