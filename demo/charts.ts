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

export class LiveChart {
  readonly #plot: uPlot;
  readonly #xs: number[] = [];
  readonly #ys: (number | null)[][];
  readonly #observer: ResizeObserver;
  #pending = false;

  constructor(
    readonly element: HTMLElement,
    yLabel: string,
    series: readonly SeriesStyle[],
    format: (value: number) => string,
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
          { label: 'epoch', labelSize: 18, size: 34 },
          { label: yLabel, labelSize: 18, size: 50, values: (_u, ticks) => ticks.map(format) },
        ],
        cursor: { drag: { x: false, y: false } },
        // Labels only: values under the cursor would jump as points stream in.
        legend: { live: false },
        series: [
          { label: 'epoch' },
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
    // Redrawn at most once per frame, however often training reports.
    if (this.#pending) return;
    this.#pending = true;
    requestAnimationFrame(() => {
      this.#pending = false;
      this.#plot.setData([this.#xs, ...this.#ys] as uPlot.AlignedData);
      this.element.dataset.points = String(this.#xs.length);
    });
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
    this.#observer.disconnect();
    this.#plot.destroy();
  }
}
