// DORA metrics (client/dora.ts): records from statuses, and the four metrics per (service, environment),
// each expectation computed by hand in the comments next to it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDora, doraRecordOf, windowOf, type DoraRecord } from '../../client/dora.js';
import type { ReleaseStatus, StageRecord } from '../../workflows/types.js';
import { releaseStatus } from '../helpers/status.js';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const H = 3_600_000;
const at = (hours: number) => new Date(T0 + hours * H).toISOString();
/** A 10-day window: [T0, T0 + 240 h]. */
const WINDOW = { from: at(0), to: at(240), days: 10 };

function status(over: Partial<ReleaseStatus> & { stages: StageRecord[] }): ReleaseStatus {
  return releaseStatus({
    releaseId: 'release/api/all/c',
    service: 'api',
    commit: 'c'.repeat(40),
    trigger: { kind: 'webhook', by: 'alice' },
    startedAt: at(0),
    ...over,
  });
}

const stage = (s: StageRecord['stage'], environment: string | undefined, start: number, end: number, result: StageRecord['result'] = 'ok'): StageRecord => ({
  stage: s,
  environment,
  startedAt: at(start),
  endedAt: at(end),
  result,
});

/** A release of `service` that touched each environment as given (hours from T0). */
function rec(id: string, outcome: string, endedAt: number, envs: { name: string; deployed?: number; promoted?: number }[], extra: Partial<DoraRecord> = {}): DoraRecord {
  return {
    releaseId: id,
    service: 'api',
    outcome,
    startedAt: at(endedAt - 1),
    endedAt: at(endedAt),
    environments: envs.map((e) => ({ name: e.name, ...(e.deployed !== undefined ? { deployedAt: at(e.deployed) } : {}), ...(e.promoted !== undefined ? { promotedAt: at(e.promoted) } : {}) })),
    ...extra,
  };
}

describe('doraRecordOf', () => {
  test('deployedAt is the deploy stage start, promotedAt the ok promote end, per environment', () => {
    const s = status({
      trigger: { kind: 'webhook', by: 'alice', commitTime: at(-5) },
      endedAt: at(3),
      stages: [
        stage('build', undefined, 0, 0.1),
        stage('deploy', 'staging', 0.2, 0.3),
        stage('health', 'staging', 0.3, 0.4),
        stage('promote', 'staging', 0.4, 0.5),
        stage('approval', 'production', 0.5, 1),
        stage('deploy', 'production', 1, 1.1),
        stage('canary', 'production', 1.2, 2),
        stage('promote', 'production', 2, 2.5),
        stage('done', undefined, 3, 3),
      ],
    });
    assert.deepEqual(doraRecordOf(s, 'succeeded'), {
      releaseId: 'release/api/all/c',
      service: 'api',
      outcome: 'succeeded',
      startedAt: at(0),
      endedAt: at(3),
      commitTime: at(-5),
      environments: [
        { name: 'staging', deployedAt: at(0.2), promotedAt: at(0.5) },
        { name: 'production', deployedAt: at(1), promotedAt: at(2.5) },
      ],
    });
  });

  test('a failed promote is no promotion; the error environment is kept; no commitTime, no field', () => {
    const s = status({
      outcome: 'rolled-back',
      endedAt: at(4),
      error: { stage: 'promote', environment: 'production', type: 'HelmFailed', message: 'x' },
      stages: [stage('deploy', 'staging', 0, 0.1), stage('promote', 'staging', 0.2, 0.3), stage('deploy', 'production', 1, 1.1), stage('promote', 'production', 2, 2.5, 'failed'), stage('compensating', 'production', 2.5, 3.5)],
    });
    const r = doraRecordOf(s, 'rolled-back');
    assert.equal(r.commitTime, undefined);
    assert.equal('commitTime' in r, false);
    assert.equal(r.errorEnvironment, 'production');
    assert.deepEqual(r.environments, [
      { name: 'staging', deployedAt: at(0), promotedAt: at(0.3) },
      { name: 'production', deployedAt: at(1) },
    ]);
  });

  test('waves: production@eu-1 and @us-1 are production: first deploy, last promote; the error loses its cluster', () => {
    const s = status({
      environments: ['production'],
      endedAt: at(9),
      error: { stage: 'canary', environment: 'production@us-1', type: 'AnalysisFailed', message: 'x' },
      stages: [
        stage('approval', 'production', 0, 0.5),
        stage('deploy', 'production@eu-1', 1, 1.2),
        stage('promote', 'production@eu-1', 2, 3),
        stage('deploy', 'production@us-1', 4, 4.5),
        stage('promote', 'production@us-1', 5, 6),
      ],
    });
    const r = doraRecordOf(s, 'failed');
    assert.deepEqual(r.environments, [{ name: 'production', deployedAt: at(1), promotedAt: at(6) }]);
    assert.equal(r.errorEnvironment, 'production');
  });

  test('without a deploy record (trimmed), the first health/canary/promote record stands for it; no endedAt: the last stage end', () => {
    const s = status({ environments: ['production'], stages: [stage('health', 'production@eu-1', 2, 3), stage('promote', 'production@eu-1', 3, 4, 'cancelled')] });
    const r = doraRecordOf(s, 'aborted');
    assert.deepEqual(r.environments, [{ name: 'production', deployedAt: at(2) }]);
    assert.equal(r.endedAt, at(4));
  });
});

describe('computeDora', () => {
  test('success, fail, fail, success: 2 deployments, CFR 2/4, one streak restored after 30 h', () => {
    const records = [
      rec('r1', 'succeeded', 10, [{ name: 'production', deployed: 9, promoted: 10 }], { commitTime: at(8) }), // lead 2 h
      rec('r2', 'rolled-back', 20, [{ name: 'production', deployed: 19 }], { errorEnvironment: 'production' }), // streak starts at 20
      rec('r3', 'failed', 30, [{ name: 'production', deployed: 29 }]), // error environment unknown: counted
      rec('r4', 'succeeded', 50, [{ name: 'production', deployed: 45, promoted: 50 }], { commitTime: at(40) }), // restores at 50; lead 10 h
    ];
    const [row, ...rest] = computeDora(records, WINDOW);
    assert.equal(rest.length, 0);
    assert.deepEqual(row, {
      service: 'api',
      environment: 'production',
      window: WINDOW,
      deployments: 2,
      deploymentsPerDay: 0.2, // 2 / 10 days
      // leads [2 h, 10 h]: median 6 h = 21600 s; p90 (linear, numpy's default): index (2-1)×0.9 = 0.9
      // -> 2 h + 0.9 × 8 h = 9.2 h = 33120 s
      leadTime: { medianSeconds: 21_600, p90Seconds: 33_120, measured: 2, missingCommitTime: 0 },
      changeFailureRate: 0.5,
      failedChanges: 2,
      changes: 4,
      // from r2's end (20 h) to r4's promotion (50 h): 30 h
      timeToRestore: { medianSeconds: 108_000, restored: 1 },
    });
  });

  test('lead time median and p90 with a missing commitTime: n of m', () => {
    const lead = (id: string, promoted: number, hours?: number) =>
      rec(id, 'succeeded', promoted, [{ name: 'staging', deployed: promoted - 1, promoted }], hours === undefined ? {} : { commitTime: at(promoted - hours) });
    const records = [lead('a', 10, 1), lead('b', 20, 3), lead('c', 30), lead('d', 40, 2), lead('e', 50, 10)];
    const [row] = computeDora(records, WINDOW);
    // sorted leads [1, 2, 3, 10] h: median (2+3)/2 = 2.5 h = 9000 s; p90: index 3 × 0.9 = 2.7 -> 3 h + 0.7 × 7 h
    // = 7.9 h = 28440 s
    assert.deepEqual(row.leadTime, { medianSeconds: 9000, p90Seconds: 28_440, measured: 4, missingCommitTime: 1 });
    assert.equal(row.deployments, 5);
    assert.equal(row.deploymentsPerDay, 0.5);
    assert.equal(row.changeFailureRate, 0);
    assert.deepEqual(row.timeToRestore, { medianSeconds: null, restored: 0 });
  });

  test('a failure in production is not counted for staging; staging of a release that failed later is not a deployment', () => {
    const records = [
      // Promoted in staging, then rolled back in production: a failed change of production only.
      rec('r1', 'rolled-back', 20, [{ name: 'staging', deployed: 10, promoted: 11 }, { name: 'production', deployed: 15 }], { errorEnvironment: 'production' }),
      rec('r2', 'succeeded', 40, [{ name: 'staging', deployed: 30, promoted: 31 }, { name: 'production', deployed: 35, promoted: 40 }]),
    ];
    const rows = computeDora(records, WINDOW);
    assert.deepEqual(rows.map((r) => [r.environment, r.deployments, r.failedChanges, r.changeFailureRate, r.timeToRestore.restored]), [
      ['production', 1, 1, 0.5, 1],
      // staging: r1 touched it (a row) but neither deployed nor failed there
      ['staging', 1, 0, 0, 0],
    ]);
    assert.equal(rows[0].timeToRestore.medianSeconds, 20 * 3600); // 20 h -> 40 h
  });

  test('a failure in staging is not one of production (never reached there)', () => {
    const rows = computeDora([rec('r1', 'failed', 5, [{ name: 'staging', deployed: 1 }, { name: 'production' }], { errorEnvironment: 'staging' })], WINDOW);
    assert.deepEqual(rows.map((r) => [r.environment, r.failedChanges]), [['staging', 1]]);
    assert.equal(rows[0].timeToRestore.openSince, at(5), 'never restored: open since the failure');
    assert.equal(rows[0].timeToRestore.medianSeconds, null);
  });

  test('rejected, aborted-before-deploy and build-only releases count for nothing and make no row', () => {
    const records = [
      rec('r1', 'rejected', 5, [{ name: 'production' }]),
      rec('r2', 'aborted', 6, [{ name: 'staging' }]),
      rec('r3', 'failed', 7, []),
      rec('r4', 'failed', 8, [{ name: 'staging' }], { errorEnvironment: 'staging' }), // failed before deploying (policy, build)
    ];
    assert.deepEqual(computeDora(records, WINDOW), []);
  });

  test('aborted after deploying: a row (touched) without changes; CFR null', () => {
    const [row] = computeDora([rec('r1', 'aborted', 5, [{ name: 'production', deployed: 2 }], { errorEnvironment: 'production' })], WINDOW);
    assert.equal(row.changes, 0);
    assert.equal(row.changeFailureRate, null);
    assert.equal(row.timeToRestore.openSince, undefined);
  });

  test('window boundaries: from and to are inside; before and after are not', () => {
    const records = [
      rec('before', 'succeeded', -1, [{ name: 'production', deployed: -2, promoted: -0.5 }]),
      rec('onFrom', 'succeeded', 1, [{ name: 'production', deployed: -1, promoted: 0 }]), // promoted at from: in
      rec('onTo', 'succeeded', 240, [{ name: 'production', deployed: 239, promoted: 240 }]), // promoted at to: in
      rec('after', 'succeeded', 241, [{ name: 'production', deployed: 240.5, promoted: 241 }]),
      rec('failAfter', 'failed', 250, [{ name: 'production', deployed: 245 }]),
    ];
    const [row] = computeDora(records, WINDOW);
    assert.equal(row.deployments, 2);
    assert.equal(row.failedChanges, 0);
    assert.equal(row.timeToRestore.openSince, undefined, 'a failure after the window opens no incident in it');
  });

  test('a streak begun before the window and restored in it counts; one restored before it does not', () => {
    const records = [
      rec('f0', 'failed', -30, [{ name: 'production', deployed: -31 }]),
      rec('d0', 'succeeded', -20, [{ name: 'production', deployed: -21, promoted: -20 }]), // restores f0 before the window
      rec('f1', 'failed', -10, [{ name: 'production', deployed: -11 }]),
      rec('f2', 'failed', 5, [{ name: 'production', deployed: 4 }]), // same streak as f1
      rec('d1', 'succeeded', 14, [{ name: 'production', deployed: 12, promoted: 14 }]), // restores f1 (-10 -> 14 = 24 h)
      rec('f3', 'rolled-back', 100, [{ name: 'production', deployed: 99 }]),
      rec('d2', 'succeeded', 101, [{ name: 'production', deployed: 100, promoted: 101 }]), // 1 h
      rec('d3', 'succeeded', 110, [{ name: 'production', deployed: 109, promoted: 110 }]), // no streak
      rec('f4', 'failed', 200, [{ name: 'production', deployed: 199 }]), // open
      rec('f5', 'failed', 210, [{ name: 'production', deployed: 209 }]),
    ];
    const [row] = computeDora(records, WINDOW);
    // in window: deployments d1, d2, d3; failed changes f2, f3, f4, f5
    assert.equal(row.deployments, 3);
    assert.equal(row.failedChanges, 4);
    assert.equal(row.changes, 7);
    assert.equal(row.changeFailureRate, 4 / 7);
    // restored in window: 24 h and 1 h -> median 12.5 h = 45000 s
    assert.deepEqual(row.timeToRestore, { medianSeconds: 45_000, restored: 2, openSince: at(200) });
  });

  test('rows per service and environment, sorted; filters by service and environment', () => {
    const web = (id: string, env: string, t: number): DoraRecord => ({ ...rec(id, 'succeeded', t, [{ name: env, deployed: t - 1, promoted: t }]), service: 'web' });
    const records = [web('w1', 'staging', 5), rec('a1', 'succeeded', 6, [{ name: 'staging', deployed: 5, promoted: 6 }]), web('w2', 'production', 7), rec('a2', 'succeeded', 8, [{ name: 'production', deployed: 7, promoted: 8 }])];
    assert.deepEqual(computeDora(records, WINDOW).map((r) => `${r.service}/${r.environment}`), ['api/production', 'api/staging', 'web/production', 'web/staging']);
    assert.deepEqual(computeDora(records, WINDOW, { service: 'web' }).map((r) => `${r.service}/${r.environment}`), ['web/production', 'web/staging']);
    assert.deepEqual(computeDora(records, WINDOW, { environment: 'staging' }).map((r) => `${r.service}/${r.environment}`), ['api/staging', 'web/staging']);
  });

  test('a commit time after its promotion (skewed clock) is a lead time of 0, not negative', () => {
    const [row] = computeDora([rec('r', 'succeeded', 10, [{ name: 'production', deployed: 9, promoted: 10 }], { commitTime: at(11) })], WINDOW);
    assert.equal(row.leadTime.medianSeconds, 0);
  });

  test('windowOf: ends now, days long; refuses a non-positive window', () => {
    assert.deepEqual(windowOf(7, new Date(at(240))), { from: at(72), to: at(240), days: 7 });
    assert.throws(() => windowOf(0), /positive number of days/);
  });
});
