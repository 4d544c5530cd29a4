// Threshold metrics: one number per measurement, judged against a range (canary analysis and
// post-deploy checks alike; spec/judge.ts judges them). The number comes from one provider:
// Prometheus (a PromQL query) or the web (an HTTP endpoint's JSON, picked with a JSONPath).
import { z } from 'zod';
import { isDuration, parseDuration } from './duration.js';
import { dnsLabel, duration, envName } from './fields.js';

const PrometheusSchema = z.strictObject({
  query: z.string().min(1).describe('PromQL returning one sample'),
  address: z.string().optional().describe('Prometheus base URL; PROMETHEUS_URL when unset'),
  range: z
    .strictObject({ window: duration, step: duration.default('15s'), reduce: z.enum(['avg', 'max', 'min', 'last']).default('avg') })
    .optional()
    .describe('Run a range query over the last `window` and reduce it to one number'),
});

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name');
/** Headers whose value is a credential: the spec (and so the release history) may only name the variable holding it. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key', 'x-auth-token']);

const WebHeaderSchema = z.union([
  z.strictObject({ name: headerName, valueFrom: z.strictObject({ env: envName.describe("The worker's environment variable holding the value (read at each measurement, never recorded)") }) }),
  z.strictObject({ name: headerName, value: z.string().describe('A literal value: not for credentials, use valueFrom.env') }),
]);

const WebSchema = z
  .strictObject({
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), { message: 'must be an http or https URL' })
      .describe("The endpoint; its host must be allowed by the worker's SHIPYARD_EGRESS_ALLOW"),
    method: z.enum(['GET', 'POST']).default('GET'),
    headers: z.array(WebHeaderSchema).default([]).describe('Secrets only as valueFrom.env (the name of a worker environment variable)'),
    body: z.json().optional().describe('JSON sent with POST (Content-Type: application/json)'),
    jsonPath: z
      .string()
      .regex(/^\$/, 'must be a JSONPath starting with $, e.g. $.data.errorRate')
      .describe('JSONPath (jsonpath-plus) selecting one number (or numeric string) in the JSON response'),
    // A measurement activity has 18 s (workflows/activity-options.ts): the request must end well inside it.
    timeout: duration
      .default('10s')
      .refine((d) => !isDuration(d) || parseDuration(d) <= 15_000, { message: 'at most 15s: a measurement must finish inside its 18s activity budget' })
      .describe('A slower answer is inconclusive (at most 15s)'),
  })
  .superRefine((w, ctx) => {
    if (w.body !== undefined && w.method !== 'POST') ctx.addIssue({ code: 'custom', path: ['body'], message: 'a body needs method: POST' });
    w.headers.forEach((h, i) => {
      if ('value' in h && SECRET_HEADERS.has(h.name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: ['headers', i, 'value'], message: `${h.name} carries a credential: use valueFrom: { env: VAR_NAME } so the secret stays out of the spec and the release history` });
      }
    });
  });

export const MetricSchema = z
  .strictObject({
    name: dnsLabel,
    prometheus: PrometheusSchema.optional().describe('Measure with a PromQL query (exactly one of prometheus or web)'),
    web: WebSchema.optional().describe('Measure with an HTTP endpoint returning JSON (exactly one of prometheus or web)'),
    thresholdRange: z
      .strictObject({ min: z.number().optional(), max: z.number().optional() })
      .refine((r) => r.min !== undefined || r.max !== undefined, { message: 'set min, max or both' })
      .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'min must be <= max' }),
    interval: duration.default('30s').describe('Time between measurements'),
    initialDelay: duration.optional().describe('Wait this long before the first measurement (e.g. for the canary to receive traffic)'),
    count: z.number().int().min(1).default(1).describe('Measurements per analysis'),
    failureLimit: z.number().int().min(0).default(0).describe('Failed measurements tolerated'),
    consecutiveErrorLimit: z.number().int().min(0).default(4).describe('Errors in a row tolerated'),
    inconclusive: z
      .enum(['error', 'fail', 'pass', 'ignore'])
      .default('error')
      .describe(
        'What a measurement with no data counts as. error (default): an error, tolerated up to consecutiveErrorLimit in a row, and a metric with no successful or failed measurement at all fails the analysis; fail: a failure (against failureLimit); pass: a success; ignore: nothing',
      ),
    dryRun: z.boolean().default(false).describe('Record the measurement but never fail on it'),
  })
  .superRefine((m, ctx) => {
    if ((m.prometheus === undefined) === (m.web === undefined)) {
      ctx.addIssue({ code: 'custom', path: m.web ? ['web'] : ['prometheus'], message: 'set exactly one of prometheus or web' });
    }
  });
export type MetricSpec = z.output<typeof MetricSchema>;
export type WebMetricSpec = z.output<typeof WebSchema>;
