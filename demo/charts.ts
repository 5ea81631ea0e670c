/**
 * Live line charts (uPlot). Points arrive in order of x (fractional epochs); each point carries values
 * for some of the series and null for the others, and lines span those gaps.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesStyle {
  readonly label: string;
  readonly color: string;
  /** Dashed line (the training curves). */
  readonly dashed?: boolean;
  /** Draw a dot at every point (sparse, per-epoch series). */
  readonly points?: boolean;
}

const HEIGHT = 220;
const REDRAW_MS = 100;

export class LiveChart {
  readonly #plot: uPlot;
  readonly #xs: number[] = [];
  readonly #ys: (number | null)[][];
  readonly #observer: ResizeObserver;
  #pending = false;
  #destroyed = false;

  constructor(
    readonly element: HTMLElement,
    yLabel: string,
    series: readonly SeriesStyle[],
    format: (value: number) => string,
    xLabel = 'epoch',
  ) {
    element.replaceChildren();
    this.#ys = series.map(() => []);
    this.#plot = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: HEIGHT,
        scales: {
          x: { time: false },
          y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
        },
        axes: [
          { label: xLabel, labelSize: 18, size: 34 },
          { label: yLabel, labelSize: 18, size: 50, values: (_u, ticks) => ticks.map(format) },
        ],
        cursor: { drag: { x: false, y: false } },
        // Labels only: values under the cursor would jump as points stream in.
        legend: { live: false },
        series: [
          { label: xLabel },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            spanGaps: true,
            ...(s.dashed ? { dash: [6, 4] } : {}),
            points: { show: s.points ?? false, size: 5, fill: s.color },
          })),
        ],
      },
      [[], ...this.#ys] as uPlot.AlignedData,
      element,
    );
    this.#observer = new ResizeObserver(() => {
      this.#plot.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT });
    });
    this.#observer.observe(element);
  }

  /** Adds a point at `x` with `values[i]` for series i (null where this point has none). */
  add(x: number, values: readonly (number | null)[]): void {
    this.#xs.push(x);
    this.#ys.forEach((ys, i) => {
      ys.push(values[i] ?? null);
    });
    // Redrawn at most every REDRAW_MS, however often training reports, each chart in a task of its own
    // (in one animation frame, all charts would redraw in one long task).
    if (this.#pending) return;
    this.#pending = true;
    setTimeout(() => {
      this.#pending = false;
      if (this.#destroyed) return;
      this.#plot.setData([this.#xs, ...this.#ys] as uPlot.AlignedData);
      this.element.dataset.points = String(this.#xs.length);
    }, REDRAW_MS);
  }

  /** Replaces all points: `xs` and, per series, one value (or null) per x. */
  set(xs: readonly number[], ys: readonly (readonly (number | null)[])[]): void {
    this.#xs.length = 0;
    this.#xs.push(...xs);
    this.#ys.forEach((series, i) => {
      series.length = 0;
      series.push(...(ys[i] ?? xs.map(() => null)));
    });
    this.#plot.setData([this.#xs, ...this.#ys] as uPlot.AlignedData);
    this.element.dataset.points = String(this.#xs.length);
  }

  /** Drops the points after `x` (training resumed from an earlier point). */
  truncate(x: number): void {
    const keep = this.#xs.findIndex((value) => value > x);
    if (keep < 0) return;
    this.#xs.length = keep;
    for (const ys of this.#ys) ys.length = keep;
    this.#plot.setData([this.#xs, ...this.#ys] as uPlot.AlignedData);
    this.element.dataset.points = String(this.#xs.length);
  }

  destroy(): void {
    this.#destroyed = true;
    this.#observer.disconnect();
    this.#plot.destroy();
  }
}
