// Charts: uPlot on a canvas, and beside each the same numbers as a table (for screen readers and
// keyboard users, and what a test can count). Threshold lines are drawn as constant series.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom';
import { time } from './format';

export interface Series {
  label: string;
  /** [time in ms, value]; null values are gaps (no data). */
  points: [number, number | null][];
}

export interface ChartOptions {
  title: string;
  /** A stable name for tests and links, e.g. weight-production. */
  name: string;
  yLabel: string;
  series: Series;
  /** Horizontal lines: a metric's threshold range, a judge's pass and marginal scores. */
  lines?: { label: string; value: number }[];
  stepped?: boolean;
  yRange?: [number, number];
  /** Extra text per point in the data table (a measurement's phase, a judgement's verdict). */
  notes?: string[];
}

const COLORS = ['#1f6feb', '#b35900', '#8250df', '#1a7f37'];

export function chart(opts: ChartOptions): HTMLElement {
  const xs = opts.series.points.map(([t]) => t / 1000);
  const ys = opts.series.points.map(([, v]) => v);
  const lines = opts.lines ?? [];
  const summary = `${opts.title}: ${ys.length} point${ys.length === 1 ? '' : 's'}${lines.length ? `; ${lines.map((l) => `${l.label} ${l.value}`).join(', ')}` : ''}`;
  const plot = h('div', { class: 'plot', role: 'img', 'aria-label': summary });
  const figure = h(
    'figure',
    { class: 'chart', 'data-chart': opts.name, 'data-points': ys.length },
    h('figcaption', {}, opts.title),
    plot,
    h(
      'details',
      {},
      h('summary', {}, `Data (${ys.length} point${ys.length === 1 ? '' : 's'})`),
      h(
        'table',
        { class: 'data' },
        h('caption', {}, opts.title),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'time'), h('th', { scope: 'col' }, opts.yLabel), opts.notes ? h('th', { scope: 'col' }, 'note') : null)),
        h('tbody', {}, opts.series.points.map(([t, v], i) => h('tr', {}, h('td', {}, time(new Date(t).toISOString())), h('td', {}, v === null ? 'no data' : String(v)), opts.notes ? h('td', {}, opts.notes[i] ?? '') : null))),
      ),
    ),
  );
  if (xs.length === 0) {
    plot.append(h('p', { class: 'empty' }, 'No points yet.'));
    return figure;
  }
  const series: uPlot.Series[] = [
    {},
    {
      label: opts.series.label,
      stroke: COLORS[0],
      width: 2,
      points: { show: true, size: 6 },
      ...(opts.stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
    },
    ...lines.map((l, i) => ({ label: l.label, stroke: COLORS[(i % 3) + 1], dash: [6, 4], width: 1, points: { show: false } })),
  ];
  const data: uPlot.AlignedData = [xs, ys, ...lines.map((l) => xs.map(() => l.value))];
  // Drawn once the figure is in the page (uPlot measures its container).
  requestAnimationFrame(() => {
    const width = Math.max(320, Math.min(plot.clientWidth || 640, 900));
    new uPlot(
      {
        width,
        height: 220,
        series,
        scales: { x: { time: true }, ...(opts.yRange ? { y: { range: opts.yRange } } : {}) },
        axes: [{}, { label: opts.yLabel }],
        legend: { show: true },
      },
      data,
      plot,
    );
  });
  return figure;
}
