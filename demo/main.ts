/**
 * The demo page: wires the control panel, the charts, the paper's figures, the drawing pad, the
 * mistakes grid and save/load to the training worker (trainer.worker.ts), which holds MNIST, the nets
 * and `fit`. This thread only sends commands (protocol.ts) and draws what comes back, so it never
 * blocks, whatever the backend.
 */
import { LiveChart, type SeriesStyle } from './charts.js';
import {
  COMPARE_PRESET,
  FieldError,
  type RunConfig,
  readConfig,
  SINGLE_PRESET,
  writeSpec,
} from './config.js';
import { TEST_SIZE, TRAIN_SIZE } from './data.js';
import { DrawPad, paintDigit } from './draw.js';
import { MEMBER_COLORS, PaperViews } from './figure-views.js';
import type { EpochResult, SessionProgress, SessionState, WorkerEvent } from './protocol.js';
import { TrainerClient, WorkerError } from './trainer-client.js';
import { ProbabilityBars, ProgressView, setStat, showMistakes } from './views.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const form = byId<HTMLFormElement>('config');
const buttons = {
  start: byId<HTMLButtonElement>('start'),
  pause: byId<HTMLButtonElement>('pause'),
  stop: byId<HTMLButtonElement>('stop'),
  save: byId<HTMLButtonElement>('save'),
  resume: byId<HTMLButtonElement>('notice-resume'),
  sweep: byId<HTMLButtonElement>('sweep-start'),
};
const formError = byId('form-error');
const adapterLine = byId('adapter');
const progressBar = byId<HTMLProgressElement>('progress');
const progress = new ProgressView(progressBar, byId('progress-text'));
const stats = byId<HTMLTableElement>('stats');
const bars = new ProbabilityBars(byId('probs'), byId('probs-caption'));
const filesStatus = byId('files-status');
const paper = new PaperViews({
  features: byId('paper-features'),
  sparsity: byId('paper-sparsity'),
  inference: byId('paper-inference'),
  sweep: byId('paper-sweep'),
  epochNote: byId('paper-note'),
});

const [BLUE, ORANGE] = MEMBER_COLORS;

let mnistReady = false;
let webGpuProblem: string | null = null;
let sessionState: SessionState | null = null;
/** Whether the worker has a model to predict with and save (trained, training or loaded). */
let hasModel = false;
let pausing = false;
let sweeping = false;
let charts: { loss: LiveChart; accuracy: LiveChart } | null = null;
let config: RunConfig | null = null;

const worker = new TrainerClient(onWorkerMessage);

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
  if (error instanceof WorkerError && error.name === 'NonFiniteLossError') {
    return `Training diverged. ${error.message}`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// ---- Buttons and form -------------------------------------------------------------------------------

function updateButtons(): void {
  const running = sessionState === 'training' || sessionState === 'paused';
  buttons.start.disabled = !mnistReady || running;
  buttons.pause.disabled = !running || pausing;
  buttons.pause.textContent = sessionState === 'paused' ? 'Resume' : pausing ? 'Pausing…' : 'Pause';
  buttons.stop.disabled = !running;
  buttons.save.disabled = !hasModel;
  buttons.sweep.disabled = !mnistReady || sweeping;
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
  if (sessionState === 'paused') worker.send({ type: 'resume' });
  else if (sessionState === 'training') {
    // The label changes once the worker says the pause took effect (the run of steps in flight done).
    pausing = true;
    worker.send({ type: 'pause' });
  }
  updateButtons();
});
buttons.stop.addEventListener('click', () => worker.send({ type: 'stop' }));
buttons.resume.addEventListener('click', () => {
  buttons.resume.disabled = true;
  worker.request('continue-after-loss', {}).then(
    ({ description }) => {
      hideNotice();
      adapterLine.textContent = `Training on ${description}`;
    },
    (error: unknown) => {
      showNotice(`Could not resume: ${describeError(error)}`, 'error', true);
      buttons.resume.disabled = false;
    },
  );
});

// ---- Training -------------------------------------------------------------------------------------

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
  if (!mnistReady) return;
  buttons.start.disabled = true;
  if (!(webGpuProblem && next.backend === 'webgpu')) hideNotice();
  config = next;
  // Each piece in a task of its own, so that no task of the page runs long.
  setUpStats(next);
  await setUpCharts(next);
  await nextTask();
  paper.reset(next.members.map((m) => m.label));
  delete progressBar.dataset.checksum;
  progress.reset(`Compiling ${next.members.length === 2 ? 'two nets' : 'the net'}…`);
  sessionState = null;
  hasModel = false;
  try {
    const { description } = await worker.request('start', {
      settings: {
        backend: next.backend,
        members: next.members,
        batchSize: next.batchSize,
        optimizer: next.optimizer,
        maxNorm: next.maxNorm,
        epochs: next.epochs,
        seed: next.seed,
        trainSize: next.trainSize,
        testSize: next.testSize,
        evaluateTrain: next.compare,
      },
    });
    adapterLine.textContent = `Training on ${description}`;
    hasModel = true;
    if (sessionState === null) onState('training');
  } catch (error) {
    formError.textContent = describeError(error);
    progress.reset('Not started.');
  }
  updateButtons();
}

/** A macrotask later: lets the page render and handle input in between. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function setUpCharts(run: RunConfig): Promise<void> {
  charts?.loss.destroy();
  charts?.accuracy.destroy();
  charts = null;
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
  await nextTask();
  const loss = new LiveChart(byId('chart-loss'), 'loss', series, (v) => v.toFixed(2));
  await nextTask();
  charts = { loss, accuracy: new LiveChart(byId('chart-accuracy'), 'accuracy', series, percent) };
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

function onState(state: SessionState, error?: unknown, checksum?: string): void {
  sessionState = state;
  if (state !== 'training') pausing = false;
  updateButtons();
  switch (state) {
    case 'training':
      progress.setPaused(false);
      break;
    case 'paused':
      progress.setPaused(true);
      void predictDrawing();
      break;
    case 'done':
      if (checksum) progressBar.dataset.checksum = checksum;
      progress.finish(`Done: ${config?.epochs ?? 0} epochs.`);
      void predictDrawing();
      break;
    case 'stopped':
      progress.finish('Stopped. The net keeps what it learned: try it, save it, or start again.');
      void predictDrawing();
      break;
    case 'lost':
      hasModel = false;
      progress.finish('The GPU device was lost.');
      showNotice(
        `${describeError(error)}. The training state of the last checkpoint (parameters, momentum, step) ` +
          'is kept: Resume opens a new device and continues from there, as if nothing had happened.',
        'error',
        true,
      );
      buttons.resume.disabled = false;
      break;
    case 'failed':
      progress.finish('Training failed.');
      showNotice(describeError(error), 'error');
      if (!(error instanceof WorkerError && error.expected)) console.error(error);
      break;
    default:
      state satisfies never;
  }
  if (state === 'training') hasModel = true;
  updateButtons();
}

function onWorkerMessage(message: WorkerEvent): void {
  switch (message.type) {
    case 'mnist-progress': {
      const mb = (n: number) => (n / 1e6).toFixed(1);
      const { received, total } = message;
      progress.reset(`Loading MNIST… ${mb(received)} of ${total > 0 ? mb(total) : '?'} MB`);
      break;
    }
    case 'ready':
      onReady(message.adapter, message.webGpuProblem);
      break;
    case 'init-failed':
      progress.reset('MNIST could not be loaded.');
      showNotice(describeError(new WorkerError(message.error)), 'error');
      break;
    case 'progress':
      onProgress(message.progress);
      break;
    case 'epoch':
      onEpoch(message.result);
      break;
    case 'figures':
      paper.show(message.figures);
      break;
    case 'state':
      onState(message.state, message.error ? new WorkerError(message.error) : undefined, message.checksum);
      break;
    case 'resumed':
      onResume(message.epochs);
      hasModel = true;
      break;
    case 'mistakes':
      showMistakes(byId('mistakes'), byId('mistakes-caption'), message.mistakes, message.wrong, message.n);
      break;
    case 'sweep-progress':
      byId('sweep-status').textContent =
        message.done < message.total
          ? `Training net ${message.done + 1} of ${message.total}…`
          : `Done: ${message.total} nets.`;
      break;
    default:
      message satisfies never;
  }
}

// ---- Try it, save and load --------------------------------------------------------------------------

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
  if (!pixels) return bars.clear('Draw a digit.');
  if (!hasModel) return bars.clear('Train or load a model first; then it reads your digit.');
  const result = await worker.request('predict', { pixels });
  if (!result) return; // The model was replaced or lost meanwhile: the next event predicts again.
  bars.show(result.mean, result.std, result.plain, result.passes, result.dropout);
}

buttons.save.addEventListener('click', async () => {
  try {
    const saved = await worker.request('save', {});
    if (!saved) return;
    const { bytes, name } = saved;
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
  if (!file || !mnistReady) return;
  try {
    const run = readConfig(form);
    const bytes = await file.arrayBuffer();
    const loaded = await worker.request('load', { bytes, backend: run.backend, testSize: run.testSize }, [
      bytes,
    ]);
    // Loading replaced the session (if any): it is stopped and gone.
    if (sessionState === 'training' || sessionState === 'paused') progress.finish('Stopped.');
    sessionState = null;
    hasModel = true;
    writeSpec(form, loaded.spec);
    const { sizes } = loaded.spec;
    filesStatus.textContent = `Loaded ${file.name}: sizes [${sizes.join(', ')}], ${loaded.step} training steps.`;
    adapterLine.textContent = `Model on ${loaded.description}`;
    await predictDrawing();
  } catch (error) {
    filesStatus.textContent = `Could not load ${file.name}: ${describeError(error)}`;
  }
  updateButtons();
});

// ---- The keep-probability sweep (paper Fig. 9) ------------------------------------------------------

buttons.sweep.addEventListener('click', async () => {
  const field = (name: string) => Number(byId<HTMLInputElement>(name).value);
  const hidden = byId<HTMLInputElement>('sweep-hidden')
    .value.split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  const epochs = field('sweep-epochs');
  const trainSize = field('sweep-train');
  const ok = (v: number, max: number) => Number.isInteger(v) && v >= 1 && v <= max;
  if (!hidden.every((h) => ok(h, 4096)) || !ok(epochs, 100) || !ok(trainSize, TRAIN_SIZE)) {
    byId('sweep-status').textContent =
      'Sweep: hidden sizes, epochs (1–100) and the training subset must be positive integers.';
    return;
  }
  sweeping = true;
  updateButtons();
  const run = readConfig(form);
  try {
    const points = await worker.request('sweep', {
      settings: {
        backend: run.backend,
        hidden,
        keeps: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
        epochs,
        trainSize,
        testSize: Math.min(run.testSize, TEST_SIZE),
        batchSize: Math.min(50, trainSize),
        seed: run.seed,
      },
    });
    paper.showSweep(points);
  } catch (error) {
    byId('sweep-status').textContent = `Sweep failed: ${describeError(error)}`;
  }
  sweeping = false;
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
    ? `${Math.max(1, navigator.hardwareConcurrency - 1)} of ${navigator.hardwareConcurrency} cores`
    : 'one thread: the page is not cross-origin isolated';
}

/** MNIST is loaded and WebGPU probed (in the worker). */
function onReady(adapter: string | null, problem: string | null): void {
  mnistReady = true;
  progress.reset('MNIST loaded (60,000 training and 10,000 test digits). Press Start.');
  if (adapter === null) {
    webGpuProblem = problem ?? 'no adapter';
    noWebGpu();
  } else if (/swiftshader|llvmpipe|lavapipe|fallback|software/i.test(adapter)) {
    // No GPU: the adapter emulates one on the CPU, where the Wasm backend is several times faster.
    (form.elements.namedItem('backend') as HTMLSelectElement).value = 'wasm';
    adapterLine.textContent = `Adapter: ${adapter} (software: training on Wasm, ${threadsNote()})`;
  } else {
    adapterLine.textContent = `Adapter: ${adapter}`;
  }
  updateButtons();
}

progress.reset('Loading MNIST…');
worker.send({
  type: 'init',
  mnistBase: new URL(`${import.meta.env.BASE_URL}mnist/`, document.baseURI).href,
  webGpu: 'gpu' in navigator && navigator.gpu !== undefined,
});
updateButtons();
