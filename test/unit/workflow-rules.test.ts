// Pure rules the workflow applies: who may approve, how measurements are judged, deploy windows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateDecision } from '../../workflows/approval.js';
import { judge, MetricTally } from '../../workflows/analysis.js';
import { activeDenyWindow } from '../../workflows/policy.js';
import type { PendingApproval } from '../../workflows/types.js';
import type { MetricSpec, PolicySpec } from '../../spec/schema.js';
import { thresholdMetric } from '../helpers/specs.js';

const pending: PendingApproval = {
  gate: 'production/approval',
  environment: 'production',
  approvers: ['alice', 'bob'],
  required: 2,
  fourEyes: true,
  openedAt: '',
  timeoutAt: '',
  approvedBy: ['bob'],
};

describe('approval rules', () => {
  test('allowed approver passes', () => {
    assert.doesNotThrow(() => validateDecision(pending, { approver: 'alice' }, 'carol', 'approve'));
  });
  test('refusals say why', () => {
    assert.throws(() => validateDecision(null, { approver: 'alice' }, 'carol', 'approve'), /no approval is pending/);
    assert.throws(() => validateDecision(pending, { approver: 'eve' }, 'carol', 'approve'), /'eve' is not an approver/);
    assert.throws(() => validateDecision(pending, { approver: 'alice' }, 'alice', 'approve'), /four-eyes/);
    assert.throws(() => validateDecision(pending, { approver: 'bob' }, 'carol', 'approve'), /already approved/);
    assert.throws(() => validateDecision(pending, { approver: 'alice', gate: 'x' }, 'carol', 'approve'), /gate 'x' is not pending/);
    assert.throws(() => validateDecision(pending, { approver: '' }, 'carol', 'approve'), /Shipyard identity/);
    assert.throws(() => validateDecision(pending, { approver: 'alice; drop' }, 'carol', 'approve'), /Shipyard identity/);
    assert.throws(() => validateDecision(pending, { approver: 'alice', comment: 'x'.repeat(2001) }, 'carol', 'approve'), /at most 2000/);
    assert.throws(() => validateDecision(pending, undefined, 'carol', 'approve'), /Shipyard identity/);
  });
  test('the triggering person may reject (stop) their own release; outsiders may not', () => {
    assert.doesNotThrow(() => validateDecision({ ...pending, approvers: ['alice'] }, { approver: 'alice' }, 'alice', 'reject'));
    assert.throws(() => validateDecision(pending, { approver: 'eve' }, 'carol', 'reject'), /not an approver/);
  });
});

const metric = (over: Partial<MetricSpec> = {}): MetricSpec => thresholdMetric({ count: 3, failureLimit: 1, consecutiveErrorLimit: 2, inconclusive: 'fail', ...over });

describe('measurement judgement', () => {
  test('threshold ranges', () => {
    assert.equal(judge(metric(), 0.005), 'successful');
    assert.equal(judge(metric(), 0.02), 'failed');
    assert.equal(judge(metric({ thresholdRange: { min: 0.99 } }), 0.98), 'failed');
    assert.equal(judge(metric({ thresholdRange: { min: 1, max: 2 } }), 1.5), 'successful');
    assert.equal(judge(metric(), null), 'inconclusive');
  });
  test('failureLimit: fails on the failure after the limit', () => {
    const t = new MetricTally(metric());
    assert.equal(t.record('failed'), undefined);
    assert.match(t.record('failed') ?? '', /failed 2 time\(s\), limit 1/);
  });
  test('consecutive errors reset on a good measurement', () => {
    const t = new MetricTally(metric());
    t.record('error');
    t.record('error');
    assert.equal(t.record('successful'), undefined);
    t.record('error');
    t.record('error');
    assert.match(t.record('error') ?? '', /could not be measured 3 times in a row/);
  });
  test('inconclusive: fail, pass or ignore', () => {
    const fail = new MetricTally(metric({ failureLimit: 0 }));
    assert.ok(fail.record('inconclusive'));
    const pass = new MetricTally(metric({ failureLimit: 0, inconclusive: 'pass' }));
    assert.equal(pass.record('inconclusive'), undefined);
    const ignore = new MetricTally(metric({ failureLimit: 0, inconclusive: 'ignore' }));
    assert.equal(ignore.record('inconclusive'), undefined);
    assert.equal(ignore.failures, 0);
  });
  test('dry-run metrics never fail', () => {
    const t = new MetricTally(metric({ failureLimit: 0, dryRun: true }));
    assert.equal(t.record('failed'), undefined);
    assert.equal(t.record('failed'), undefined);
    assert.equal(t.failures, 2);
  });
});

describe('deploy windows', () => {
  const policy = (tz = 'UTC'): PolicySpec => ({
    onDenyWindow: 'wait',
    environments: {},
    denyWindows: [{ cron: '0 22 * * *', duration: '8h', timezone: tz, reason: 'night freeze' }],
  });
  test('inside the night freeze: ends at 06:00', () => {
    const hit = activeDenyWindow(policy(), new Date('2026-11-21T23:30:00Z'));
    assert.equal(hit?.endsAt.toISOString(), '2026-11-22T06:00:00.000Z');
    assert.equal(hit?.window.reason, 'night freeze');
  });
  test('after midnight still inside, at 06:00 outside, at 22:00 sharp inside', () => {
    assert.ok(activeDenyWindow(policy(), new Date('2026-11-22T05:59:59Z')));
    assert.equal(activeDenyWindow(policy(), new Date('2026-11-22T06:00:00Z')), null);
    assert.ok(activeDenyWindow(policy(), new Date('2026-11-22T22:00:00Z')));
    assert.equal(activeDenyWindow(policy(), new Date('2026-11-22T12:00:00Z')), null);
  });
  test('time zones: 22:00 in Shanghai is 14:00 UTC', () => {
    const hit = activeDenyWindow(policy('Asia/Shanghai'), new Date('2026-11-21T15:00:00Z'));
    assert.equal(hit?.openedAt.toISOString(), '2026-11-21T14:00:00.000Z');
  });
  test('overlapping windows: the one closing last wins', () => {
    const p: PolicySpec = {
      onDenyWindow: 'wait',
      environments: {},
      denyWindows: [
        { cron: '0 22 * * *', duration: '8h', timezone: 'UTC', reason: 'night' },
        { cron: '0 20 * * 6', duration: '2d', timezone: 'UTC', reason: 'weekend' },
      ],
    };
    const hit = activeDenyWindow(p, new Date('2026-11-21T23:00:00Z')); // a Saturday
    assert.equal(hit?.window.reason, 'weekend');
  });
});
