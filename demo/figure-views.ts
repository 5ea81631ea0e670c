/**
 * The page's views of the dropout paper (Srivastava et al. 2014), redrawn after every epoch from the
 * worker's numbers (figures.ts): feature tiles and sparsity histograms on canvas, the inference rule
 * and the keep-probability sweep as uPlot charts. In the comparison each view shows both nets side by
 * side (dropout blue, no dropout orange).
 */
import { LiveChart, type SeriesStyle } from './charts.js';
import type { EpochFigures, MemberFigures } from './figures.js';
import type { SweepPoint } from './protocol.js';

export const MEMBER_COLORS = ['#2563eb', '#ea580c'] as const;
const TILE = 28;
const GAP = 1;

const percent = (v: number) => `${Math.round(v * 1000) / 10}%`;

function colorOf(member: number): string {
  return MEMBER_COLORS[member] ?? MEMBER_COLORS[0];
}

/** One column per net: a heading and a canvas. */
function columns(
  element: HTMLElement,
  labels: readonly string[],
  make: () => HTMLElement[],
): HTMLElement[][] {
  element.replaceChildren();
  return labels.map((label, member) => {
    const column = document.createElement('div');
    column.className = 'paper-column';
    const heading = document.createElement('p');
    heading.className = 'paper-label';
    heading.style.color = colorOf(member);
    heading.textContent = label;
    const parts = make();
    column.append(heading, ...parts);
    element.append(column);
    return parts;
  });
}

/** Fig. 7: each unit's 784 incoming weights as a 28×28 tile, gray 0, white positive, black negative. */
export function drawFeatures(canvas: HTMLCanvasElement, figures: MemberFigures): void {
  const { features, units } = figures;
  const perRow = 10;
  const rows = Math.max(1, Math.ceil(units / perRow));
  canvas.width = perRow * (TILE + GAP) - GAP;
  canvas.height = rows * (TILE + GAP) - GAP;
  const context = canvas.getContext('2d') as CanvasRenderingContext2D;
  // One image for all tiles (white gaps), put once.
  const image = context.createImageData(canvas.width, canvas.height);
  const pixels = image.data;
  pixels.fill(255);
  for (let unit = 0; unit < units; unit++) {
    const offset = unit * 784;
    let scale = 0;
    for (let i = 0; i < 784; i++) scale = Math.max(scale, Math.abs(features[offset + i] as number));
    scale ||= 1;
    const left = (unit % perRow) * (TILE + GAP);
    const top = Math.floor(unit / perRow) * (TILE + GAP);
    for (let y = 0; y < TILE; y++) {
      let at = ((top + y) * canvas.width + left) * 4;
      for (let x = 0; x < TILE; x++, at += 4) {
        const v = 128 + (127 * (features[offset + y * TILE + x] as number)) / scale;
        pixels[at] = v;
        pixels[at + 1] = v;
        pixels[at + 2] = v;
      }
    }
  }
  context.putImageData(image, 0, 0);
  canvas.dataset.units = String(units);
}

/** A histogram as bars: `counts` over [0, max]; the y axis is the fraction of the total. */
export function drawHistogram(
  canvas: HTMLCanvasElement,
  counts: readonly number[],
  max: number,
  color: string,
  title: string,
): void {
  const width = 240;
  const height = 110;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const context = canvas.getContext('2d') as CanvasRenderingContext2D;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const plot = { left: 4, top: 16, right: width - 4, bottom: height - 16 };
  const total = counts.reduce((a, b) => a + b, 0) || 1;
  const peak = Math.max(...counts) / total || 1;
  const barWidth = (plot.right - plot.left) / counts.length;
  context.fillStyle = color;
  counts.forEach((count, i) => {
    const h = ((count / total) * (plot.bottom - plot.top)) / peak;
    context.fillRect(plot.left + i * barWidth + 0.5, plot.bottom - h, Math.max(1, barWidth - 1), h);
  });
  context.fillStyle = '#64748b';
  context.font = '11px system-ui, sans-serif';
  context.fillText(title, plot.left, 11);
  context.fillText('0', plot.left, height - 3);
  const right = max.toPrecision(2);
  context.fillText(right, plot.right - context.measureText(right).width, height - 3);
  context.strokeStyle = '#cbd5e1';
  context.beginPath();
  context.moveTo(plot.left, plot.bottom + 0.5);
  context.lineTo(plot.right, plot.bottom + 0.5);
  context.stroke();
}

/** Where the views go: one container each, and a line saying which epoch they show. */
export interface PaperElements {
  readonly features: HTMLElement;
  readonly sparsity: HTMLElement;
  readonly inference: HTMLElement;
  readonly sweep: HTMLElement;
  readonly epochNote: HTMLElement;
}

/** A macrotask later: lets the page render and handle input in between. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export class PaperViews {
  readonly #elements: PaperElements;
  #labels: readonly string[] = [];
  #featureCanvases: HTMLCanvasElement[] = [];
  #sparsityColumns: HTMLElement[] = [];
  #inference: LiveChart | null = null;
  #sweep: LiveChart | null = null;
  /** The figures waiting to be drawn (only the newest), and whether a drawing is under way. */
  #next: EpochFigures | null = null;
  #drawing = false;

  constructor(elements: PaperElements) {
    this.#elements = elements;
  }

  /** Empties the views for a run of nets with these labels. */
  reset(labels: readonly string[]): void {
    this.#labels = labels;
    this.#featureCanvases = columns(this.#elements.features, labels, () => [
      document.createElement('canvas'),
    ]).map(([canvas]) => canvas as HTMLCanvasElement);
    this.#sparsityColumns = columns(this.#elements.sparsity, labels, () => [
      document.createElement('div'),
    ]).map(([div]) => div as HTMLElement);
    this.#inference?.destroy();
    this.#inference = null;
    this.#elements.inference.replaceChildren();
    this.#next = null;
    this.#elements.epochNote.textContent = 'Drawn after every epoch.';
  }

  /**
   * Draws the figures of an epoch, one view per task (so that no task of the page runs long); figures
   * that arrive while drawing replace those not drawn yet.
   */
  show(figures: EpochFigures): void {
    if (figures.members.length !== this.#labels.length) return;
    this.#next = figures;
    if (!this.#drawing) void this.#drawAll();
  }

  async #drawAll(): Promise<void> {
    this.#drawing = true;
    try {
      while (this.#next) {
        const figures = this.#next;
        this.#next = null;
        const labels = this.#labels;
        for (const [i, member] of figures.members.entries()) {
          await nextTask();
          const canvas = this.#featureCanvases[i];
          if (labels === this.#labels && canvas) drawFeatures(canvas, member);
          await nextTask();
          const column = this.#sparsityColumns[i];
          if (labels === this.#labels && column) this.#drawSparsity(column, member, colorOf(i));
        }
        await nextTask();
        if (labels === this.#labels && !this.#inference) this.#inference = this.#inferenceChart();
        await nextTask();
        if (labels === this.#labels) this.#drawInference(figures);
      }
    } finally {
      this.#drawing = false;
    }
  }

  #inferenceChart(): LiveChart {
    const series: SeriesStyle[] = this.#labels.flatMap((label, member) => [
      { label: `${label}: MC dropout`, color: colorOf(member), points: true },
      { label: `${label}: weight scaling`, color: colorOf(member), dashed: true },
    ]);
    return new LiveChart(this.#elements.inference, 'test error', series, percent, 'k passes');
  }

  #drawInference(figures: EpochFigures): void {
    const first = figures.members[0];
    if (first && this.#inference) {
      const ks = [...first.passes];
      this.#inference.set(
        ks,
        figures.members.flatMap((member) => [[...member.mcError], ks.map(() => member.weightScalingError)]),
      );
    }
    this.#elements.epochNote.textContent =
      `After epoch ${figures.epoch}` +
      (first ? `; errors on ${first.digits} test digits, histograms on a batch of test digits.` : '.');
    for (const element of [this.#elements.features, this.#elements.sparsity, this.#elements.inference]) {
      element.dataset.epoch = String(figures.epoch);
    }
  }

  #drawSparsity(column: HTMLElement, member: MemberFigures, color: string): void {
    // The canvases stay from epoch to epoch (two per hidden layer); only their pixels change.
    const canvases = [...column.querySelectorAll<HTMLCanvasElement>('canvas.histogram')];
    let drawn = 0;
    member.sparsity.forEach((layer, l) => {
      for (const [counts, max, title] of [
        [layer.meanHistogram, layer.meanMax, `layer ${l + 1}: mean activation per unit`],
        [
          layer.activationHistogram,
          layer.activationMax,
          `layer ${l + 1}: activations (mean ${layer.meanActivation.toFixed(2)})`,
        ],
      ] as const) {
        let canvas = canvases[drawn];
        if (!canvas) {
          canvas = document.createElement('canvas');
          canvas.className = 'histogram';
          column.append(canvas);
        }
        drawHistogram(canvas, counts, max, color, title);
        drawn++;
      }
    });
    if (drawn === 0 && !column.querySelector('p')) {
      const none = document.createElement('p');
      none.className = 'hint';
      none.textContent = 'No hidden layer.';
      column.replaceChildren(none);
    }
  }

  /** Fig. 9: train and test error against the keep probability of the hidden units. */
  showSweep(points: readonly SweepPoint[]): void {
    this.#sweep?.destroy();
    this.#sweep = new LiveChart(
      this.#elements.sweep,
      'error',
      [
        { label: 'train error', color: '#93c5fd', points: true },
        { label: 'test error', color: MEMBER_COLORS[0], points: true },
      ],
      percent,
      'keep probability p (hidden)',
    );
    this.#sweep.set(
      points.map((p) => p.keep),
      [points.map((p) => p.trainError), points.map((p) => p.testError)],
    );
  }
}
