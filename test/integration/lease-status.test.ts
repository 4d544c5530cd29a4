// `shipyard status` reads the holder and queue of the leases a release waits for or holds from the
// lease workflows over the real dev server. The release and lease workflows are STAND-INS (mocks:
// lease-standin.workflows.ts) answering the real queries, until the lease workflow lands.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { leaseWorkflowId } from '../../workflows/messages.js';
import type { LeaseState, ReleaseStatus } from '../../workflows/types.js';
import { runCli } from '../helpers/cli.js';
import { connectClient, NAMESPACE, quietRuntime, randomCommit, temporalAddress, uniqueName, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

test('status shows the lease holder and queue (stand-in lease and release workflows); a missing lease workflow is "no lease"', async () => {
  quietRuntime();
  const service = uniqueName('lease');
  const taskQueue = uniqueName('lease-standin');
  const id = `release/${service}/all/${randomCommit()}`;
  const at = (s: number) => new Date(Date.parse('2025-03-01T10:00:00.000Z') + s * 1000).toISOString();
  const lease: LeaseState = {
    key: `${service}/production`,
    holder: { releaseId: `release/${service}/all/${'a'.repeat(40)}`, runId: 'holder-run-1', since: at(0), concurrency: 'queue' },
    queue: [
      { releaseId: `release/${service}/all/${'b'.repeat(40)}`, runId: 'b-run', since: at(5), concurrency: 'queue' },
      { releaseId: id, runId: 'me', since: at(9), concurrency: 'queue' },
    ],
  };
  const status: Partial<ReleaseStatus> = {
    releaseId: id,
    service,
    version: 'v1',
    commit: id.split('/').pop()!,
    trigger: { kind: 'cli', by: 'carol' },
    environments: ['staging', 'production'],
    stage: 'queued',
    environment: 'production',
    outcome: 'running',
    paused: null,
    policy: null,
    canary: null,
    stages: [
      { stage: 'deploy', environment: 'staging', startedAt: at(1), endedAt: at(4), result: 'ok' },
      { stage: 'queued', environment: 'production', startedAt: at(9) },
    ],
    leases: {
      production: { key: `${service}/production`, state: 'waiting', since: at(9) },
      staging: { key: `${service}/staging`, state: 'held', since: at(1) },
    },
    approvals: { pending: null, decisions: [] },
    metrics: [],
    analyses: [],
    compensation: [],
    notifications: [],
    deployments: [],
    build: null,
    image: null,
    error: null,
    abort: null,
    startedAt: at(0),
  };
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const worker = await Worker.create({
    connection,
    namespace: NAMESPACE,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./lease-standin.workflows.js', import.meta.url)),
  });
  const running = worker.run();
  const leaseId = leaseWorkflowId(service, 'production');
  try {
    await ctx.client.workflow.start('leaseStandIn', { workflowId: leaseId, taskQueue, args: [lease] });
    await ctx.client.workflow.start('releaseStandIn', { workflowId: id, taskQueue, args: [status] });

    const human = await runCli(['status', id]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /running\s+queued \(production\)  \(running for /);
    assert.match(human.stdout, /ok\s+deploy \(staging\)  \(3\.0s\)/);
    assert.match(
      human.stdout,
      new RegExp(
        `leases\\n  production\\s+waiting since ${at(9)} - 2nd in the queue\\n` +
          `\\s+holder release/${service}/all/a{40} \\(run holder-r, since ${at(0)}\\)\\n` +
          `\\s+queue  1\\. release/${service}/all/b{40} \\(queue, since ${at(5)}\\)\\n` +
          `\\s+2\\. ${id} \\(queue, since ${at(9)}\\)\\n` +
          `  staging\\s+held since ${at(1)} - no lease \\(no running ${leaseWorkflowId(service, 'staging')}\\)`,
      ),
    );

    const json = JSON.parse((await runCli(['status', id, '--json'])).stdout);
    assert.deepEqual(json.leases.production, { ...status.leases!.production, workflowId: leaseId, read: 'read', holder: lease.holder, queue: lease.queue, position: 2 });
    assert.equal(json.leases.staging.read, 'no-lease');
    assert.equal(json.leases.staging.holder, null);

    // A lease workflow that ended holds nothing either.
    await ctx.client.workflow.getHandle(leaseId).terminate('test');
    const ended = JSON.parse((await runCli(['status', id, '--json'])).stdout);
    assert.equal(ended.leases.production.read, 'no-lease');
  } finally {
    for (const w of [id, leaseId]) await ctx.client.workflow.getHandle(w).terminate('test cleanup').catch(() => undefined);
    worker.shutdown();
    await running;
    await connection.close();
  }
});
