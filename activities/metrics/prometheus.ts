// Prometheus as a threshold metric provider: an instant query, or a range query reduced to one number.
// The result must be one sample: no series is "no data" (null, judged as the metric's inconclusive
// setting says); several series are an error that says how many.
import { ApplicationFailure } from '@temporalio/common';
import type { MetricSpec } from '../../spec/schema.js';
import { parseDuration } from '../../spec/duration.js';
import type { Measurement } from '../canary-types.js';
import type { MetricProvider } from './provider.js';
import { oneSeries, prometheusBase, promQuery, sampleValue } from './prometheus-api.js';

function reduce(values: number[], how: 'avg' | 'max' | 'min' | 'last'): number | null {
  if (values.length === 0) return null;
  if (how === 'last') return values[values.length - 1];
  if (how === 'max') return Math.max(...values);
  if (how === 'min') return Math.min(...values);
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export class PrometheusProvider implements MetricProvider {
  constructor(private readonly defaultAddress = process.env.PROMETHEUS_URL) {}

  async measure(metric: MetricSpec): Promise<Measurement> {
    return { value: await this.value(metric) };
  }

  async value(metric: MetricSpec): Promise<number | null> {
    const what = `metric ${metric.name}`;
    if (!metric.prometheus) throw ApplicationFailure.nonRetryable(`${what}: not a Prometheus metric`, 'NotConfigured');
    const prom = metric.prometheus;
    const base = prometheusBase(prom.address ?? this.defaultAddress, what);
    const range = prom.range;
    const now = Date.now() / 1000;
    const form: Record<string, string> = range
      ? { query: prom.query, start: String(now - parseDuration(range.window) / 1000), end: String(now), step: String(parseDuration(range.step) / 1000) }
      : { query: prom.query };
    const data = await promQuery(base, range ? 'query_range' : 'query', form, what);
    if (data.resultType === 'scalar') return sampleValue(data.result[1]);
    const series = oneSeries(data, what);
    if (!series) return null;
    if (data.resultType === 'vector') return sampleValue(series.value?.[1]);
    const values = (series.values ?? []).map((v) => sampleValue(v[1])).filter((v): v is number => v !== null);
    return reduce(values, range?.reduce ?? 'avg');
  }
}
