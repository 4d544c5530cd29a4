// Releases meeting each other and time, on the real dev server with MOCKED activities (FakeWorld):
// one release per environment (queue, supersede, reject, a terminated holder), retries as new
// attempts, status after a rollback read back from the world, undos whose target is gone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { leaseStateQuery, leaseWorkflowId } from '../../workflows/messages.js';
import { SA } from '../../workflows/search-attributes.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { queueEnv, runCli } from '../helpers/cli.js';
import { connectClient, eventually, randomCommit, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

/** Production: an approval gate before the deploy and a canary with an approval step at 10%. */
function gatedSpec(service: string, concurrency?: 'queue' | 'supersede' | 'reject') {
  return twoEnvSpec({
    service,
    withBuild: false,
    canarySteps: [{ setWeight: 10 }, { approval: {} }, { setWeight: 100 }],
    production: { approval: { approvers: ['alice', 'bob'], timeout: '1h' }, ...(concurrency ? { concurrency } : {}) },
  });
}

describe('one release per environment (mocked activities)', () => {
  test('queue: a second release waits (stage queued); the first is rejected at 10% and the second starts from the state before the first', async () => {
    const world = new FakeWorld();
    const service = uniqueName('lease');
    const spec = gatedSpec(service);
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const a = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      await waitForStatus(ctx.shipyard, a.releaseId, (s) => s.approvals.pending !== null, 'A at its approval');
      await ctx.shipyard.approve(a.releaseId, { approver: 'alice' });
      await waitForStatus(ctx.shipyard, a.releaseId, (s) => s.approvals.pending?.gate === 'production/canary/step-2', 'A at 10% and its canary gate');
      assert.deepEqual(world.traffic.get(`default/${service}`), { stable: 90, canary: 10 });

      const b = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], commit: randomCommit() });
      const queued = await waitForStatus(ctx.shipyard, b.releaseId, (s) => s.stages.at(-1)?.stage === 'queued', 'B queued');
      assert.equal(queued.leases?.production?.state, 'waiting');
      assert.match(queued.stages.at(-1)?.detail ?? '', new RegExp(`position 1, held by ${a.releaseId.replace(/[/+]/g, '.')}`));
      const lease = await ctx.client.workflow.getHandle(leaseWorkflowId(service, 'production', { line: queues.orchestrator })).query(leaseStateQuery);
      assert.equal(lease.holder?.releaseId, a.releaseId);
      assert.deepEqual(lease.queue.map((q) => q.releaseId), [b.releaseId]);
      // The CLI reads the holder and the queue from the lease workflow.
      const shown = await runCli(['status', b.releaseId], queueEnv(queues));
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /leases\n  production\s+waiting since .* - 1st in the queue/);
      assert.match(shown.stdout, new RegExp(`holder ${a.releaseId.replace(/[/+]/g, '.')}`));
      const json = JSON.parse((await runCli(['status', b.releaseId, '--json'], queueEnv(queues))).stdout);
      assert.equal(json.leases.production.read, 'read');
      assert.equal(json.leases.production.holder.releaseId, a.releaseId);
      assert.equal(json.leases.production.position, 1);
      const listed = await eventually(async () => {
        const rows = await ctx.shipyard.list({ service, running: true, stage: 'queued' });
        return rows.some((r) => r.releaseId === b.releaseId) ? rows : undefined;
      }, 15_000, 'B listed as queued');
      assert.ok(listed.every((r) => r.releaseId !== a.releaseId));

      await ctx.shipyard.reject(a.releaseId, { approver: 'bob', comment: 'not today' });
      const finalA = await ctx.shipyard.wait(a.releaseId, undefined, 200);
      assert.equal(finalA.outcome, 'rejected');
      await waitForStatus(ctx.shipyard, b.releaseId, (s) => s.approvals.pending !== null, 'B got the lease and reached its approval');
      await ctx.shipyard.approve(b.releaseId, { approver: 'alice' });
      const atGate = await waitForStatus(ctx.shipyard, b.releaseId, (s) => s.approvals.pending?.gate === 'production/canary/step-2', 'B at 10%');
      // B's rollback baseline is what A left after compensating: all traffic on stable.
      const undo = atGate.compensation.find((c) => /restore .* traffic/.test(c.description));
      assert.match(undo?.description ?? '', /stable 100 \/ canary 0/);
      // B's deploy happened after A's revert: one release at a time touched the environment.
      const order = world.calls.filter((c) => c.name === 'gitopsUpdate' || c.name === 'gitopsRevert').map((c) => c.name);
      assert.deepEqual(order, ['gitopsUpdate', 'gitopsRevert', 'gitopsUpdate']);
      await ctx.shipyard.abort(b.releaseId, 'test');
      assert.equal((await ctx.shipyard.wait(b.releaseId, undefined, 200)).outcome, 'aborted');
      const after = await ctx.client.workflow.getHandle(leaseWorkflowId(service, 'production', { line: queues.orchestrator })).describe();
      await eventually(async () => ((await ctx.client.workflow.getHandle(after.workflowId).describe()).status.name === 'COMPLETED' ? true : undefined), 15_000, 'idle lease ends');
    });
  });

  test('supersede: a newer release cancels and compensates one waiting at an approval', async () => {
    const world = new FakeWorld();
    const service = uniqueName('supersede');
    const spec = gatedSpec(service, 'supersede');
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const a = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      await waitForStatus(ctx.shipyard, a.releaseId, (s) => s.approvals.pending !== null, 'A at its approval');
      const b = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], commit: randomCommit() });
      const finalA = await ctx.shipyard.wait(a.releaseId, undefined, 200);
      assert.equal(finalA.outcome, 'aborted');
      assert.equal(finalA.status?.error?.type, 'Superseded');
      assert.match(finalA.message ?? '', new RegExp(`superseded by ${b.releaseId.replace(/[/+]/g, '.')}`));
      await waitForStatus(ctx.shipyard, b.releaseId, (s) => s.approvals.pending !== null, 'B has the lease');
      await ctx.shipyard.abort(b.releaseId, 'test');
      await ctx.shipyard.wait(b.releaseId, undefined, 200);
    });
  });

  test('supersede leaves alone a release that already deployed and is not at an approval; the newcomer queues', async () => {
    const world = new FakeWorld();
    const service = uniqueName('supersede2');
    const spec = twoEnvSpec({ service, withBuild: false, canarySteps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 100 }], production: { concurrency: 'supersede' } });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const a = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      await waitForStatus(ctx.shipyard, a.releaseId, (s) => s.canary?.weight === 10, 'A at 10%, paused');
      const b = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], commit: randomCommit() });
      await waitForStatus(ctx.shipyard, b.releaseId, (s) => s.stages.at(-1)?.stage === 'queued', 'B queued');
      assert.equal((await ctx.shipyard.status(a.releaseId)).outcome, 'running', 'A was not superseded');
      await ctx.shipyard.resume(a.releaseId, 'test');
      assert.equal((await ctx.shipyard.wait(a.releaseId, undefined, 200)).outcome, 'succeeded');
      await waitForStatus(ctx.shipyard, b.releaseId, (s) => s.canary?.weight === 10, 'B deployed after A promoted');
      await ctx.shipyard.abort(b.releaseId, 'test');
      assert.equal((await ctx.shipyard.wait(b.releaseId, undefined, 200)).outcome, 'aborted');
    });
  });

  test('reject: a newcomer fails at once with EnvironmentBusy and deploys nothing', async () => {
    const world = new FakeWorld();
    const service = uniqueName('busy');
    const spec = gatedSpec(service, 'reject');
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const a = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      await waitForStatus(ctx.shipyard, a.releaseId, (s) => s.approvals.pending !== null, 'A at its approval');
      const b = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], commit: randomCommit() });
      const finalB = await ctx.shipyard.wait(b.releaseId, undefined, 200);
      assert.equal(finalB.outcome, 'failed');
      assert.equal(finalB.status?.error?.type, 'EnvironmentBusy');
      assert.match(finalB.message ?? '', new RegExp(`busy: release ${a.releaseId.replace(/[/+]/g, '.')}`));
      assert.equal(world.calls.filter((c) => c.name === 'gitopsUpdate').length, 0);
      await ctx.shipyard.abort(a.releaseId, 'test');
      await ctx.shipyard.wait(a.releaseId, undefined, 200);
    });
  });

  test('a terminated holder does not block the environment: the next release proceeds within the lease check interval', async () => {
    const world = new FakeWorld();
    const service = uniqueName('watchdog');
    const spec = gatedSpec(service);
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const a = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], leaseCheckInterval: '1s' });
      await waitForStatus(ctx.shipyard, a.releaseId, (s) => s.approvals.pending !== null, 'A holds the lease');
      const b = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], commit: randomCommit() });
      await waitForStatus(ctx.shipyard, b.releaseId, (s) => s.stages.at(-1)?.stage === 'queued', 'B queued');
      const killedAt = Date.now();
      await ctx.client.workflow.getHandle(a.releaseId).terminate('operator terminated it');
      await waitForStatus(ctx.shipyard, b.releaseId, (s) => s.approvals.pending !== null, 'B got the lease', 20_000);
      const waited = Date.now() - killedAt;
      assert.ok(waited < 10_000, `B proceeded ${waited} ms after A was terminated`);
      await ctx.shipyard.abort(b.releaseId, 'test');
      await ctx.shipyard.wait(b.releaseId, undefined, 200);
    });
  });

  test('a lease nobody waits for is not watched; the first release to queue has the holder checked at once', async () => {
    const world = new FakeWorld();
    const service = uniqueName('unwatched');
    const spec = gatedSpec(service);
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      // A check interval of an hour: only the check on the first waiter can let B through in time.
      const a = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], leaseCheckInterval: '1h' });
      await waitForStatus(ctx.shipyard, a.releaseId, (s) => s.approvals.pending !== null, 'A holds the lease');
      const lease = ctx.client.workflow.getHandle(leaseWorkflowId(service, 'production', { line: queues.orchestrator }));
      const idle = async () => {
        const events = (await lease.fetchHistory()).events ?? [];
        return { activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length, timers: events.filter((e) => e.timerStartedEventAttributes).length };
      };
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(await idle(), { activities: 0, timers: 0 }, 'held with nobody waiting: no watchdog timer, no describe');
      await ctx.client.workflow.getHandle(a.releaseId).terminate('operator terminated it');
      const b = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], commit: randomCommit(), leaseCheckInterval: '1h' });
      const queuedAt = Date.now();
      await waitForStatus(ctx.shipyard, b.releaseId, (s) => s.approvals.pending !== null, 'B got the lease', 20_000);
      assert.ok(Date.now() - queuedAt < 10_000, `B proceeded ${Date.now() - queuedAt} ms after it asked`);
      assert.equal((await idle()).activities, 1, 'one describe of the holder, when B queued');
      await ctx.shipyard.abort(b.releaseId, 'test');
      await ctx.shipyard.wait(b.releaseId, undefined, 200);
    });
  });
});

describe('attempts and truthful state (mocked activities)', () => {
  test('a retry is a new attempt: its own notification keys and effects; after the rollback status reads the restored weight', async () => {
    const world = new FakeWorld().metric('error-rate', [0.9]);
    const service = uniqueName('retry');
    const spec = twoEnvSpec({ service, withBuild: false, canarySteps: [{ setWeight: 20 }, { analysis: { metrics: ['error-rate'] } }], notify: [{ webhook: { urlEnv: 'TEST_WEBHOOK_URL' }, on: ['started', 'rolled-back', 'succeeded'] }] });
    const queues = uniqueQueues();
    const commit = randomCommit();
    await withWorkers(queues, world.activities(), async () => {
      const first = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], commit });
      const f1 = await ctx.shipyard.wait(first.releaseId, undefined, 200);
      assert.equal(f1.outcome, 'rolled-back');
      // What the router read back after the undo, not the 20% the canary had reached.
      assert.equal(f1.status?.canary?.weight, 0);
      assert.equal(f1.status?.canaryHistory?.at(-1)?.description, 'restored by compensation');
      const row = await eventually(async () => (await ctx.shipyard.list({ service })).find((r) => r.releaseId === first.releaseId && r.outcome === 'rolled-back'), 15_000, 'list row');
      assert.equal(row.canaryWeight, 0);

      world.metricValues.set('error-rate', [0]);
      const again = await ctx.shipyard.start({ spec, commit, version: 'v1.2.3', trigger: { kind: 'cli', by: 'carol' }, taskQueues: queues, environments: ['production'], retryFailed: true });
      assert.equal(again.releaseId, first.releaseId);
      assert.ok(again.started);
      const f2 = await ctx.shipyard.wait(again.releaseId, undefined, 200);
      assert.equal(f2.outcome, 'succeeded', f2.message);
      assert.notEqual(f2.status?.attempt, f1.status?.attempt);
      assert.equal(world.calls.filter((c) => c.name === 'gitopsUpdate').length, 2, 'the retry deployed again');
      const started = world.notifications.filter((n) => n.event === 'started');
      assert.equal(started.length, 2, 'the retry notified again');
      assert.notEqual(started[0].key, started[1].key);
      assert.ok(started[1].key.includes(f2.status!.attempt!));
    });
  });

  test('an undo whose target is gone is reported skipped, and the outcome says nothing was undone there', async () => {
    const world = new FakeWorld().fail('checkHealth', 'rollout failed (injected)', { environment: 'staging' });
    const service = uniqueName('gone');
    const spec = twoEnvSpec({ service, withBuild: false });
    world.helm.set(`staging/${service}`, 4);
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      // The helm release is deleted behind Shipyard's back between deploy and rollback.
      world.delay('checkHealth', 1500);
      const started = await startRelease(ctx.shipyard, queues, spec, { environments: ['staging'] });
      await eventually(async () => (world.calls.some((c) => c.name === 'helmDeploy') ? true : undefined), 15_000, 'deployed');
      world.helm.delete(`staging/${service}`);
      const final = await ctx.shipyard.wait(started.releaseId, undefined, 200);
      assert.equal(final.outcome, 'failed', 'nothing was rolled back');
      const undo = final.status!.compensation.find((c) => /helm rollback/.test(c.description));
      assert.equal(undo?.status, 'skipped');
      assert.match(undo?.detail ?? '', /not found/);
      assert.match(final.message ?? '', /skipped: helm release staging\/.* not found/);
    });
  });

  test('status shows each stage with start and end; the canary weight search attribute follows the read-back weight', async () => {
    const world = new FakeWorld();
    const service = uniqueName('sa');
    const spec = twoEnvSpec({ service, withBuild: false, canarySteps: [{ setWeight: 30 }, { pause: {} }, { setWeight: 100 }] });
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.weight === 30, '30%');
      const d = await eventually(async () => {
        const desc = await ctx.client.workflow.getHandle(releaseId).describe();
        return desc.typedSearchAttributes.get(SA.canaryWeight) === 30 ? desc : undefined;
      }, 15_000, 'search attribute at 30');
      assert.ok(d);
      await ctx.shipyard.resume(releaseId, 'test');
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      assert.deepEqual(final.status!.canaryHistory!.map((c) => c.weight), [0, 30, 100, 0]);
      assert.ok(final.status!.stages.every((s) => s.endedAt && Date.parse(s.endedAt) >= Date.parse(s.startedAt)));
    });
  });
});

describe('freeze without races (mocked activities)', () => {
  test('releases started while the line is frozen and unfrozen in quick turns all see the last word: none deploys while frozen, all go after the unfreeze', async () => {
    const world = new FakeWorld();
    const queues = uniqueQueues();
    const scoped = new (ctx.shipyard.constructor as typeof import('../../client/index.js').ShipyardClient)(ctx.client, ctx.shipyard.settings, queues);
    const spec = () => twoEnvSpec({ service: uniqueName('race'), withBuild: false, staging: { approval: { approvers: ['alice'], timeout: '1h' } } });
    await withWorkers(queues, world.activities(), async () => {
      const start = () => startRelease(scoped, queues, spec(), { environments: ['staging'] });
      const ids: string[] = [];
      ids.push((await start()).releaseId);
      await scoped.freeze('ops', 'turn 1');
      ids.push(...(await Promise.all([start(), start()])).map((r) => r.releaseId));
      await scoped.unfreeze('ops');
      ids.push((await start()).releaseId);
      const [a, b] = await Promise.all([start(), scoped.freeze('ops', 'turn 2')]);
      void b;
      ids.push(a.releaseId);
      await scoped.unfreeze('ops');
      const [c] = await Promise.all([start(), scoped.freeze('ops', 'final')]);
      ids.push(c.releaseId);
      // The line is frozen now, whatever order the last start and freeze took.
      for (const id of ids) await waitForStatus(scoped, id, (s) => s.approvals.pending !== null, `${id} at its approval`);
      for (const id of ids) await scoped.approve(id, { approver: 'alice' });
      for (const id of ids) {
        const held = await waitForStatus(scoped, id, (s) => s.policy?.frozen !== undefined, `${id} held by the freeze`);
        assert.equal(held.policy?.frozen?.reason, 'final');
      }
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(world.calls.filter((c) => c.name === 'helmDeploy').length, 0, 'nothing deployed while frozen');
      await scoped.unfreeze('ops');
      for (const id of ids) assert.equal((await scoped.wait(id, undefined, 200)).outcome, 'succeeded');
      assert.equal(world.calls.filter((c) => c.name === 'helmDeploy').length, ids.length, 'each deployed once');
    });
  });
});

describe('promotion through the deployer (mocked activities)', () => {
  const canary = (service: string, promote: unknown) => ({
    router: { istio: { virtualService: service } },
    workloads: { stable: 'web', canary: 'web-canary' },
    promote,
    steps: [{ setWeight: 50 }, { setWeight: 100 }],
  });

  test('helm: the stable release is upgraded with the image (a helm revision), traffic returns to it; a failure after it rolls that revision back', async () => {
    const service = uniqueName('promhelm');
    const helm = { chart: 'oci://registry.local/charts/app', release: 'web-canary', namespace: 'prod', timeout: '1m' };
    const spec = twoEnvSpec({ service, production: { deploy: { helm }, canary: canary(service, { helm: { release: 'web', imageValues: { repository: 'stable.image.repository', tag: 'stable.image.tag' } } }) } });
    const ok = new FakeWorld();
    ok.helm.set('prod/web', 7);
    const queues = uniqueQueues();
    await withWorkers(queues, ok.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.deepEqual(ok.calls.filter((c) => c.name === 'helmPromote').map((c) => c.detail), ['web']);
      assert.equal(ok.helm.get('prod/web'), 8, 'a new revision of the stable release');
      assert.ok(!ok.calls.some((c) => c.name === 'readImages' || c.name === 'restoreImages'), 'no direct image patch');
      assert.ok(ok.calls.some((c) => c.name === 'checkHealth' && (c.environment === 'production')), 'stable checked for the image before traffic returns');
      assert.match(final.status!.stages.find((s) => s.stage === 'promote')!.detail ?? '', /helm web revision 8; traffic stable 100 \/ canary 0/);
    });
    const bad = new FakeWorld().fail('promoteCanary');
    bad.helm.set('prod/web', 7);
    const queues2 = uniqueQueues();
    await withWorkers(queues2, bad.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues2, spec, { environments: ['production'] });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'rolled-back', final.message);
      const undos = bad.calls.filter((c) => /Rollback|restore/.test(c.name)).map((c) => `${c.name}:${c.detail === null ? 'uninstall' : c.detail}`);
      assert.deepEqual(undos, ['helmRollback:7', 'restoreTraffic:[object Object]', 'helmRollback:uninstall'], 'the promotion revision first, traffic, then the canary release');
    });
  });

  test('GitOps: the stable tag is committed (purpose promote) and reverted on its own when a later step fails', async () => {
    const service = uniqueName('promgit');
    const spec = twoEnvSpec({ service, production: { canary: canary(service, { gitops: { imageTagPath: 'stable.image.tag' } }) } });
    const world = new FakeWorld().fail('promoteCanary');
    const queues = uniqueQueues();
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'rolled-back', final.message);
      assert.deepEqual(world.calls.filter((c) => c.name === 'gitopsRevert').map((c) => c.detail), ['promote', 'deploy'], 'the promotion commit is reverted first, then the deploy commit');
      assert.equal(world.calls.filter((c) => c.name === 'gitopsUpdate').length, 2);
    });
  });
});
