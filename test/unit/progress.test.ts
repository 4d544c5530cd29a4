// --wait progress in the order things happened, from the timestamps in the status; `shipyard status`
// durations and leases; `shipyard list` columns. Pure functions over hand-built status objects.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, orderedEvents, ProgressPrinter } from '../../client/progress.js';
import { formatList, formatStatus } from '../../client/format.js';
import { rowOutcome } from '../../client/list.js';
import type { LeaseView } from '../../client/leases.js';
import type { ReleaseStatus } from '../../workflows/types.js';
import { releaseStatus } from '../helpers/status.js';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
/** Seconds after T0, as the ISO string the workflow records. */
const t = (s: number) => new Date(T0 + s * 1000).toISOString();

function base(over: Partial<ReleaseStatus> = {}): ReleaseStatus {
  return releaseStatus({
    releaseId: 'release/pay/all/0123456789abcdef0123456789abcdef01234567',
    service: 'pay',
    stage: 'canary',
    environment: 'production',
    outcome: 'running',
    startedAt: t(0),
    ...over,
  });
}

const metric = (at: number, value: number) => ({
  environment: 'production',
  metric: 'error-rate',
  analysis: 'steps[2]',
  at: t(at),
  value,
  phase: 'successful' as const,
  dryRun: false,
});

/** A canary that reached 100% and was promoted, as one poll sees it when it comes late. */
function promoted(withHistory: boolean): ReleaseStatus {
  return base({
    stage: 'promote',
    stages: [
      { stage: 'deploy', environment: 'production', startedAt: t(0), endedAt: t(2), result: 'ok', detail: 'helm revision 3' },
      { stage: 'canary', environment: 'production', startedAt: t(2), endedAt: t(20) , result: 'ok' },
      { stage: 'promote', environment: 'production', startedAt: t(20) },
    ],
    canary: { environment: 'production', step: 4, steps: 5, weight: 100, description: 'setWeight 100' },
    ...(withHistory
      ? {
          canaryHistory: [
            { at: t(3), environment: 'production', step: 0, weight: 10, description: 'setWeight 10' },
            { at: t(12), environment: 'production', step: 3, weight: 50, description: 'setWeight 50' },
            { at: t(20), environment: 'production', step: 4, weight: 100, description: 'setWeight 100' },
          ],
        }
      : {}),
    // The last measurement of step 2 was taken before the weight went to 50%.
    metrics: [metric(6, 0), metric(11, 0.001)],
  });
}

const text = (events: { lines: string[] }[]) => events.flatMap((e) => e.lines);

describe('progress order', () => {
  test('weights, measurements and stages print in the order they happened', () => {
    const lines = text(orderedEvents(promoted(true)));
    assert.deepEqual(lines, [
      'deploy (production)',
      'deploy (production) ok in 2.0s - helm revision 3',
      'canary (production)',
      'canary production: weight 10% (step 1/5: setWeight 10)',
      '  metric error-rate = 0 -> successful',
      '  metric error-rate = 0.001 -> successful',
      'canary production: weight 50% (step 4/5: setWeight 50)',
      // Same instant (one workflow task): the weight, then the canary stage ends, then promote starts.
      'canary production: weight 100% (step 5/5: setWeight 100)',
      'canary (production) ok in 18s',
      'promote (production)',
    ]);
  });

  test('without canaryHistory (older releases) the current weight still comes after the step before and before promote', () => {
    const lines = text(orderedEvents(promoted(false)));
    const at = (needle: string) => lines.findIndex((l) => l.includes(needle));
    assert.ok(at('weight 100%') > at('= 0.001'), lines.join('\n'));
    assert.ok(at('weight 100%') < at('promote (production)'), lines.join('\n'));
    assert.ok(at('weight 100%') < at('canary (production) ok'), lines.join('\n'));
  });

  test('the printer prints new facts sorted by time and never twice, with the time they happened', () => {
    const out: string[] = [];
    const printer = new ProgressPrinter((l) => out.push(l));
    // First poll: canary at 10% and one measurement.
    const first = promoted(true);
    first.stage = 'canary';
    first.stages = first.stages.slice(0, 2).map((s) => (s.stage === 'canary' ? { ...s, endedAt: undefined, result: undefined } : s));
    first.canaryHistory = first.canaryHistory!.slice(0, 1);
    first.metrics = first.metrics.slice(0, 1);
    printer.update(first);
    printer.update(first);
    const afterFirst = out.length;
    assert.equal(afterFirst, 5);
    // The late poll sees the rest at once: printed in time order after what was already there.
    printer.update(promoted(true));
    printer.update(promoted(true));
    assert.deepEqual(out.slice(afterFirst), [
      '[10:00:11]   metric error-rate = 0.001 -> successful',
      '[10:00:12] canary production: weight 50% (step 4/5: setWeight 50)',
      '[10:00:20] canary production: weight 100% (step 5/5: setWeight 100)',
      '[10:00:20] canary (production) ok in 18s',
      '[10:00:20] promote (production)',
    ]);
    assert.equal(new Set(out).size, out.length, 'nothing printed twice');
  });

  test('bounded lists: a measurement that replaced an old one is still new', () => {
    const out: string[] = [];
    const printer = new ProgressPrinter((l) => out.push(l));
    printer.update(base({ metrics: [metric(1, 0), metric(2, 0)] }));
    // The workflow keeps the latest N: the oldest fell off, the count is unchanged.
    printer.update(base({ metrics: [metric(2, 0), metric(3, 0.5)] }));
    assert.deepEqual(out, ['[10:00:01]   metric error-rate = 0 -> successful', '[10:00:02]   metric error-rate = 0 -> successful', '[10:00:03]   metric error-rate = 0.5 -> successful']);
  });

  test('a decision closes its gate before the next stage; undo lines come inside compensating, newest first', () => {
    const s = base({
      outcome: 'rolled-back',
      stages: [
        { stage: 'deploy', environment: 'staging', startedAt: t(0), endedAt: t(1), result: 'ok' },
        { stage: 'approval', environment: 'production', startedAt: t(1), endedAt: t(5), result: 'ok' },
        { stage: 'deploy', environment: 'production', startedAt: t(5), endedAt: t(7), result: 'failed', detail: 'helm: timed out' },
        { stage: 'compensating', environment: 'production', startedAt: t(7), endedAt: t(9), result: 'ok' },
        { stage: 'done', startedAt: t(9), endedAt: t(9), result: 'failed' },
      ],
      approvals: { pending: null, decisions: [{ gate: 'production/approval', decision: 'approved', approver: 'alice', at: t(5) }] },
      compensation: [
        { id: 1, description: 'helm rollback staging', environment: 'staging', status: 'done' },
        { id: 2, description: 'helm rollback production', environment: 'production', status: 'failed', error: 'no revision' },
      ],
    });
    assert.deepEqual(text(orderedEvents(s)), [
      'deploy (staging)',
      'deploy (staging) ok in 1.0s',
      'approval (production)',
      'production/approval approved by alice',
      'approval (production) ok in 4.0s',
      'deploy (production)',
      'deploy (production) failed in 2.0s - helm: timed out',
      'compensating (production)',
      '  undo failed: helm rollback production (no revision)',
      '  undo done: helm rollback staging',
      'compensating (production) ok in 2.0s',
    ]);
  });

  test('a pending gate opens after its stage starts; pause and resume are printed', () => {
    const out: string[] = [];
    const printer = new ProgressPrinter((l) => out.push(l));
    const pending = {
      gate: 'production/approval',
      environment: 'production',
      approvers: ['alice'],
      required: 1,
      fourEyes: false,
      openedAt: t(1),
      timeoutAt: t(3601),
      approvedBy: [],
    };
    const stages = [{ stage: 'approval' as const, environment: 'production', startedAt: t(1) }];
    printer.update(base({ stages, approvals: { pending, decisions: [] }, paused: { by: 'ops', at: t(2) } }));
    printer.update(base({ stages, approvals: { pending, decisions: [] }, paused: null }));
    assert.deepEqual(out, [
      '[10:00:01] approval (production)',
      '[10:00:01] waiting for approval production/approval: 1 of alice until 2025-03-01T11:00:01.000Z',
      `[10:00:01]   shipyard approve ${base().releaseId} --as <approver>   |   shipyard reject ${base().releaseId} --as <approver>`,
      '[10:00:02] paused by ops',
      '[10:00:02] resumed',
    ]);
  });

  test('one instant, many stages: a zero-length stage starts before it ends, and before the next starts', () => {
    const s = base({
      stages: [
        { stage: 'health', environment: 'staging', startedAt: t(1), endedAt: t(2), result: 'ok' },
        { stage: 'promote', environment: 'staging', startedAt: t(2), endedAt: t(2), result: 'ok' },
        { stage: 'deploy', environment: 'production', startedAt: t(2), endedAt: t(3), result: 'ok' },
        { stage: 'health', environment: 'production', startedAt: t(3), endedAt: t(3), result: 'ok' },
        { stage: 'canary', environment: 'production', startedAt: t(3) },
      ],
      // No canaryHistory (older workflow): the current weight goes after what is known of the canary.
      canary: { environment: 'production', step: 0, steps: 5, weight: 10, description: 'setWeight 10' },
    });
    assert.deepEqual(text(orderedEvents(s)), [
      'health (staging)',
      'health (staging) ok in 1.0s',
      'promote (staging)',
      'promote (staging) ok in 0.0s',
      'deploy (production)',
      'deploy (production) ok in 1.0s',
      'health (production)',
      'health (production) ok in 0.0s',
      'canary (production)',
      'canary production: weight 10% (step 1/5: setWeight 10)',
    ]);
  });

  test('a gate opening as the stage before ends waits in its own stage', () => {
    const pending = { gate: 'production/approval', environment: 'production', approvers: ['a'], required: 1, fourEyes: false, openedAt: t(2), timeoutAt: t(60), approvedBy: [] };
    const s = base({
      stages: [
        { stage: 'deploy', environment: 'staging', startedAt: t(0), endedAt: t(2), result: 'ok' },
        { stage: 'approval', environment: 'production', startedAt: t(2) },
      ],
      approvals: { pending, decisions: [] },
    });
    assert.deepEqual(text(orderedEvents(s)).slice(0, 4), ['deploy (staging)', 'deploy (staging) ok in 2.0s', 'approval (production)', 'waiting for approval production/approval: 1 of a until 2025-03-01T10:01:00.000Z']);
  });

  test('a lease wait is a progress line', () => {
    const s = base({
      stage: 'queued',
      stages: [{ stage: 'queued', environment: 'production', startedAt: t(0) }],
      leases: { production: { key: 'pay/production', state: 'waiting', since: t(0) } },
    });
    assert.deepEqual(text(orderedEvents(s)), ['queued (production)', 'queued for the production lease (another release of pay holds it)']);
  });
});

describe('status and list views', () => {
  test('durations', () => {
    assert.equal(formatDuration(400), '0.4s');
    assert.equal(formatDuration(12_300), '12s');
    assert.equal(formatDuration(65_000), '1m05s');
    assert.equal(formatDuration(2 * 3600_000 + 3 * 60_000), '2h03m');
    assert.equal(formatDuration(26 * 3600_000), '1d02h');
  });

  test('status shows each stage duration, running ones as running for, and the lease holder and queue', () => {
    const s = base({
      stage: 'queued',
      stages: [
        { stage: 'build', startedAt: t(0), endedAt: t(75), result: 'ok' },
        { stage: 'deploy', environment: 'staging', startedAt: t(75), endedAt: t(78), result: 'ok', detail: 'helm revision 1' },
        { stage: 'queued', environment: 'production', startedAt: t(78) },
      ],
      leases: { production: { key: 'pay/production', state: 'waiting', since: t(78) }, staging: { key: 'pay/staging', state: 'released', since: t(75) } },
    });
    const me = { releaseId: s.releaseId, runId: 'r-me', since: t(78), concurrency: 'queue' as const };
    const leases: Record<string, LeaseView> = {
      production: {
        key: 'pay/production',
        state: 'waiting',
        since: t(78),
        workflowId: 'shipyard/lease/pay/production',
        read: 'read',
        holder: { releaseId: 'release/pay/all/aaaa', runId: 'run-holder-1234', since: t(-30), concurrency: 'queue' },
        queue: [{ releaseId: 'release/pay/all/bbbb', runId: 'r-b', since: t(50), concurrency: 'queue' }, me],
        position: 2,
      },
      staging: { key: 'pay/staging', state: 'released', since: t(75), workflowId: 'shipyard/lease/pay/staging', read: 'not-read', holder: null, queue: [] },
    };
    const out = formatStatus(s, 'http://ui', leases, T0 + 138_000);
    assert.match(out, /ok\s+build  \(1m15s\)/);
    assert.match(out, /ok\s+deploy \(staging\) - helm revision 1  \(3\.0s\)/);
    assert.match(out, /running\s+queued \(production\)  \(running for 1m00s\)/);
    assert.match(out, /leases\n  production\s+waiting since 2025-03-01T10:01:18.000Z - 2nd in the queue\n\s+holder release\/pay\/all\/aaaa \(run run-hold, since 2025-03-01T09:59:30.000Z\)\n\s+queue  1\. release\/pay\/all\/bbbb \(queue, since .*\)\n\s+2\. release\/pay\/all\/0123/);
    assert.match(out, /  staging\s+released since 2025-03-01T10:01:15.000Z\n/);
    const none = formatStatus(s, 'http://ui', { production: { ...leases.production, read: 'no-lease', holder: null, queue: [], position: undefined } }, T0);
    assert.match(none, /production\s+waiting since .* - no lease \(no running shipyard\/lease\/pay\/production\)/);
  });

  test('status lists generated canary objects: created, kept, and removed after promotion', () => {
    const s = base({
      plumbing: [
        { environment: 'production', kind: 'Deployment', namespace: 'prod', name: 'pay-canary', uid: 'u1', action: 'created', removed: true },
        { environment: 'production', kind: 'Service', namespace: 'prod', name: 'pay-canary', uid: 'u2', action: 'created' },
        { environment: 'production', kind: 'VirtualService', namespace: 'prod', name: 'pay', uid: 'u3', action: 'kept' },
      ],
    });
    assert.match(formatStatus(s, 'http://ui', {}, T0), /\ngenerated\n  removed   Deployment prod\/pay-canary \(production\)\n  created   Service prod\/pay-canary \(production\)\n  kept      VirtualService prod\/pay \(production\)\n/);
    assert.doesNotMatch(formatStatus(base({}), 'http://ui', {}, T0), /generated/);
  });

  test('status lists each cluster of a multi-cluster environment; undos name their cluster', () => {
    const s = base({
      clusters: [
        { environment: 'production', cluster: 'eu-1', wave: 1, stage: 'promote', outcome: 'rolled-back', canaryWeight: 0 },
        { environment: 'production', cluster: 'us-1', wave: 2, stage: 'health', outcome: 'rolled-back', detail: 'us-1 never became ready' },
      ],
      compensation: [{ id: 1, description: 'helm rollback pay 3 (namespace prod)', environment: 'production@eu-1', status: 'done' }],
    });
    const out = formatStatus(s, 'http://ui', {}, T0);
    assert.match(out, /\nclusters\n  rolled-back production@eu-1 wave 1, promote, canary 0%\n  rolled-back production@us-1 wave 2, health - us-1 never became ready\n/);
    assert.match(out, /\n  done      helm rollback pay 3 \(namespace prod\) \[production@eu-1\]\n/);
    assert.doesNotMatch(formatStatus(base({}), 'http://ui', {}, T0), /clusters/);
  });

  test('list: waiting releases show queued, the outcome column tells rolled-back from failed and names the failure type', () => {
    assert.equal(rowOutcome('TERMINATED', 'running'), 'terminated');
    assert.equal(rowOutcome('FAILED', 'rolled-back'), 'rolled-back');
    assert.equal(rowOutcome('RUNNING', undefined), 'running');
    const out = formatList([
      { releaseId: 'release/a/all/1', status: 'RUNNING', stage: 'queued', outcome: 'running', version: 'v1', startTime: t(0) },
      { releaseId: 'release/a/all/2', status: 'FAILED', stage: 'done', outcome: 'rolled-back', failureType: 'HealthCheckFailed', version: 'v2', startTime: t(1) },
      { releaseId: 'release/a/all/3', status: 'FAILED', stage: 'done', outcome: 'failed', failureType: 'BuildFailed', version: 'v3', startTime: t(2) },
    ]).split('\n');
    assert.match(out[0], /^RELEASE\s+STATE\s+STAGE\s+OUTCOME\s+VERSION\s+STARTED$/);
    assert.match(out[1], /^release\/a\/all\/1\s+running\s+queued\s+running\s+v1/);
    assert.match(out[2], /failed\s+done\s+rolled-back \(HealthCheckFailed\)\s+v2/);
    assert.match(out[3], /failed\s+done\s+failed \(BuildFailed\)\s+v3/);
  });
});
