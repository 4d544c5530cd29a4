// Prometheus through its HTTP API (got): an instant query, or a range query reduced to one number.
// The result must be one sample: no series is "no data" (null, judged as the metric's inconclusive
// setting says); several series are an error that says how many. A Prometheus that is down is a
// retryable failure (its restart is not a false failure); a bad query is not retryable.
import got from 'got';
import { ApplicationFailure } from '@temporalio/common';
import type { MetricSpec } from '../../spec/schema.js';
import { parseDuration } from '../../spec/duration.js';
import type { Measurement } from '../canary-types.js';
import type { MetricProvider } from './provider.js';

interface PromResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: 'vector' | 'matrix' | 'scalar' | 'string'; result: any };
}

function number(v: unknown): number | null {
  const n = Number(v);
  return Number.isFinite(n) ? n : null; // NaN / Inf (e.g. 0/0 error ratios) count as no data
}

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
    if (!metric.prometheus) throw ApplicationFailure.nonRetryable(`metric ${metric.name}: not a Prometheus metric`, 'NotConfigured');
    const prom = metric.prometheus;
    const base = (prom.address ?? this.defaultAddress)?.replace(/\/+$/, '');
    if (!base) throw ApplicationFailure.nonRetryable(`metric ${metric.name}: no Prometheus address (prometheus.address or PROMETHEUS_URL)`, 'NotConfigured');
    const range = prom.range;
    const now = Date.now() / 1000;
    const searchParams: Record<string, string> = range
      ? { query: prom.query, start: String(now - parseDuration(range.window) / 1000), end: String(now), step: String(parseDuration(range.step) / 1000) }
      : { query: prom.query };
    let body: PromResponse;
    let status: number;
    try {
      const res = await got.post(`${base}/api/v1/${range ? 'query_range' : 'query'}`, { form: searchParams, timeout: { request: 15_000 }, retry: { limit: 0 }, throwHttpErrors: false });
      status = res.statusCode;
      body = JSON.parse(res.body) as PromResponse;
    } catch (err) {
      throw ApplicationFailure.retryable(`metric ${metric.name}: Prometheus at ${base} unreachable: ${(err as Error).message}`, 'MetricQueryError');
    }
    if (body.status !== 'success') {
      const message = `metric ${metric.name}: Prometheus ${body.errorType ?? status}: ${body.error ?? ''}`;
      if (status === 400 || body.errorType === 'bad_data') throw ApplicationFailure.nonRetryable(message, 'BadQuery');
      throw ApplicationFailure.retryable(message, 'MetricQueryError');
    }
    const data = body.data!;
    if (data.resultType === 'scalar') return number(data.result[1]);
    const series = data.result as { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
    if (series.length === 0) return null;
    if (series.length > 1) {
      const labels = series.slice(0, 3).map((s) => JSON.stringify(s.metric)).join(', ');
      throw ApplicationFailure.nonRetryable(`metric ${metric.name}: query returned ${series.length} series, expected one (aggregate it, e.g. sum(...)); first: ${labels}`, 'AmbiguousQuery');
    }
    if (data.resultType === 'vector') return number(series[0].value?.[1]);
    const values = (series[0].values ?? []).map((v) => number(v[1])).filter((v): v is number => v !== null);
    return reduce(values, range?.reduce ?? 'avg');
  }
}
