/**
 * The page's read-outs: the progress line, the class-probability bars of the drawing pad, and the grid
 * of test digits the model gets wrong. Plain DOM, no state beyond what is on screen.
 */
import { paintDigit } from './draw.js';
import type { Mistake } from './protocol.js';

const CLASSES = 10;

const percent = (v: number) => `${(v * 100).toFixed(1)}%`;

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m}:${String(s % 60).padStart(2, '0')}`;
}

export class ProgressView {
  #last = '';
  #paused = false;

  constructor(
    private readonly bar: HTMLProgressElement,
    private readonly line: HTMLElement,
  ) {}

  reset(text: string): void {
    this.bar.value = 0;
    this.#paused = false;
    this.line.textContent = text;
  }

  show(fraction: number, epoch: number, epochs: number, samplesPerSecond: number, etaSeconds: number): void {
    this.bar.value = fraction;
    this.#last =
      `${percent(fraction)} · epoch ${epoch.toFixed(1)} of ${epochs} · ` +
      `${Math.round(samplesPerSecond).toLocaleString('en-US')} samples/s`;
    this.#render(etaSeconds);
  }

  /** While paused the line says so, even when a report from a step already under way comes in. */
  setPaused(paused: boolean): void {
    this.#paused = paused;
    this.#render(Number.NaN);
  }

  finish(text: string): void {
    this.#paused = false;
    this.line.textContent = text;
  }

  #render(etaSeconds: number): void {
    this.line.textContent = this.#paused
      ? `${this.#last} · paused`
      : `${this.#last} · ETA ${Number.isNaN(etaSeconds) ? '…' : formatSeconds(etaSeconds)}`;
  }
}

/** A figure of the stats table: shown formatted, kept raw in data-value (read by the end-to-end test). */
export function setStat(element: HTMLElement, value: number, kind: 'loss' | 'accuracy'): void {
  element.dataset.value = String(value);
  element.textContent = Number.isFinite(value) ? (kind === 'loss' ? value.toFixed(3) : percent(value)) : '–';
}

/** Ten bars of mean probability, each with a ±1 standard deviation whisker over the MC-dropout passes. */
export class ProbabilityBars {
  readonly #rows: { bar: HTMLElement; whisker: HTMLElement; value: HTMLElement }[] = [];

  constructor(
    private readonly element: HTMLElement,
    private readonly caption: HTMLElement,
  ) {
    for (let c = 0; c < CLASSES; c++) {
      const row = document.createElement('div');
      row.className = 'prob-row';
      const label = document.createElement('span');
      label.className = 'prob-class';
      label.textContent = String(c);
      const track = document.createElement('span');
      track.className = 'prob-track';
      const bar = document.createElement('span');
      bar.className = 'prob-bar';
      const whisker = document.createElement('span');
      whisker.className = 'prob-whisker';
      track.append(bar, whisker);
      const value = document.createElement('span');
      value.className = 'prob-value';
      row.append(label, track, value);
      element.append(row);
      this.#rows.push({ bar, whisker, value });
    }
    this.clear('Draw a digit.');
  }

  clear(caption: string): void {
    for (const { bar, whisker, value } of this.#rows) {
      bar.style.width = '0%';
      whisker.hidden = true;
      value.textContent = '';
    }
    this.element.removeAttribute('data-predicted');
    this.caption.textContent = caption;
  }

  /**
   * `mean`, `std`: per class over the MC-dropout passes; `plain`: the prediction without dropout.
   */
  show(
    mean: Float64Array,
    std: Float64Array,
    plain: ArrayLike<number>,
    passes: number,
    dropout: boolean,
  ): void {
    let best = 0;
    let plainBest = 0;
    for (let c = 1; c < CLASSES; c++) {
      if ((mean[c] as number) > (mean[best] as number)) best = c;
      if ((plain[c] as number) > (plain[plainBest] as number)) plainBest = c;
    }
    this.#rows.forEach(({ bar, whisker, value }, c) => {
      const m = mean[c] as number;
      const s = std[c] as number;
      bar.style.width = `${m * 100}%`;
      bar.classList.toggle('best', c === best);
      whisker.hidden = !dropout || s < 0.005;
      whisker.style.left = `${Math.max(0, m - s) * 100}%`;
      whisker.style.width = `${(Math.min(1, m + s) - Math.max(0, m - s)) * 100}%`;
      value.textContent = dropout && s >= 0.005 ? `${percent(m)} ±${(s * 100).toFixed(1)}` : percent(m);
    });
    this.element.dataset.predicted = String(best);
    this.caption.textContent = dropout
      ? `It says ${best} (${percent(mean[best] as number)}): the mean of ${passes} passes with dropout on ` +
        `(MC dropout); whiskers ±1 standard deviation. Without dropout: ${plainBest} ` +
        `(${percent(plain[plainBest] as number)}).`
      : `It says ${best} (${percent(mean[best] as number)}). This net has no dropout, so MC dropout has no ` +
        'uncertainty to show.';
  }
}

/** Shows the first test digits the model gets wrong (found in the worker), with its guess and the truth. */
export function showMistakes(
  element: HTMLElement,
  caption: HTMLElement,
  mistakes: readonly Mistake[],
  wrong: number,
  n: number,
): void {
  const cells = mistakes.map(({ index, guess, label: truth, confidence, pixels }) => {
    const figure = document.createElement('figure');
    const canvas = document.createElement('canvas');
    paintDigit(canvas, pixels);
    const label = document.createElement('figcaption');
    label.innerHTML = `<b>${guess}</b> ${Math.round(confidence * 100)}% · is ${truth}`;
    figure.title = `test example ${index}: the net says ${guess} (${percent(confidence)}), the label is ${truth}`;
    figure.append(canvas, label);
    return figure;
  });
  element.replaceChildren(...cells);
  caption.textContent =
    `${wrong.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} test digits wrong ` +
    `(${percent(wrong / n)})` +
    (wrong > mistakes.length ? `; the first ${mistakes.length}:` : wrong > 0 ? ':' : '.') +
    ' its guess, its confidence, and the label.';
}
