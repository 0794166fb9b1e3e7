// A line chart over training steps (uPlot on a canvas), with a text summary beside it: the canvas
// says nothing to a screen reader, the summary says what the curve shows.
import uPlot from 'uplot';
import { h, uid } from '../dom.ts';
import { metric } from '../format.ts';

export interface SeriesSpec {
  label: string;
  color: string;
  dash?: number[];
}

const HEIGHT = 240;

export class LineChart {
  readonly element: HTMLElement;
  private readonly plotArea: HTMLElement;
  private readonly summary: HTMLElement;
  private plot?: uPlot;
  private data: uPlot.AlignedData;

  constructor(
    readonly name: string,
    title: string,
    private readonly series: SeriesSpec[],
    private readonly yLabel: string,
    signal: AbortSignal,
  ) {
    const captionId = uid('chart');
    this.data = [[], ...series.map(() => [])];
    this.plotArea = h('div', { class: 'chart-plot', 'aria-hidden': 'true' });
    this.summary = h('p', { class: 'chart-summary', 'aria-live': 'off' });
    this.element = h(
      'figure',
      { class: 'chart', 'data-chart': name, 'data-points': 0, 'aria-labelledby': captionId },
      h('figcaption', { id: captionId }, title),
      this.plotArea,
      this.summary,
    );
    this.describe();
    // uPlot draws at a fixed pixel width: follow the container (a phone, a resized window).
    const observer = new ResizeObserver(() => this.fit());
    observer.observe(this.plotArea);
    signal.addEventListener('abort', () => (observer.disconnect(), this.plot?.destroy()), { once: true });
  }

  /** x: steps; ys: one array per series, aligned with x (null: no point at that step). */
  setData(x: number[], ys: (number | null)[][]): void {
    this.data = [x, ...ys];
    this.plot?.setData(this.data);
    this.describe();
  }

  private fit(): void {
    const width = this.plotArea.clientWidth;
    if (width === 0) return;
    if (this.plot) {
      this.plot.setSize({ width, height: HEIGHT });
      return;
    }
    this.plot = new uPlot(
      {
        width,
        height: HEIGHT,
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, { label: this.yLabel, size: 60, values: (_u, ticks) => ticks.map((t) => metric(t)) }],
        series: [{ label: 'step' }, ...this.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, dash: s.dash, spanGaps: true, points: { show: false } }))],
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
      },
      this.data,
      this.plotArea,
    );
  }

  private describe(): void {
    const steps = this.data[0] as number[];
    this.element.dataset.points = String(steps.length);
    const parts = this.series.map((s, i) => {
      const ys = this.data[i + 1] as (number | null)[];
      let last = ys.length - 1;
      while (last >= 0 && ys[last] === null) last -= 1;
      const points = ys.filter((y) => y !== null).length;
      return points === 0 ? `${s.label}: no points yet.` : `${s.label}: ${points} points, latest ${metric(ys[last])} at step ${steps[last]}.`;
    });
    this.summary.textContent = parts.join(' ');
  }
}
