// judgeCanary: samples each canary.judge metric for the canary and the baseline over the window the
// workflow fixed, judges them (activities/judge/: Mann-Whitney U on series, a two-proportion test on
// counts) and scores the whole. Read-only; a retried attempt reads the same window.
import { ApplicationFailure } from '@temporalio/common';
import { parseDuration } from '../../spec/duration.js';
import { substitute, WINDOW_PLACEHOLDER, type JudgeMetricSpec, type JudgeSpec } from '../../spec/judge-schema.js';
import type { CanaryJudgement, JudgeInput, MetricJudgementRecord } from '../canary-types.js';
import { judgeProportions, judgeSamples, scoreJudgement } from '../judge/index.js';
import { oneSeries, prometheusBase, promQuery, sampleValue } from './prometheus-api.js';

type Side = 'canary' | 'baseline';

interface Window {
  start: number;
  end: number;
  step: number;
  /** The window as a PromQL duration, for {{window}}. */
  range: string;
}

/** The query for one side: its placeholder values and the window. */
const queryFor = (judge: JudgeSpec, side: Side, query: string, w: Window) => substitute(query, { ...judge[side], [WINDOW_PLACEHOLDER]: w.range });

/** One series sampled over the window; NaN samples are kept as NaN for the metric's nan rule. */
async function samples(base: string, judge: JudgeSpec, metric: JudgeMetricSpec, side: Side, w: Window): Promise<number[]> {
  const what = `judge metric ${metric.name} (${side})`;
  const data = await promQuery(base, 'query_range', { query: queryFor(judge, side, metric.query!, w), start: String(w.start), end: String(w.end), step: String(w.step) }, what);
  const series = oneSeries(data, what);
  return (series?.values ?? []).map(([, v]) => sampleValue(v) ?? Number.NaN);
}

/** A count at the window's end (errors or total); no data is 0 events. */
async function count(base: string, judge: JudgeSpec, metric: JudgeMetricSpec, side: Side, query: string, w: Window): Promise<number> {
  const what = `judge metric ${metric.name} (${side})`;
  const data = await promQuery(base, 'query', { query: queryFor(judge, side, query, w), time: String(w.end) }, what);
  if (data.resultType === 'scalar') return Math.max(0, Math.round(sampleValue(data.result[1]) ?? 0));
  const series = oneSeries(data, what);
  return Math.max(0, Math.round(sampleValue(series?.value?.[1]) ?? 0));
}

async function judgeMetric(base: string, judge: JudgeSpec, metric: JudgeMetricSpec, w: Window): Promise<MetricJudgementRecord> {
  const confidence = metric.confidence ?? judge.confidence;
  const minSamples = metric.minSamples ?? judge.minSamples;
  if (metric.proportion) {
    const { errors, total } = metric.proportion;
    const [ce, ct, be, bt] = await Promise.all([
      count(base, judge, metric, 'canary', errors, w),
      count(base, judge, metric, 'canary', total, w),
      count(base, judge, metric, 'baseline', errors, w),
      count(base, judge, metric, 'baseline', total, w),
    ]);
    const opts = { direction: metric.direction, tolerance: metric.tolerance, confidence, minSamples };
    return judgeProportions(metric.name, { errors: ce, total: ct }, { errors: be, total: bt }, opts, metric.weight, metric.critical);
  }
  const [canary, baseline] = await Promise.all([samples(base, judge, metric, 'canary', w), samples(base, judge, metric, 'baseline', w)]);
  const opts = {
    direction: metric.direction,
    tolerance: metric.tolerance,
    effect: metric.effect,
    confidence,
    minSamples,
    nan: metric.nan,
    replaceWith: metric.replaceWith,
    outlierIqrFactor: metric.outliers?.iqrFactor,
  };
  return judgeSamples(metric.name, canary, baseline, opts, metric.weight, metric.critical);
}

export async function judgeCanary(input: JudgeInput): Promise<CanaryJudgement> {
  const { judge } = input;
  const base = prometheusBase(judge.prometheus.address, 'canary.judge');
  const start = Date.parse(input.start) / 1000;
  const end = Date.parse(input.end) / 1000;
  if (!(end > start)) throw ApplicationFailure.nonRetryable(`judge window ${input.start} .. ${input.end} is empty`, 'InvalidInput');
  const w: Window = { start, end, step: parseDuration(judge.step) / 1000, range: `${Math.round(end - start)}s` };
  const metrics = input.metrics ? judge.metrics.filter((m) => input.metrics!.includes(m.name)) : judge.metrics;
  const results = await Promise.all(metrics.map((m) => judgeMetric(base, judge, m, w)));
  return { ...scoreJudgement(results, judge.thresholds), metrics: results };
}
