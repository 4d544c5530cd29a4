// releaseWorkflow on the real dev server, with MOCKED activities (FakeWorld): the stage machine,
// compensation order, approvals, abort, pause/resume, search attributes and history.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRepo } from '../helpers/git.js';
import { SA } from '../../workflows/search-attributes.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { ERROR_RATE, TWO_ENV_EFFECTS, twoEnvSpec } from '../helpers/specs.js';
import { acceptedUpdates, eventTypes, historyOf, scheduledActivities, startRelease, waitForStatus } from '../helpers/release.js';
import { connectClient, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

async function release(world: FakeWorld, spec = twoEnvSpec({ service: uniqueName('svc') }), trigger = 'carol') {
  const queues = uniqueQueues();
  return withWorkers(queues, world.activities(), async () => {
    const started = await startRelease(ctx.shipyard, queues, spec, { trigger: { kind: 'cli', by: trigger } });
    const final = await ctx.shipyard.wait(started.releaseId, undefined, 200);
    return { started, final, status: final.status! };
  });
}

describe('release paths (mocked activities)', () => {
  test('happy path: two environments and a 3-step canary end succeeded, side effects in order', async () => {
    const world = new FakeWorld();
    const { started, final, status } = await release(world);
    assert.equal(final.outcome, 'succeeded', final.message);
    assert.deepEqual(world.effects(), TWO_ENV_EFFECTS);
    assert.deepEqual(
      world.calls.filter((c) => c.name === 'setTrafficWeight').map((c) => c.detail),
      [10, 50, 100],
    );
    assert.deepEqual(
      status.stages.map((s) => `${s.stage}${s.environment ? `@${s.environment}` : ''}:${s.result}`),
      [
        'build:ok',
        'images:ok',
        'deploy@staging:ok',
        'health@staging:ok',
        'promote@staging:ok',
        'deploy@production:ok',
        'health@production:ok',
        'canary@production:ok',
        'promote@production:ok',
        'done:ok',
      ],
    );
    assert.equal(status.canary?.weight, 0, 'promotion leaves canary weight 0');
    assert.equal(status.metrics.length, 2, 'analysis measured error-rate count=2 times');
    assert.ok(status.metrics.every((m) => m.phase === 'successful'));
    assert.ok(status.compensation.every((c) => c.status === 'committed'), 'nothing undone after success');
    assert.equal(status.image?.digest, `sha256:${'a'.repeat(64)}`);
    assert.deepEqual(status.build?.artifacts.map((a) => a.target), ['linux/amd64', 'linux/arm64']);
    // Search attributes the UI filters on.
    const d = await ctx.client.workflow.getHandle(started.releaseId).describe();
    assert.equal(d.typedSearchAttributes.get(SA.outcome), 'succeeded');
    assert.equal(d.typedSearchAttributes.get(SA.stage), 'done');
    assert.equal(d.typedSearchAttributes.get(SA.environment), 'production');
    assert.equal(d.typedSearchAttributes.get(SA.version), 'v1.2.3');
    assert.equal(d.typedSearchAttributes.get(SA.canaryWeight), 0);
    assert.equal(d.typedSearchAttributes.get(SA.trigger), 'cli');
    // History: the pause is a durable timer, the stage changes are search attribute upserts.
    const events = await historyOf(ctx.shipyard, started.releaseId);
    const types = eventTypes(events);
    assert.ok(types.includes('TIMER_STARTED'), 'pause step is a timer');
    assert.ok(types.filter((t) => t === 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES').length >= 10);
    // Notifications: each release event once, with distinct idempotency keys.
    assert.deepEqual(world.notifications.map((n) => n.event), ['started', 'deployed', 'deployed', 'canary-step', 'canary-step', 'canary-step', 'succeeded']);
    assert.equal(new Set(world.notifications.map((n) => n.key)).size, 7);
  });

  const failureCases: { name: string; inject: (w: FakeWorld) => void; scope?: 'release'; outcome: string; undo: string[]; stage: string }[] = [
    { name: 'build', inject: (w) => w.fail('buildTarget', 'compile error for linux/arm64'), outcome: 'failed', undo: [], stage: 'build' },
    { name: 'images', inject: (w) => w.fail('publishImage'), outcome: 'failed', undo: [], stage: 'images' },
    { name: 'staging deploy', inject: (w) => w.fail('helmDeploy', 'UPGRADE FAILED', { environment: 'staging' }), outcome: 'rolled-back', undo: ['helmRollback@staging'], stage: 'deploy' },
    { name: 'staging health', inject: (w) => w.fail('checkHealth', 'progress deadline exceeded', { environment: 'staging' }), outcome: 'rolled-back', undo: ['helmRollback@staging'], stage: 'health' },
    { name: 'production deploy', inject: (w) => w.fail('gitopsUpdate', 'push rejected'), outcome: 'rolled-back', undo: ['gitopsRevert@production'], stage: 'deploy' },
    {
      name: 'production canary analysis',
      inject: (w) => w.metric('error-rate', [0.002, 0.5]),
      outcome: 'rolled-back',
      undo: ['restoreTraffic@production', 'gitopsRevert@production'],
      stage: 'canary',
    },
    { name: 'promotion', inject: (w) => w.fail('promoteCanary'), outcome: 'rolled-back', undo: ['restoreImages@production', 'restoreTraffic@production', 'gitopsRevert@production'], stage: 'promote' },
    {
      name: 'production canary with rollback scope release',
      inject: (w) => w.fail('setTrafficWeight', 'VirtualService not found', { environment: 'production' }),
      scope: 'release',
      outcome: 'rolled-back',
      undo: ['restoreTraffic@production', 'gitopsRevert@production', 'helmRollback@staging'],
      stage: 'canary',
    },
  ];

  for (const c of failureCases) {
    test(`failure at ${c.name}: runs exactly ${c.undo.length ? c.undo.join(', ') : 'no compensation'} in reverse order`, async () => {
      const world = new FakeWorld();
      c.inject(world);
      const spec = twoEnvSpec({ service: uniqueName('fail'), rollbackScope: c.scope });
      const { final, status } = await release(world, spec);
      assert.equal(final.outcome, c.outcome, final.message);
      const undos = world.effects().filter((e) => /Rollback|Revert|restore/.test(e));
      assert.deepEqual(undos, c.undo);
      assert.equal(status.error?.stage, c.stage);
      // Each undo read back what it did: done, or unchanged where the failed step left nothing (a first install).
      assert.equal(status.compensation.filter((r) => r.status === 'done' || r.status === 'unchanged').length, c.undo.length);
      assert.ok(status.compensation.every((r) => r.status === 'committed' || r.detail), 'every undo that ran says what it read back');
      assert.ok(final.message?.includes(`release ${c.outcome} at ${c.stage}`), final.message);
      if (c.name === 'staging health') assert.ok(world.notifications.some((n) => n.event === 'health-degraded'));
      if (c.outcome === 'rolled-back') assert.ok(world.notifications.some((n) => n.event === 'rolled-back'));
    });
  }

  test('a failing compensation is recorded, the other undos still run, outcome failed', async () => {
    const world = new FakeWorld().fail('promoteCanary').fail('restoreTraffic', 'API server unreachable');
    const { final, status } = await release(world);
    assert.equal(final.outcome, 'failed');
    const undos = world.effects().filter((e) => /Rollback|Revert|restore/.test(e));
    assert.deepEqual(undos, ['restoreImages@production', 'restoreTraffic@production', 'gitopsRevert@production'], 'non-retryable undo fails once, revert still runs');
    const failed = status.compensation.find((r) => r.status === 'failed');
    assert.match(failed?.error ?? '', /API server unreachable/);
    assert.match(final.message ?? '', /1 compensation\(s\) FAILED/);
  });

  test('the analysis failure message names the metric, its value history is in status', async () => {
    const world = new FakeWorld().metric('error-rate', [0.5]);
    const { status } = await release(world);
    assert.match(status.error?.message ?? '', /metric error-rate failed 1 time\(s\), limit 0 \(threshold <= 0.01\)/);
    assert.deepEqual(status.metrics.map((m) => [m.metric, m.value, m.phase]), [['error-rate', 0.5, 'failed']]);
    assert.equal(status.analyses[0].phase, 'failed');
  });
});

describe('approvals (mocked activities)', () => {
  const gatedSpec = (extra: Record<string, unknown> = {}) =>
    twoEnvSpec({
      service: uniqueName('appr'),
      withBuild: false,
      production: { approval: { approvers: ['alice', 'bob', 'carol'], timeout: '1h', fourEyes: true, ...extra } },
    });

  async function withGate<T>(world: FakeWorld, spec: ReturnType<typeof gatedSpec>, fn: (id: string) => Promise<T>) {
    const queues = uniqueQueues();
    return withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { trigger: { kind: 'cli', by: 'carol' } });
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.approvals.pending?.gate === 'production/approval', 'production gate');
      return fn(releaseId);
    });
  }

  test('approve: identity and comment recorded in status and history; the release continues', async () => {
    const world = new FakeWorld();
    await withGate(world, gatedSpec(), async (id) => {
      assert.deepEqual(world.effects(), ['helmDeploy@staging'], 'production waits for approval');
      const reply = await ctx.shipyard.approve(id, { approver: 'alice', comment: 'LGTM, change CHG-42', via: 'cli' });
      assert.deepEqual(reply, { gate: 'production/approval', decision: 'approved', approvals: 1, required: 1, closed: true });
      const final = await ctx.shipyard.wait(id, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      assert.deepEqual(
        final.status!.approvals.decisions.map((d) => [d.gate, d.decision, d.approver, d.comment]),
        [['production/approval', 'approved', 'alice', 'LGTM, change CHG-42']],
      );
      const updates = acceptedUpdates(await historyOf(ctx.shipyard, id), 'approve');
      assert.deepEqual(updates, [{ approver: 'alice', comment: 'LGTM, change CHG-42', via: 'cli' }]);
    });
  });

  test('unauthorized approver, four-eyes violation and a stale gate are refused; the gate stays open', async () => {
    const world = new FakeWorld();
    await withGate(world, gatedSpec(), async (id) => {
      await assert.rejects(ctx.shipyard.approve(id, { approver: 'mallory' }), /'mallory' is not an approver for production\/approval/);
      await assert.rejects(ctx.shipyard.approve(id, { approver: 'carol' }), /four-eyes: 'carol' triggered this release/);
      await assert.rejects(ctx.shipyard.approve(id, { approver: 'alice', gate: 'staging/approval' }), /gate 'staging\/approval' is not pending/);
      const s = await ctx.shipyard.status(id);
      assert.equal(s.approvals.pending?.gate, 'production/approval');
      assert.equal(s.approvals.decisions.length, 0);
      // Refused updates never reach history.
      assert.equal(acceptedUpdates(await historyOf(ctx.shipyard, id), 'approve').length, 0);
      await ctx.shipyard.abort(id, 'test', 'cleanup');
      assert.equal((await ctx.shipyard.wait(id, undefined, 200)).outcome, 'aborted');
    });
  });

  test('two approvals required: the same person cannot approve twice', async () => {
    const world = new FakeWorld();
    await withGate(world, gatedSpec({ required: 2 }), async (id) => {
      const first = await ctx.shipyard.approve(id, { approver: 'alice' });
      assert.equal(first.closed, false);
      await assert.rejects(ctx.shipyard.approve(id, { approver: 'alice' }), /'alice' already approved production\/approval/);
      const second = await ctx.shipyard.approve(id, { approver: 'bob' });
      assert.equal(second.closed, true);
      assert.equal((await ctx.shipyard.wait(id, undefined, 200)).outcome, 'succeeded');
    });
  });

  test('reject: the release is rejected and production is never deployed', async () => {
    const world = new FakeWorld();
    await withGate(world, gatedSpec(), async (id) => {
      await ctx.shipyard.reject(id, { approver: 'bob', comment: 'not during the sale' });
      const final = await ctx.shipyard.wait(id, undefined, 200);
      assert.equal(final.outcome, 'rejected');
      assert.match(final.message ?? '', /rejected at production\/approval by bob: not during the sale/);
      assert.ok(!world.effects().includes('gitopsUpdate@production'));
      // staging was promoted before the gate: environment scope leaves it in place
      assert.ok(!world.effects().includes('helmRollback@staging'));
    });
  });

  test('timeout rejects the release and says so', async () => {
    const world = new FakeWorld();
    const spec = gatedSpec({ timeout: '2s' });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'rejected');
      assert.match(final.message ?? '', /approval production\/approval timed out after 2s with 0\/1 approvals: a timeout rejects the release/);
      assert.equal(final.status!.approvals.decisions[0].decision, 'timed-out');
    });
  });

  test('a canary approval step inherits the environment approvers', async () => {
    const world = new FakeWorld();
    const spec = twoEnvSpec({
      service: uniqueName('stepappr'),
      withBuild: false,
      production: { approval: { approvers: ['dave'], timeout: '1h' } },
      canarySteps: [{ setWeight: 20 }, { approval: {} }, { setWeight: 100 }],
    });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.approvals.pending?.gate === 'production/approval', 'env gate');
      await ctx.shipyard.approve(releaseId, { approver: 'dave' });
      const s = await waitForStatus(ctx.shipyard, releaseId, (s) => s.approvals.pending?.gate === 'production/canary/step-2', 'step gate');
      assert.equal(s.canary?.weight, 20);
      assert.deepEqual(s.approvals.pending?.approvers, ['dave']);
      await ctx.shipyard.approve(releaseId, { approver: 'dave', gate: 'production/canary/step-2' });
      assert.equal((await ctx.shipyard.wait(releaseId, undefined, 200)).outcome, 'succeeded');
    });
  });
});

describe('abort, pause and resume (mocked activities)', () => {
  test('abort mid-canary: the pause timer is cancelled, traffic restored, config reverted', async () => {
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('abort'), withBuild: false, canarySteps: [{ setWeight: 25 }, { pause: '1h' }, { setWeight: 100 }] });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause 1h', 'canary pause');
      await ctx.shipyard.abort(releaseId, 'erin', 'customer reports');
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'aborted');
      assert.match(final.message ?? '', /aborted by erin: customer reports/);
      const undos = world.effects().filter((e) => /Rollback|Revert|restore/.test(e));
      assert.deepEqual(undos, ['restoreTraffic@production', 'gitopsRevert@production']);
      assert.deepEqual(world.calls.find((c) => c.name === 'restoreTraffic')?.detail, { stable: 100, canary: 0 });
      const types = eventTypes(await historyOf(ctx.shipyard, releaseId));
      assert.ok(types.includes('TIMER_CANCELED'));
    });
  });

  test('pause holds the release at the next step; resume continues; pause {} waits for resume', async () => {
    const world = new FakeWorld().delay('helmDeploy', 1500);
    const spec = twoEnvSpec({ service: uniqueName('pause'), withBuild: false, canarySteps: [{ setWeight: 30 }, { pause: {} }, { setWeight: 100 }] });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.stage === 'deploy', 'staging deploy');
      await ctx.shipyard.pause(releaseId, 'frank', 'investigating alert');
      await new Promise((r) => setTimeout(r, 3000));
      let s = await ctx.shipyard.status(releaseId);
      assert.equal(s.paused?.by, 'frank');
      assert.ok(!world.effects().some((e) => e.startsWith('checkHealth')) || s.stage !== 'promote');
      assert.ok(!world.effects().includes('gitopsUpdate@production'), 'held before production');
      await ctx.shipyard.resume(releaseId, 'frank');
      s = await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause until resumed', 'indefinite pause step');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await ctx.shipyard.status(releaseId)).outcome, 'running', 'pause {} holds');
      await ctx.shipyard.resume(releaseId, 'frank');
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
    });
  });

  test('cancelling the workflow from Temporal compensates and ends Canceled', async () => {
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('cancel'), withBuild: false, canarySteps: [{ setWeight: 25 }, { pause: '1h' }] });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause 1h', 'canary pause');
      await ctx.client.workflow.getHandle(releaseId).cancel();
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'canceled');
      assert.deepEqual(world.effects().filter((e) => /Revert|restore/.test(e)), ['restoreTraffic@production', 'gitopsRevert@production']);
    });
  });
});

describe('deploy windows and background analysis (mocked activities)', () => {
  /** Waits until the wall clock is `offset` seconds into a 10-second slot. */
  async function alignToSlot(offset: number) {
    for (;;) {
      const s = new Date().getSeconds() % 10;
      if (s === offset) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const window = { cron: '*/10 * * * * *', duration: '8s', reason: 'test freeze' };

  test('a release inside a deny window waits with a durable timer until the window ends', async () => {
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('window'), withBuild: false, policy: { denyWindows: [window] } });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      await alignToSlot(1);
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['staging'] });
      const waiting = await waitForStatus(ctx.shipyard, releaseId, (s) => s.policy?.waitingUntil !== undefined, 'policy wait', 5000);
      assert.equal(waiting.stage, 'policy');
      assert.equal(waiting.policy?.reason, 'test freeze');
      assert.deepEqual(world.effects(), [], 'nothing deployed inside the window');
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      const deployedAt = Date.parse(final.status!.stages.find((s) => s.stage === 'deploy')!.startedAt);
      assert.ok(deployedAt >= Date.parse(waiting.policy!.waitingUntil!), 'deploy started after the window closed');
      assert.ok(eventTypes(await historyOf(ctx.shipyard, releaseId)).includes('TIMER_FIRED'));
    });
  });

  test('onDenyWindow: fail ends the release as failed with the reason, nothing deployed', async () => {
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('windowfail'), withBuild: false, policy: { denyWindows: [window], onDenyWindow: 'fail' } });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      await alignToSlot(1);
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'failed');
      assert.equal(final.status!.error?.type, 'PolicyDenied');
      assert.match(final.message ?? '', /deploy window closed: test freeze/);
      assert.deepEqual(world.effects(), []);
    });
  });

  test('a failing background analysis aborts the canary during a later pause, not at the next step', async () => {
    const world = new FakeWorld().metric('error-rate', [0.001, 0.001, 0.3]);
    const spec = twoEnvSpec({
      service: uniqueName('bg'),
      withBuild: false,
      canarySteps: [{ setWeight: 10 }, { analysis: { metrics: ['error-rate'], background: true } }, { setWeight: 25 }, { pause: '1h' }, { setWeight: 100 }],
      metrics: [{ name: 'error-rate', prometheus: { query: 'q' }, thresholdRange: { max: 0.01 }, interval: '1s', failureLimit: 0 }],
    });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'rolled-back');
      assert.equal(final.status!.error?.type, 'AnalysisFailed');
      assert.match(final.message ?? '', /analysis background-from-step-2 in production: metric error-rate failed 1 time/);
      assert.deepEqual(
        final.status!.metrics.map((m) => m.phase),
        ['successful', 'successful', 'failed'],
      );
      const started = Date.parse(final.status!.startedAt);
      const ended = Date.parse(final.status!.endedAt!);
      assert.ok(ended - started < 60_000, 'did not wait for the 1h pause');
      assert.deepEqual(world.effects().filter((e) => /Revert|restore/.test(e)), ['restoreTraffic@production', 'gitopsRevert@production']);
      assert.ok(!world.calls.some((c) => c.name === 'setTrafficWeight' && c.detail === 100));
    });
  });
});

describe('canary workloads, scaling and fault steps (mocked activities)', () => {
  const workloads = { workloads: { stable: 'web', canary: 'web-canary' }, scaling: { mode: 'proportional', replicas: 4 } };

  test('the canary scales with its weight (capacity before traffic), promotion copies images and scales it to 0 (scaleDownAfterPromotion)', async () => {
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('scale'), withBuild: false, canarySteps: [{ setWeight: 10 }, { setWeight: 50 }, { setWeight: 100 }] });
    Object.assign(spec.environments[1].canary!, workloads, { scaleDownAfterPromotion: true });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded', final.message);
      const seq = world.calls.filter((c) => ['scaleCanary', 'setTrafficWeight', 'readImages', 'promoteCanary'].includes(c.name)).map((c) => `${c.name}:${c.detail ?? ''}`);
      assert.deepEqual(seq, ['scaleCanary:1', 'setTrafficWeight:10', 'scaleCanary:2', 'setTrafficWeight:50', 'scaleCanary:4', 'setTrafficWeight:100', 'readImages:', 'promoteCanary:', 'scaleCanary:0']);
    });
  });

  test('by default promotion scales the canary back to the replicas it had before the canary', async () => {
    const world = new FakeWorld();
    world.replicas.set('web-canary', 3);
    const spec = twoEnvSpec({ service: uniqueName('scaleback'), withBuild: false, canarySteps: [{ setWeight: 50 }, { setWeight: 100 }] });
    Object.assign(spec.environments[1].canary!, workloads);
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded', final.message);
      const scales = world.calls.filter((c) => c.name === 'scaleCanary').map((c) => c.detail);
      assert.deepEqual(scales, [2, 4, 3], 'up with the weight, then back to the 3 it had');
      assert.equal(world.replicas.get('web-canary'), 3);
      assert.match(final.status!.stages.find((s) => s.stage === 'promote')!.detail ?? '', /web-canary at 3 replica/);
    });
  });

  test('a failing canary: traffic back to stable first, then the canary scaled down, then the rest', async () => {
    const world = new FakeWorld().metric('error-rate', [0.9]);
    const spec = twoEnvSpec({ service: uniqueName('scalefail'), withBuild: false, canarySteps: [{ setWeight: 25 }, { analysis: { metrics: ['error-rate'] } }] });
    Object.assign(spec.environments[1].canary!, workloads);
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      assert.equal((await ctx.shipyard.wait(releaseId, undefined, 200)).outcome, 'rolled-back');
      const undo = world.calls.filter((c) => ['restoreTraffic', 'restoreReplicas', 'gitopsRevert'].includes(c.name)).map((c) => `${c.name}:${c.name === 'restoreReplicas' ? c.detail : ''}`);
      assert.deepEqual(undo, ['restoreTraffic:', 'restoreReplicas:1', 'gitopsRevert:'], 'traffic first, then the canary back to its 1 replica from before');
    });
  });

  test('a fault step applies the fault, measures for its duration, removes it; a breach under fault removes it in compensation', async () => {
    const fault = { fault: { delay: { percent: 30, fixedDelay: '5s' }, duration: '2s', metrics: ['error-rate'] } };
    const metrics = [{ ...ERROR_RATE, interval: '1s', count: 1 }];
    const ok = new FakeWorld();
    const queues = uniqueQueues();
    await withWorkers(queues, ok.activities(), async () => {
      const spec = twoEnvSpec({ service: uniqueName('fault'), withBuild: false, canarySteps: [{ setWeight: 20 }, fault, { setWeight: 100 }], metrics });
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.deepEqual(ok.calls.filter((c) => c.name === 'setFault').map((c) => c.detail), [{ delay: { percent: 30, fixedDelay: '5s' } }, null]);
      assert.equal(final.status!.metrics.filter((m) => m.analysis === 'fault-step-2').length, 2, '2s / 1s interval = 2 measurements');
      assert.equal(final.status!.compensation.find((c) => /remove the fault/.test(c.description))?.status, 'resolved', 'the fault step removed its fault itself');
    });
    const bad = new FakeWorld().metric('error-rate', [0.001, 0.5]);
    const queues2 = uniqueQueues();
    await withWorkers(queues2, bad.activities(), async () => {
      const spec = twoEnvSpec({ service: uniqueName('faultbad'), withBuild: false, canarySteps: [{ setWeight: 20 }, fault], metrics });
      const { releaseId } = await startRelease(ctx.shipyard, queues2, spec, { environments: ['production'] });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'rolled-back');
      assert.match(final.message ?? '', /analysis fault-step-2/);
      assert.deepEqual(bad.calls.filter((c) => c.name === 'setFault').map((c) => c.detail), [{ delay: { percent: 30, fixedDelay: '5s' } }]);
      assert.equal(bad.calls.filter((c) => c.name === 'clearFault').length, 1, 'the compensation removed the fault');
      assert.equal(final.status!.compensation.find((c) => /remove the fault/.test(c.description))?.detail, 'fault removed');
    });
  });
});

describe('policy: environment rules and freezes (mocked activities)', () => {
  test('tags only for production: a branch release stops at production with the reason; staging went out', async () => {
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('refs'), withBuild: false, policy: { environments: { production: { allowedRefs: ['refs/tags/v*'] } } } });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const branch = await startRelease(ctx.shipyard, queues, spec, { trigger: { kind: 'webhook', by: 'octocat', ref: 'refs/heads/main' } });
      const final = await ctx.shipyard.wait(branch.releaseId, undefined, 200);
      assert.equal(final.outcome, 'failed');
      assert.equal(final.status!.error?.type, 'PolicyDenied');
      assert.match(final.message ?? '', /production takes refs\/tags\/v\* only \(this release: refs\/heads\/main\)/);
      assert.ok(world.effects().includes('helmDeploy@staging'));
      assert.ok(!world.effects().includes('gitopsUpdate@production'));
    });
  });

  test('allowedRefs is checked against the repository: the tag must exist and point at the released commit', async () => {
    const world = new FakeWorld();
    // A real repository: v1.2.3 (annotated) names the first commit, v2 the second.
    const repo = await createRepo(null);
    const first = await repo.commit('one', { 'a.txt': '1\n' });
    execFileSync('git', ['-C', repo.work, '-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'tag', '-a', 'v1.2.3', '-m', 'v1.2.3']);
    const second = await repo.commit('two', { 'a.txt': '2\n' });
    execFileSync('git', ['-C', repo.work, 'tag', 'v2', second]);
    execFileSync('git', ['-C', repo.work, 'push', '-q', 'origin', '--tags']);
    const base = twoEnvSpec({ service: uniqueName('refs'), withBuild: false, policy: { environments: { production: { allowedRefs: ['refs/tags/v*'] } } } });
    const spec = { ...base, source: { ...base.source, repo: repo.url } };
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const tag = await startRelease(ctx.shipyard, queues, spec, { commit: first, trigger: { kind: 'webhook', by: 'octocat', ref: 'refs/tags/v1.2.3' } });
      const ok = await ctx.shipyard.wait(tag.releaseId, undefined, 200);
      assert.equal(ok.outcome, 'succeeded', ok.message);
      assert.ok(ok.status!.stages.some((st) => st.stage === 'policy' && st.environment === 'production' && st.detail === `refs/tags/v1.2.3 is ${first.slice(0, 12)}`));
      // The claim of a tag that names another commit, or of one that does not exist: production refused.
      for (const [ref, why] of [['refs/tags/v2', new RegExp(`refs/tags/v2 points at ${second.slice(0, 12)} .*not at the released commit ${first.slice(0, 12)}`)], ['refs/tags/v9.9.9', /refs\/tags\/v9\.9\.9 does not exist/]] as const) {
        // Same commit and environments, so the same release ID: --retry-failed makes each claim a new attempt.
        const claimed = await startRelease(ctx.shipyard, queues, spec, { commit: first, environments: ['production'], retryFailed: true, trigger: { kind: 'cli', by: 'mallory', ref } });
        const final = await ctx.shipyard.wait(claimed.releaseId, undefined, 200);
        assert.equal(final.outcome, 'failed');
        assert.equal(final.status!.error?.type, 'PolicyDenied');
        assert.match(final.message ?? '', why);
      }
      assert.equal(world.effects().filter((e) => e === 'gitopsUpdate@production').length, 1, 'only the verified release reached production');
    });
  });

  test('a freeze holds a running release before its next deploy; a release started while frozen starts held; unfreeze lets both go', async () => {
    const world = new FakeWorld();
    const service = uniqueName('freeze');
    const spec = twoEnvSpec({ service, withBuild: false, production: { approval: { approvers: ['alice'], timeout: '1h' } } });
    const queues = uniqueQueues();
    const scoped = new (ctx.shipyard.constructor as typeof import('../../client/index.js').ShipyardClient)(ctx.client, ctx.shipyard.settings, queues);
    await withWorkers(queues, world.activities(), async () => {
      const a = await startRelease(scoped, queues, spec);
      await waitForStatus(scoped, a.releaseId, (s) => s.approvals.pending !== null, 'gate');
      const signalled = await scoped.freeze('ops', 'incident INC-7');
      assert.deepEqual(signalled, [a.releaseId], 'the running release the freeze applies to (pushed by the freeze workflow)');
      assert.equal((await scoped.lineFreeze())?.reason, 'incident INC-7');
      await scoped.approve(a.releaseId, { approver: 'alice' });
      const held = await waitForStatus(scoped, a.releaseId, (s) => s.policy?.frozen !== undefined, 'held by the freeze');
      assert.equal(held.stage, 'policy');
      assert.equal(held.policy?.frozen?.by, 'ops');
      const b = await startRelease(scoped, queues, spec, { environments: ['staging'] });
      await waitForStatus(scoped, b.releaseId, (s) => s.policy?.frozen !== undefined, 'new release held');
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(!world.effects().includes('gitopsUpdate@production'), 'nothing deployed while frozen');
      assert.equal(world.effects().filter((e) => e === 'helmDeploy@staging').length, 1, 'b did not deploy staging');
      await scoped.unfreeze('ops');
      assert.equal(await scoped.lineFreeze(), null);
      assert.equal((await scoped.wait(a.releaseId, undefined, 200)).outcome, 'succeeded');
      assert.equal((await scoped.wait(b.releaseId, undefined, 200)).outcome, 'succeeded');
    });
  });
});
