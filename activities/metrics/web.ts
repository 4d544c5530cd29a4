// The web metric provider (Argo Rollouts' web metric): an HTTP GET or POST to an endpoint that
// answers JSON, and a JSONPath (jsonpath-plus) that picks one number out of it.
//   one number, or a numeric string  -> the value
//   no match, or JSON null           -> no data (null), judged as the metric's `inconclusive` says
//   a timeout or a non-2xx answer    -> no data, with the HTTP status / the timeout in `message`
//   several matches, not a number, a body that is not JSON or over 1 MiB -> an error that says which
// The host must be in the worker's egress allowlist (activities/egress.ts), as for notifications;
// header secrets come from the worker's environment (valueFrom.env) at each measurement and are never
// returned or recorded. Redirects are not followed (they could leave the allowed hosts). Messages
// name the host, never the URL's path or query.
import got from 'got';
import { JSONPath } from 'jsonpath-plus';
import { ApplicationFailure } from '@temporalio/common';
import type { MetricSpec } from '../../spec/schema.js';
import { parseDuration } from '../../spec/duration.js';
import type { Measurement } from '../canary-types.js';
import { checkEgress } from '../egress.js';
import { secretFromEnv } from '../notify/http.js';
import type { MetricProvider } from './provider.js';

/** Answers larger than this are refused (1 MiB). */
const MAX_BODY_BYTES = 1024 * 1024;

/** The first characters of a value, for an error message. */
const preview = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 80)}…` : s;
};

export class WebMetricProvider implements MetricProvider {
  async measure(metric: MetricSpec): Promise<Measurement> {
    const web = metric.web;
    if (!web) throw ApplicationFailure.nonRetryable(`metric ${metric.name}: not a web metric`, 'NotConfigured');
    const what = `metric ${metric.name}`;
    checkEgress(web.url, what);
    const host = new URL(web.url).host;
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const h of web.headers) headers[h.name] = 'value' in h ? h.value : secretFromEnv(h.valueFrom.env, `${what}, header ${h.name}`);
    const timeout = parseDuration(web.timeout);

    let res;
    try {
      const request = got(web.url, {
        method: web.method,
        headers,
        ...(web.method === 'POST' && web.body !== undefined ? { json: web.body } : {}),
        timeout: { request: timeout },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
      });
      // A metric answer is small: an endpoint streaming more is stopped before it fills the worker's memory.
      request.on('downloadProgress', (p) => {
        if (p.transferred > MAX_BODY_BYTES) request.cancel();
      });
      res = await request;
    } catch (err) {
      if ((err as { name?: string }).name === 'TimeoutError') return { value: null, message: `${what}: ${host} did not answer within ${web.timeout}` };
      if ((err as { name?: string }).name === 'CancelError') {
        throw ApplicationFailure.nonRetryable(`${what}: ${host} answered more than ${MAX_BODY_BYTES / 1024} KiB; a metric endpoint should answer one small JSON document`, 'BadResponse');
      }
      // Connection refused, DNS: retried like an unreachable Prometheus, then an error measurement.
      throw ApplicationFailure.retryable(`${what}: ${host} unreachable: ${(err as Error).message}`, 'MetricQueryError');
    }
    const status = res.statusCode;
    if (status < 200 || status >= 300) return { value: null, status, message: `${what}: ${host} answered HTTP ${status}` };

    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      throw ApplicationFailure.nonRetryable(`${what}: ${host} answered HTTP ${status} with a body that is not JSON: ${preview(res.body)}`, 'BadResponse');
    }
    const matches = JSONPath({ path: web.jsonPath, json: json as object, wrap: true }) as unknown[];
    if (matches.length === 0) return { value: null, status, message: `${what}: jsonPath ${web.jsonPath} matched nothing` };
    if (matches.length > 1) {
      throw ApplicationFailure.nonRetryable(`${what}: jsonPath ${web.jsonPath} matched ${matches.length} values, expected one: ${preview(matches.slice(0, 3))}`, 'AmbiguousJsonPath');
    }
    const [found] = matches;
    if (found === null) return { value: null, status, message: `${what}: jsonPath ${web.jsonPath} is null` };
    const value = typeof found === 'number' ? found : typeof found === 'string' && found.trim() !== '' ? Number(found) : NaN;
    if (!Number.isFinite(value)) {
      throw ApplicationFailure.nonRetryable(`${what}: jsonPath ${web.jsonPath} is not a number: ${preview(found)}`, 'NotANumber');
    }
    return { value, status };
  }
}
