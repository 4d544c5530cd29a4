// Prometheus's HTTP query API (got): one request, its failures classified. A Prometheus that is down
// is a retryable failure (its restart is not a false failure); a bad query is not retryable.
import got from 'got';
import { ApplicationFailure } from '@temporalio/common';

export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface PromData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: any;
}

interface PromResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: PromData;
}

/** The Prometheus base URL: the metric's own, else PROMETHEUS_URL; `what` names the metric in errors. */
export function prometheusBase(address: string | undefined, what: string): string {
  const base = (address ?? process.env.PROMETHEUS_URL)?.replace(/\/+$/, '');
  if (!base) throw ApplicationFailure.nonRetryable(`${what}: no Prometheus address (prometheus.address or PROMETHEUS_URL)`, 'NotConfigured');
  return base;
}

/** POSTs a query (`query` or `query_range`) and returns its data, or throws a classified ApplicationFailure. */
export async function promQuery(base: string, api: 'query' | 'query_range', form: Record<string, string>, what: string): Promise<PromData> {
  let body: PromResponse;
  let status: number;
  try {
    const res = await got.post(`${base}/api/v1/${api}`, { form, timeout: { request: 15_000 }, retry: { limit: 0 }, throwHttpErrors: false });
    status = res.statusCode;
    body = JSON.parse(res.body) as PromResponse;
  } catch (err) {
    throw ApplicationFailure.retryable(`${what}: Prometheus at ${base} unreachable: ${(err as Error).message}`, 'MetricQueryError');
  }
  if (body.status !== 'success') {
    const message = `${what}: Prometheus ${body.errorType ?? status}: ${body.error ?? ''}`;
    if (status === 400 || body.errorType === 'bad_data') throw ApplicationFailure.nonRetryable(message, 'BadQuery');
    throw ApplicationFailure.retryable(message, 'MetricQueryError');
  }
  return body.data!;
}

/** At most one series: none is undefined ("no data"); several are an error that says how many. */
export function oneSeries(data: PromData, what: string): PromSeries | undefined {
  const series = data.result as PromSeries[];
  if (series.length > 1) {
    const labels = series.slice(0, 3).map((s) => JSON.stringify(s.metric)).join(', ');
    throw ApplicationFailure.nonRetryable(`${what}: query returned ${series.length} series, expected one (aggregate it, e.g. sum(...)); first: ${labels}`, 'AmbiguousQuery');
  }
  return series[0];
}

/** A sample value as a number; NaN / Inf (e.g. 0/0 error ratios) are no data. */
export function sampleValue(v: unknown): number | null {
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
