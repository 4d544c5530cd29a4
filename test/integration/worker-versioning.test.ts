// Worker Versioning on the real dev server, with MOCKED activities (FakeWorld): two orchestrator
// builds poll the same task queue; a release started while v1 is current runs every workflow task on
// v1 even after v2 becomes current, and a release started afterwards runs only on v2.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeConnection, type Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { createWorker, deploymentFromEnv, versioningOptions, type Role } from '../../workers/worker.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import type { ReleaseStatus } from '../../workflows/types.js';
import { eventTypes, historyOf, startRelease, waitForStatus, type HistoryEvent } from '../helpers/release.js';
import {
  connectClient,
  eventually,
  NAMESPACE,
  quietRuntime,
  temporalAddress,
  uniqueName,
  uniqueQueues,
  type TemporalTestContext,
} from '../helpers/temporal.js';

const { VersioningBehavior } = proto.temporal.api.enums.v1;

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

/** Makes `buildId` the current version; retried because the server must first have seen its pollers. */
async function setCurrent(deploymentName: string, buildId: string): Promise<void> {
  await eventually(
    async () => {
      await ctx.client.workflowService.setWorkerDeploymentCurrentVersion({ namespace: NAMESPACE, deploymentName, buildId, identity: 'worker-versioning-test' });
      return true;
    },
    30_000,
    `${deploymentName}.${buildId} to become current`,
  );
}

/** Every WorkflowTaskCompleted of a release: the worker identity and deployment version that completed it. */
function completedTasks(events: HistoryEvent[]) {
  return events
    .filter((e) => e.workflowTaskCompletedEventAttributes)
    .map((e) => {
      const a = e.workflowTaskCompletedEventAttributes!;
      return {
        identity: a.identity ?? '',
        deployment: a.deploymentVersion?.deploymentName ?? '',
        buildId: a.deploymentVersion?.buildId ?? '',
        behavior: a.versioningBehavior ?? VersioningBehavior.VERSIONING_BEHAVIOR_UNSPECIFIED,
      };
    });
}

describe('worker versioning (mocked activities)', () => {
  test('deployment settings: both or neither from the environment; PINNED when set', () => {
    assert.equal(deploymentFromEnv({}), undefined);
    assert.deepEqual(versioningOptions(undefined), {});
    assert.deepEqual(deploymentFromEnv({ SHIPYARD_WORKER_DEPLOYMENT: 'shipyard', SHIPYARD_BUILD_ID: 'abc123' }), { deploymentName: 'shipyard', buildId: 'abc123' });
    assert.throws(() => deploymentFromEnv({ SHIPYARD_BUILD_ID: 'abc123' }), /needs both SHIPYARD_WORKER_DEPLOYMENT and SHIPYARD_BUILD_ID/);
    assert.throws(() => deploymentFromEnv({ SHIPYARD_WORKER_DEPLOYMENT: 'shipyard', SHIPYARD_BUILD_ID: ' ' }), /needs both/);
    assert.deepEqual(versioningOptions({ deploymentName: 'shipyard', buildId: 'abc123' }), {
      workerDeploymentOptions: { version: { deploymentName: 'shipyard', buildId: 'abc123' }, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' },
    });
  });

  test('an in-flight release stays on the build it started with; a new release runs on the new current build', async () => {
    quietRuntime();
    const world = new FakeWorld();
    const queues = uniqueQueues('wv');
    const deploymentName = uniqueName('shipyard');
    const connection = await NativeConnection.connect({ address: temporalAddress() });
    const setup = { connection, namespace: NAMESPACE, taskQueues: queues, activities: world.activities() };
    const make = (role: Role, identity: string, buildId?: string) =>
      createWorker(role, { ...setup, identity, deployment: buildId ? { deploymentName, buildId } : undefined });
    // Both orchestrator builds poll the same queue; the activity workers are unversioned.
    const workers: Worker[] = await Promise.all([
      make('orchestrator', 'wv-v1', 'v1'),
      make('orchestrator', 'wv-v2', 'v2'),
      make('build', 'wv-activities'),
      make('deploy', 'wv-activities'),
    ]);
    const runs = workers.map((w) => w.run());
    try {
      const spec = (service: string) =>
        twoEnvSpec({ service, withBuild: false, canarySteps: [{ setWeight: 30 }, { pause: {} }, { setWeight: 100 }] });
      const holding = (s: ReleaseStatus) => s.canary?.description === 'pause until resumed';

      await setCurrent(deploymentName, 'v1');
      const first = await startRelease(ctx.shipyard, queues, spec(uniqueName('wv-one')));
      await waitForStatus(ctx.shipyard, first.releaseId, holding, 'release 1 to hold at pause {}');

      await setCurrent(deploymentName, 'v2');
      const second = await startRelease(ctx.shipyard, queues, spec(uniqueName('wv-two')));
      await waitForStatus(ctx.shipyard, second.releaseId, holding, 'release 2 to hold at pause {}');

      // Release 1 resumes after the upgrade: its remaining workflow tasks must still go to v1.
      await ctx.shipyard.resume(first.releaseId, 'frank');
      await ctx.shipyard.resume(second.releaseId, 'frank');
      const [final1, final2] = await Promise.all([
        ctx.shipyard.wait(first.releaseId, undefined, 200),
        ctx.shipyard.wait(second.releaseId, undefined, 200),
      ]);
      assert.equal(final1.outcome, 'succeeded', final1.message);
      assert.equal(final2.outcome, 'succeeded', final2.message);

      for (const [id, buildId] of [
        [first.releaseId, 'v1'],
        [second.releaseId, 'v2'],
      ] as const) {
        const events = await historyOf(ctx.shipyard, id);
        const tasks = completedTasks(events);
        // Started, the steps before the pause, the resume signal and the rest: many tasks, not one.
        assert.ok(tasks.length >= 5, `${id}: ${tasks.length} workflow tasks`);
        const resumedAt = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
        assert.ok(resumedAt > 0, 'the resume signal is in history');
        assert.ok(
          events.slice(resumedAt).some((e) => e.workflowTaskCompletedEventAttributes),
          'workflow tasks completed after the resume (after the upgrade for release 1)',
        );
        assert.deepEqual(
          tasks.filter((t) => t.identity !== `wv-${buildId}/orchestrator` || t.buildId !== buildId || t.deployment !== deploymentName),
          [],
          `every workflow task of ${id} completed by ${buildId}`,
        );
        assert.ok(tasks.every((t) => t.behavior === VersioningBehavior.VERSIONING_BEHAVIOR_PINNED), 'pinned');
        assert.equal(eventTypes(events).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
        const described = await ctx.client.workflowService.describeWorkflowExecution({ namespace: NAMESPACE, execution: { workflowId: id } });
        const versioning = described.workflowExecutionInfo?.versioningInfo;
        assert.equal(versioning?.behavior, VersioningBehavior.VERSIONING_BEHAVIOR_PINNED);
        assert.equal(versioning?.deploymentVersion?.buildId, buildId);
      }
      assert.equal(world.effects().filter((e) => e === 'promoteCanary@production').length, 2, 'both releases promoted');
    } finally {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(runs);
      await connection.close();
    }
  });
});
