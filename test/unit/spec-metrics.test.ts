// Metric specs (spec/metric-schema.ts): a metric measures with exactly one provider (prometheus or
// web); a web metric keeps secrets out of the spec; the analysis defaults (inconclusive: error,
// initialDelay). And the judge's rules for inconclusive: error (spec/judge.ts MetricTally).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseSpec } from '../../spec/load.js';
import { MetricTally } from '../../spec/judge.js';
import type { MetricSpec } from '../../spec/schema.js';
import { expectIssue, issuesOf } from '../helpers/spec-issues.js';
import { thresholdMetric } from '../helpers/specs.js';

/** One production environment with a canary whose metrics are `metrics`, and post-deploy checks `checks`. */
function doc(metrics: unknown[], checks?: unknown[]): string {
  return stringify({
    service: 'payments-api',
    source: { repo: 'https://git.example.com/team/payments.git' },
    environments: [
      {
        name: 'production',
        deploy: { helm: { chart: 'oci://registry.local/charts/payments', release: 'payments' } },
        ...(checks ? { checks: { metrics: checks } } : {}),
        canary: {
          router: { istio: { virtualService: 'payments' } },
          workloads: { stable: 'payments', canary: 'payments-canary' },
          steps: [{ setWeight: 50 }, { analysis: { metrics: metrics.map((m) => (m as { name: string }).name) } }, { setWeight: 100 }],
          metrics,
        },
      },
    ],
  });
}
const M = 'environments[0].canary.metrics[0]';
const web = (over: Record<string, unknown> = {}) => ({ name: 'errors', web: { url: 'https://metrics.example.com/api/errors', jsonPath: '$.data.rate', ...over }, thresholdRange: { max: 0.01 } });
const canaryMetric = (text: string) => parseSpec(text, 't.yaml').environments[0].canary!.metrics[0];

describe('web metrics', () => {
  test('a web metric gets its defaults: GET, no headers, 10s timeout; inconclusive: error', () => {
    const m = canaryMetric(doc([web()]));
    assert.deepEqual(m.web, { url: 'https://metrics.example.com/api/errors', method: 'GET', headers: [], jsonPath: '$.data.rate', timeout: '10s' });
    assert.equal(m.prometheus, undefined);
    assert.equal(m.inconclusive, 'error');
    assert.equal(m.consecutiveErrorLimit, 4);
    assert.equal(m.initialDelay, undefined);
  });

  test('POST with a JSON body, a header from the environment and a literal one', () => {
    const m = canaryMetric(
      doc([
        web({
          method: 'POST',
          body: { query: 'errors', window: '5m', labels: ['canary'] },
          headers: [{ name: 'Authorization', valueFrom: { env: 'SHIPYARD_SECRET_METRICS_TOKEN' } }, { name: 'X-Team', value: 'payments' }],
          timeout: '3s',
        }),
      ]),
    );
    assert.equal(m.web!.method, 'POST');
    assert.deepEqual(m.web!.body, { query: 'errors', window: '5m', labels: ['canary'] });
    assert.deepEqual(m.web!.headers, [{ name: 'Authorization', valueFrom: { env: 'SHIPYARD_SECRET_METRICS_TOKEN' } }, { name: 'X-Team', value: 'payments' }]);
    assert.equal(m.web!.timeout, '3s');
  });

  test('exactly one of prometheus or web', () => {
    expectIssue(doc([{ name: 'errors', thresholdRange: { max: 1 } }]), `${M}.prometheus`, /set exactly one of prometheus or web/);
    expectIssue(doc([{ ...web(), prometheus: { query: 'up' } }]), `${M}.web`, /set exactly one of prometheus or web/);
  });

  test('secrets only by environment reference; the variable is a NAME', () => {
    expectIssue(doc([web({ headers: [{ name: 'Authorization', value: 'Bearer s3cr3t' }] })]), `${M}.web.headers[0].value`, /Authorization carries a credential: use valueFrom: \{ env: VAR_NAME \}/);
    expectIssue(doc([web({ headers: [{ name: 'x-api-key', value: 'k' }] })]), `${M}.web.headers[0].value`, /carries a credential/);
    const issues = issuesOf(doc([web({ headers: [{ name: 'Authorization', valueFrom: { env: 'Bearer abc.def' } }] })]));
    assert.ok(issues.some((i) => i.path.startsWith(`${M}.web.headers[0]`) && /NAME of an environment variable/.test(i.message)), JSON.stringify(issues));
    const both = issuesOf(doc([web({ headers: [{ name: 'X-Team', value: 'a', valueFrom: { env: 'A' } }] })]));
    assert.ok(both.some((i) => i.path.startsWith(`${M}.web.headers[0]`)), JSON.stringify(both));
  });

  test('url, method, body, jsonPath and timeout are checked', () => {
    expectIssue(doc([web({ url: 'not a url' })]), `${M}.web.url`, /URL/i);
    expectIssue(doc([web({ url: 'ftp://metrics.example.com/x' })]), `${M}.web.url`, /must be an http or https URL/);
    expectIssue(doc([web({ method: 'PUT' })]), `${M}.web.method`, /GET|POST/);
    expectIssue(doc([web({ body: { a: 1 } })]), `${M}.web.body`, /a body needs method: POST/);
    expectIssue(doc([web({ jsonPath: 'data.rate' })]), `${M}.web.jsonPath`, /must be a JSONPath starting with \$/);
    expectIssue(doc([{ name: 'errors', web: { url: 'https://m.example.com' }, thresholdRange: { max: 1 } }]), `${M}.web.jsonPath`, /.+/);
    expectIssue(doc([web({ timeout: '10' })]), `${M}.web.timeout`, /must be a duration with a unit/);
    expectIssue(doc([web({ timeout: '20s' })]), `${M}.web.timeout`, /at most 15s: a measurement must finish inside its 18s activity budget/);
  });
});

describe('analysis defaults', () => {
  test('canary metrics and post-deploy checks default to inconclusive: error; fail, pass and ignore stay available', () => {
    const prom = { name: 'up', prometheus: { query: 'up' }, thresholdRange: { min: 1 } };
    const spec = parseSpec(doc([prom], [{ ...prom, name: 'up-check' }]), 't.yaml');
    assert.equal(spec.environments[0].canary!.metrics[0].inconclusive, 'error');
    assert.equal(spec.environments[0].checks!.metrics[0].inconclusive, 'error');
    for (const inconclusive of ['fail', 'pass', 'ignore'] as const) assert.equal(canaryMetric(doc([{ ...prom, inconclusive }])).inconclusive, inconclusive);
    expectIssue(doc([{ ...prom, inconclusive: 'maybe' }]), `${M}.inconclusive`, /error|fail/);
  });

  test('initialDelay is a duration', () => {
    const prom = { name: 'up', prometheus: { query: 'up' }, thresholdRange: { min: 1 } };
    assert.equal(canaryMetric(doc([{ ...prom, initialDelay: '2m' }])).initialDelay, '2m');
    expectIssue(doc([{ ...prom, initialDelay: 'soon' }]), `${M}.initialDelay`, /must be a duration with a unit/);
  });
});

const metric = (over: Partial<MetricSpec> = {}): MetricSpec => thresholdMetric(over);

describe('MetricTally with inconclusive: error', () => {
  test('a gap then recovery passes: the gap is an error, not a failure, and the next good measurement resets the run', () => {
    const t = new MetricTally(metric());
    assert.equal(t.record('successful'), undefined);
    assert.equal(t.record('inconclusive'), undefined);
    assert.equal(t.failures, 0, 'a gap is not a failure');
    assert.equal(t.consecutiveErrors, 1);
    assert.equal(t.record('successful'), undefined);
    assert.equal(t.consecutiveErrors, 0);
    assert.equal(t.finish(), undefined, 'it had data');
    // The same sequence with the old default fails at the gap (failureLimit 0).
    const old = new MetricTally(metric({ inconclusive: 'fail' }));
    old.record('successful');
    assert.match(old.record('inconclusive') ?? '', /failed 1 time\(s\), limit 0/);
  });

  test('5 gaps in a row fail (consecutiveErrorLimit 4); gaps and query errors count together', () => {
    const t = new MetricTally(metric());
    t.record('successful');
    for (let i = 0; i < 4; i++) assert.equal(t.record(i % 2 ? 'error' : 'inconclusive'), undefined, `gap ${i + 1} tolerated`);
    assert.match(t.record('inconclusive') ?? '', /metric error-rate could not be measured 5 times in a row \(errors or no data, limit 4\)/);
  });

  test('all gaps: no verdict while measuring, then finish() fails the analysis as inconclusive', () => {
    const t = new MetricTally(metric({ count: 3 }));
    for (let i = 0; i < 3; i++) assert.equal(t.record('inconclusive'), undefined);
    assert.match(t.finish() ?? '', /metric error-rate is inconclusive: no data in 3 measurement\(s\).*never passes on no data/);
    // A single post-deploy check with no data does not pass either.
    const single = new MetricTally(metric({ count: 1 }));
    assert.equal(single.record('inconclusive'), undefined);
    assert.ok(single.finish());
    // A failed measurement is data: finish() has nothing to add (failureLimit judged it already).
    const failedOnce = new MetricTally(metric({ failureLimit: 1 }));
    failedOnce.record('failed');
    failedOnce.record('inconclusive');
    assert.equal(failedOnce.finish(), undefined);
  });

  test('finish() keeps the old meaning of fail, pass and ignore, and dry-run never fails', () => {
    for (const inconclusive of ['fail', 'pass', 'ignore'] as const) {
      const t = new MetricTally(metric({ inconclusive, failureLimit: 5 }));
      t.record('inconclusive');
      assert.equal(t.finish(), undefined, inconclusive);
    }
    const dry = new MetricTally(metric({ dryRun: true }));
    dry.record('inconclusive');
    assert.equal(dry.finish(), undefined);
  });

  test('the totals survive a carry (TallyState) between measurement series', () => {
    const a = new MetricTally(metric());
    a.record('inconclusive');
    a.record('inconclusive');
    const b = Object.assign(new MetricTally(metric()), a.state());
    assert.deepEqual(b.state(), { failures: 0, consecutiveErrors: 2, measurements: 2, conclusive: 0 });
    b.record('inconclusive');
    b.record('inconclusive');
    assert.match(b.record('error') ?? '', /5 times in a row/);
  });
});
