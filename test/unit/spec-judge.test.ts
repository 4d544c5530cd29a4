// canary.judge and judge steps: what a valid judgement spec looks like after defaults, and the
// mistakes that would judge nothing (same series on both sides, unset placeholders) refused at load.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseSpec } from '../../spec/load.js';
import { substitute } from '../../spec/judge-schema.js';
import { expectIssue } from '../helpers/spec-issues.js';

const LATENCY = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="pay", track="{{track}}"}[1m])))';
const judge = (over: Record<string, unknown> = {}) => ({
  canary: { track: 'canary' },
  baseline: { track: 'stable' },
  metrics: [
    { name: 'latency', query: LATENCY, critical: true },
    { name: 'errors', proportion: { errors: 'sum(increase(x{code=~"5..",track="{{ track }}"}[{{window}}]))', total: 'sum(increase(x{track="{{track}}"}[{{window}}]))' } },
  ],
  ...over,
});

function doc(canaryOver: Record<string, unknown> = {}, envOver: Record<string, unknown> = {}): string {
  return stringify({
    service: 'pay',
    source: { repo: 'https://git.example.com/pay.git' },
    environments: [
      {
        name: 'production',
        deploy: { helm: { chart: 'oci://r/charts/pay', release: 'pay' } },
        ...envOver,
        canary: { router: { istio: { virtualService: 'pay' } }, workloads: { stable: 'pay', canary: 'pay-canary' }, steps: [{ setWeight: 10 }, { judge: { window: '15m' } }], judge: judge(), ...canaryOver },
      },
    ],
  });
}

describe('canary.judge spec', () => {
  test('defaults: step 15s, confidence 0.95, 50 samples, pass 95 / marginal 75, marginal fails; per metric increase, 10% tolerance, median, weight 1', () => {
    const env = parseSpec(doc(), 't.yaml').environments[0];
    const j = env.canary!.judge!;
    assert.equal(j.step, '15s');
    assert.equal(j.confidence, 0.95);
    assert.equal(j.minSamples, 50);
    assert.deepEqual(j.thresholds, { pass: 95, marginal: 75 });
    assert.equal(j.marginal, 'fail');
    const [lat, err] = j.metrics;
    assert.deepEqual([lat.direction, lat.tolerance, lat.effect, lat.weight, lat.critical, lat.nan], ['increase', 0.1, 'median', 1, true, 'remove']);
    assert.equal(err.critical, false);
    assert.deepEqual(env.canary!.steps[1], { judge: { window: '15m', wait: true } });
  });

  test('a judge step without canary.judge, or naming a metric it does not have, is refused', () => {
    expectIssue(doc({ judge: undefined }), 'environments[0].canary.steps[1].judge', /a judge step needs canary.judge/);
    expectIssue(doc({ steps: [{ setWeight: 10 }, { judge: { window: '5m', metrics: ['latency', 'cpu'] } }] }), 'environments[0].canary.steps[1].judge.metrics[1]', /unknown metric 'cpu' \(canary.judge.metrics has: latency, errors\)/);
  });

  test('a window too short for minSamples at the step is refused with the window that would do', () => {
    expectIssue(doc({ steps: [{ setWeight: 10 }, { judge: { window: '10m' } }] }), 'environments[0].canary.steps[1].judge.window', /a 10m window sampled every 15s gives 41 samples per side, fewer than the 50 metric 'latency' needs: make the window at least 12m15s/);
    // Proportion metrics count requests, not samples; a metric's own minSamples counts.
    parseSpec(doc({ steps: [{ setWeight: 10 }, { judge: { window: '1m', metrics: ['errors'] } }] }), 't.yaml');
    parseSpec(doc({ steps: [{ setWeight: 10 }, { judge: { window: '5m' } }], judge: judge({ metrics: [{ name: 'latency', query: LATENCY, minSamples: 20 }] }) }), 't.yaml');
  });

  test('both sides must set the same placeholders to different values, and every query must use one', () => {
    expectIssue(doc({ judge: judge({ baseline: { track: 'canary' } }) }), 'environments[0].canary.judge.baseline', /same values/);
    expectIssue(doc({ judge: judge({ baseline: { version: 'v1' } }) }), 'environments[0].canary.judge.baseline', /same placeholders/);
    expectIssue(doc({ judge: judge({ metrics: [{ name: 'cpu', query: 'sum(rate(cpu{pod=~"{{pod}}"}[1m]))' }] }) }), 'environments[0].canary.judge.metrics[0].query', /placeholder \{\{pod\}\} is not set by canary\/baseline \(they set: track\)/);
    expectIssue(doc({ judge: judge({ metrics: [{ name: 'cpu', query: 'sum(rate(cpu[1m]))' }] }) }), 'environments[0].canary.judge.metrics[0].query', /no placeholder/);
    expectIssue(doc({ judge: judge({ canary: { track: 'canary', window: '1m' }, baseline: { track: 'stable', window: '1m' } }) }), 'environments[0].canary.judge.canary.window', /set by Shipyard/);
  });

  test('a metric has exactly one of query or proportion; thresholds are ordered; marginal: approval needs approvers', () => {
    expectIssue(doc({ judge: judge({ metrics: [{ name: 'x', query: LATENCY, proportion: { errors: 'a{t="{{track}}"}', total: 'b{t="{{track}}"}' } }] }) }), 'environments[0].canary.judge.metrics[0]', /exactly one of query/);
    expectIssue(doc({ judge: judge({ thresholds: { pass: 70, marginal: 80 } }) }), 'environments[0].canary.judge.thresholds', /marginal must be <= pass/);
    expectIssue(doc({ judge: judge({ marginal: 'approval' }) }), 'environments[0].canary.judge.marginal', /add environments\[\]\.approval/);
    parseSpec(doc({ judge: judge({ marginal: 'approval' }) }, { approval: { approvers: ['alice'] } }), 't.yaml');
  });

  test('substitute fills every placeholder, spaces allowed, and leaves unknown ones', () => {
    assert.equal(substitute('a{track="{{track}}"}[{{ window }}] {{other}}', { track: 'canary', window: '600s' }), 'a{track="canary"}[600s] {{other}}');
  });
});
