// Release paths on a REAL Temporal cluster: temporal-server v1.32 on PostgreSQL (history, timers,
// updates, visibility with Shipyard's search attributes all in PostgreSQL), set up the way production
// is (deploy/temporal/config.yaml, the server's own schema tool). Activities are MOCKED (FakeWorld):
// this tier has no Kubernetes cluster and tests the server side; test/cluster tests the adapters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SA } from '../../workflows/search-attributes.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { TWO_ENV_EFFECTS, twoEnvSpec } from '../helpers/specs.js';
import { acceptedUpdates, eventTypes, historyOf, startRelease, waitForStatus } from '../helpers/release.js';
import { useRealServer } from '../helpers/real-server.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

useRealServer();
let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

/** The server's own word on the version it runs (GetSystemInfo), not the pin we asked for. */
async function serverVersion(): Promise<string> {
  const info = await ctx.client.workflowService.getSystemInfo({});
  return info.serverVersion ?? '';
}

/** Workflow IDs the visibility store (PostgreSQL here) returns for a query on Shipyard's search attributes. */
async function visible(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of ctx.client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

describe('release paths on temporal-server + PostgreSQL (mocked activities)', () => {
  test('the tier runs the pinned server version', async () => {
    assert.equal(await serverVersion(), '1.32.1');
  });

  test('canary with analysis: every stage ok, search attributes queryable from PostgreSQL visibility', async () => {
    const world = new FakeWorld();
    const service = uniqueName('real-canary');
    const queues = uniqueQueues('real');
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, twoEnvSpec({ service }));
      const final = await ctx.shipyard.wait(releaseId, undefined, 250);
      assert.equal(final.outcome, 'succeeded', final.message);
      const status = final.status!;
      assert.deepEqual(world.effects(), TWO_ENV_EFFECTS);
      assert.deepEqual(
        status.stages.map((s) => `${s.stage}${s.environment ? `@${s.environment}` : ''}:${s.result}`),
        ['build:ok', 'images:ok', 'deploy@staging:ok', 'health@staging:ok', 'promote@staging:ok', 'deploy@production:ok', 'health@production:ok', 'canary@production:ok', 'promote@production:ok', 'done:ok'],
      );
      assert.deepEqual(status.metrics.map((m) => m.phase), ['successful', 'successful'], 'the analysis measured twice');
      // History as the server stored it: the pause step is a durable timer that fired.
      const types = eventTypes(await historyOf(ctx.shipyard, releaseId));
      assert.equal(types[0], 'WORKFLOW_EXECUTION_STARTED');
      assert.equal(types.at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
      assert.ok(types.includes('TIMER_FIRED'), 'pause 1s fired');
      assert.equal(types.filter((t) => t === 'ACTIVITY_TASK_COMPLETED').length, types.filter((t) => t === 'ACTIVITY_TASK_SCHEDULED').length);
      // Typed search attributes on the execution, and a visibility query over them (the SQL visibility store).
      const d = await ctx.client.workflow.getHandle(releaseId).describe();
      assert.equal(d.typedSearchAttributes.get(SA.service), service);
      assert.equal(d.typedSearchAttributes.get(SA.outcome), 'succeeded');
      assert.equal(d.typedSearchAttributes.get(SA.canaryWeight), 0);
      const ids = await eventually(
        async () => {
          const found = await visible(`ShipyardService = '${service}' AND ShipyardOutcome = 'succeeded' AND ShipyardCanaryWeight = 0`);
          return found.length ? found : undefined;
        },
        60_000,
        'the release in visibility',
      );
      assert.deepEqual(ids, [releaseId]);
    });
  });

  test('a failing analysis rolls back: traffic restored, then the config reverted; outcome rolled-back', async () => {
    const world = new FakeWorld().metric('error-rate', [0.002, 0.5]);
    const service = uniqueName('real-rollback');
    const queues = uniqueQueues('real');
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, twoEnvSpec({ service, withBuild: false }));
      const final = await ctx.shipyard.wait(releaseId, undefined, 250);
      assert.equal(final.outcome, 'rolled-back', final.message);
      assert.equal(final.status!.error?.stage, 'canary');
      assert.match(final.message ?? '', /metric error-rate failed 1 time/);
      assert.deepEqual(world.effects().filter((e) => /Rollback|Revert|restore/.test(e)), ['restoreTraffic@production', 'gitopsRevert@production']);
      assert.deepEqual(world.calls.find((c) => c.name === 'restoreTraffic')?.detail, { stable: 100, canary: 0 });
      assert.ok(!world.effects().includes('promoteCanary@production'), 'never promoted');
      assert.equal(final.status!.compensation.filter((c) => c.status === 'done').length, 2);
      const types = eventTypes(await historyOf(ctx.shipyard, releaseId));
      assert.equal(types.at(-1), 'WORKFLOW_EXECUTION_FAILED', 'a rolled-back release fails the workflow with the outcome type');
      const d = await ctx.client.workflow.getHandle(releaseId).describe();
      assert.equal(d.typedSearchAttributes.get(SA.outcome), 'rolled-back');
      await eventually(async () => (await visible(`ShipyardService = '${service}' AND ShipyardOutcome = 'rolled-back'`)).length === 1, 60_000, 'rolled-back in visibility');
    });
  });

  test('approval: the gate holds production; a refused approver never reaches history; approve (an update) continues', async () => {
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('real-appr'), withBuild: false, production: { approval: { approvers: ['alice', 'bob'], timeout: '1h', fourEyes: true } } });
    const queues = uniqueQueues('real');
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { trigger: { kind: 'cli', by: 'carol' } });
      const pending = await waitForStatus(ctx.shipyard, releaseId, (s) => s.approvals.pending?.gate === 'production/approval', 'production gate', 60_000);
      assert.deepEqual(pending.approvals.pending?.approvers, ['alice', 'bob']);
      assert.deepEqual(world.effects(), ['helmDeploy@staging'], 'production waits');
      await assert.rejects(ctx.shipyard.approve(releaseId, { approver: 'mallory' }), /'mallory' is not an approver/);
      const reply = await ctx.shipyard.approve(releaseId, { approver: 'alice', comment: 'CHG-7', via: 'cli' });
      assert.deepEqual(reply, { gate: 'production/approval', decision: 'approved', approvals: 1, required: 1, closed: true });
      const final = await ctx.shipyard.wait(releaseId, undefined, 250);
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.deepEqual(final.status!.approvals.decisions.map((d) => [d.decision, d.approver, d.comment]), [['approved', 'alice', 'CHG-7']]);
      assert.ok(world.effects().includes('promoteCanary@production'));
      const events = await historyOf(ctx.shipyard, releaseId);
      assert.deepEqual(acceptedUpdates(events, 'approve'), [{ approver: 'alice', comment: 'CHG-7', via: 'cli' }], 'only the accepted approval is in history');
      assert.equal(eventTypes(events).filter((t) => t === 'WORKFLOW_EXECUTION_UPDATE_COMPLETED').length, 1);
    });
  });

  test('abort during a canary pause: the durable timer is cancelled, traffic restored, config reverted', async () => {
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('real-abort'), withBuild: false, canarySteps: [{ setWeight: 25 }, { pause: '1h' }, { setWeight: 100 }] });
    const queues = uniqueQueues('real');
    await withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause 1h', 'canary pause', 60_000);
      await ctx.shipyard.abort(releaseId, 'erin', 'customer reports');
      const final = await ctx.shipyard.wait(releaseId, undefined, 250);
      assert.equal(final.outcome, 'aborted');
      assert.match(final.message ?? '', /aborted by erin: customer reports/);
      assert.deepEqual(world.effects().filter((e) => /Rollback|Revert|restore/.test(e)), ['restoreTraffic@production', 'gitopsRevert@production']);
      const types = eventTypes(await historyOf(ctx.shipyard, releaseId));
      assert.ok(types.includes('TIMER_STARTED') && types.includes('TIMER_CANCELED'));
      assert.ok(!types.includes('TIMER_FIRED'), 'the 1h pause never fired');
    });
  });
});
