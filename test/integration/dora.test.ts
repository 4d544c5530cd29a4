// DORA metrics from real releases on the dev server (MOCKED activities, FakeWorld): a success, a
// rollback in production, a success started by the real CLI in a git checkout (its commit time read
// from there), a release terminated outside Shipyard; then readDora and `shipyard dora --json` read
// them back through visibility and the close events.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { readDora, DoraRecordCache } from '../../client/dora-source.js';
import type { ReleaseStatus } from '../../workflows/types.js';
import { EXIT } from '../../client/exit-codes.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { queueEnv, runCli, runCliIn } from '../helpers/cli.js';
import { createRepo } from '../helpers/git.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { startRelease } from '../helpers/release.js';
import { connectClient, eventually, randomCommit, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});


/** When the stage record `stage@environment` of a status ended (ms). */
function ended(s: ReleaseStatus, stage: string, environment: string): number {
  const r = s.stages.filter((x) => x.stage === stage && x.environment === environment && x.result === 'ok').pop();
  assert.ok(r?.endedAt, `${stage}@${environment} ended ok in ${s.releaseId}`);
  return Date.parse(r.endedAt);
}

describe('DORA metrics from real releases', () => {
  test('success, rollback in production, success from a checkout: deployments, lead time, CFR, restore; API and CLI agree', async () => {
    const service = uniqueName('dora');
    const spec = twoEnvSpec({ service, withBuild: false, canarySteps: [{ setWeight: 50 }] });
    const queues = uniqueQueues('dora');
    const repo = await createRepo(null);
    const sha = await repo.commit('the change', { 'README.md': 'dora\n' });
    const dir = mkdtempSync(join(tmpdir(), 'dora-'));
    const file = join(dir, `${service}.yaml`);
    writeFileSync(file, stringify({ ...spec, source: { ...spec.source, repo: repo.url } }));

    const world = new FakeWorld();
    const { r1, r2, r3 } = await withWorkers(queues, world.activities(), async () => {
      const s1 = await startRelease(ctx.shipyard, queues, spec, { commit: randomCommit() });
      const r1 = await ctx.shipyard.wait(s1.releaseId, undefined, 200);
      assert.equal(r1.outcome, 'succeeded', r1.message);
      world.fail('promoteCanary', 'promotion broke production', { environment: 'production', times: 1 });
      const s2 = await startRelease(ctx.shipyard, queues, spec, { commit: randomCommit() });
      const r2 = await ctx.shipyard.wait(s2.releaseId, undefined, 200);
      assert.equal(r2.outcome, 'rolled-back', r2.message);
      // The CLI in the checkout (the Jenkins workspace case): the commit time comes from git there.
      const cli = await runCliIn(repo.work, ['release', 'start', '-f', file, '--commit', sha, '--wait', '--json'], queueEnv(queues));
      assert.equal(cli.code, EXIT.succeeded, cli.stderr);
      const r3 = await ctx.shipyard.final(JSON.parse(cli.stdout).releaseId);
      return { r1: r1.status!, r2: r2.status!, r3: r3.status! };
    });
    // A release no worker ever ran, terminated: ended outside Shipyard, skipped.
    const orphan = await startRelease(ctx.shipyard, uniqueQueues('idle'), spec, { commit: randomCommit() });
    await ctx.client.workflow.getHandle(orphan.releaseId).terminate('test: ended outside Shipyard');

    const committed = new Date(execFileSync('git', ['-C', repo.work, 'show', '-s', '--format=%cI', sha]).toString().trim()).toISOString();
    assert.equal(r3.trigger.commitTime, committed, 'the release records the commit time the CLI read from the checkout');
    assert.equal(r1.trigger.commitTime, undefined);
    assert.equal(r2.error?.environment, 'production');

    const cache = new DoraRecordCache();
    const result = await eventually(async () => {
      const r = await readDora(ctx.shipyard, { service, windowDays: 1, cache });
      return r.releasesRead === 4 && r;
    }, 20_000, 'the four closed releases in visibility');
    assert.equal(result.skipped, 1);
    assert.equal(result.truncated, false);
    assert.equal(cache.size, 4);
    const lead = Math.round((ended(r3, 'promote', 'production') - Date.parse(committed)) / 1000);
    const stagingLead = Math.round((ended(r3, 'promote', 'staging') - Date.parse(committed)) / 1000);
    const restore = Math.round((ended(r3, 'promote', 'production') - Date.parse(r2.endedAt!)) / 1000);
    assert.ok(restore > 0);
    const strip = ({ window: _w, ...row }: (typeof result.rows)[number]) => row;
    assert.deepEqual(result.rows.map(strip), [
      {
        service,
        environment: 'production',
        deployments: 2,
        deploymentsPerDay: 2,
        leadTime: { medianSeconds: lead, p90Seconds: lead, measured: 1, missingCommitTime: 1 },
        changeFailureRate: 1 / 3,
        failedChanges: 1,
        changes: 3,
        timeToRestore: { medianSeconds: restore, restored: 1 },
      },
      {
        // r2 promoted in staging but did not succeed: neither a deployment nor a failure of staging.
        service,
        environment: 'staging',
        deployments: 2,
        deploymentsPerDay: 2,
        leadTime: { medianSeconds: stagingLead, p90Seconds: stagingLead, measured: 1, missingCommitTime: 1 },
        changeFailureRate: 0,
        failedChanges: 0,
        changes: 2,
        timeToRestore: { medianSeconds: null, restored: 0 },
      },
    ]);
    assert.equal(result.rows[0].window.days, 1);

    // The cache answers for closed runs: a second read gives the same rows.
    const again = await readDora(ctx.shipyard, { service, environment: 'staging', windowDays: 1, cache });
    assert.deepEqual(again.rows.map(strip), [strip(result.rows[1])]);

    const cli = await runCli(['dora', '--service', service, '--window', '1d', '--json']);
    assert.equal(cli.code, EXIT.succeeded, cli.stderr);
    const printed = JSON.parse(cli.stdout);
    assert.deepEqual(printed.rows.map(strip), result.rows.map(strip));
    assert.deepEqual([printed.releasesRead, printed.skipped, printed.truncated], [4, 1, false]);
    const human = await runCli(['dora', '--service', service, '--window', '1d']);
    assert.equal(human.code, EXIT.succeeded, human.stderr);
    assert.match(human.stdout, new RegExp(`^${service}\\s+production\\s+2\\s+2\\.0\\s+\\S+ / \\S+\\s+33% \\(1/3\\)`, 'm'));
    assert.match(human.stdout, new RegExp(`note: ${service}/production: lead time from 1 of 2 deployments \\(1 without a commit time\\)`));
  });

  test('shipyard dora refuses a bad window or filter; release start refuses a --commit-time that is not a date', async () => {
    const bad = await runCli(['dora', '--window', '30', '--json']);
    assert.equal(bad.code, EXIT.usage);
    const filter = await runCli(['dora', '--service', "x' OR 1=1", '--json']);
    assert.equal(filter.code, EXIT.usage);
    assert.match(JSON.parse(filter.stdout).error, /characters a filter cannot hold/);
    const dir = mkdtempSync(join(tmpdir(), 'dora-'));
    const file = join(dir, 'spec.yaml');
    writeFileSync(file, stringify(twoEnvSpec({ service: uniqueName('dora'), withBuild: false })));
    const start = await runCli(['release', 'start', '-f', file, '--commit', randomCommit(), '--commit-time', 'last tuesday', '--json'], { SHIPYARD_ORCHESTRATOR_QUEUE: uniqueName('idle') });
    assert.equal(start.code, EXIT.usage);
    assert.match(JSON.parse(start.stdout).error, /--commit-time 'last tuesday' is not an ISO 8601 date/);
  });
});
