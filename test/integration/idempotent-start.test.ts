// Idempotent start: the release ID is derived from service/environments/commit, so concurrent or
// repeated starts of the same release reach one workflow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { twoEnvSpec } from '../helpers/specs.js';
import { runCli } from '../helpers/cli.js';
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

async function countReleases(service: string): Promise<number> {
  return (await ctx.shipyard.list({ service })).length;
}

test('two concurrent `shipyard release start` processes for one commit give one workflow', async () => {
  const service = uniqueName('idem');
  const spec = twoEnvSpec({ service, withBuild: false });
  const dir = mkdtempSync(join(tmpdir(), 'spec-'));
  const file = join(dir, 'release.yaml');
  writeFileSync(file, stringify({ ...spec }));
  const commit = randomCommit();
  // No worker polls this queue: the release just sits there while both starts race.
  const env = { SHIPYARD_ORCHESTRATOR_QUEUE: uniqueName('idle') };
  const [a, b] = await Promise.all([
    runCli(['release', 'start', '-f', file, '--commit', commit, '--json'], env),
    runCli(['release', 'start', '-f', file, '--commit', commit, '--json'], env),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const ra = JSON.parse(a.stdout);
  const rb = JSON.parse(b.stdout);
  assert.equal(ra.releaseId, `release/${service}/all/${commit}`);
  assert.equal(ra.releaseId, rb.releaseId);
  assert.equal(ra.runId, rb.runId);
  assert.deepEqual([ra.started, rb.started].sort(), [false, true], 'exactly one started, the other attached');
  await eventually(async () => (await countReleases(service)) === 1, 15_000, 'visibility to list the release');
  await ctx.client.workflow.getHandle(ra.releaseId).terminate('test cleanup');
});

test('ten concurrent client starts: one workflow; a different environment selection is a different release', async () => {
  const service = uniqueName('idem10');
  const spec = twoEnvSpec({ service, withBuild: false });
  const commit = randomCommit();
  const queues = uniqueQueues('idle');
  const results = await Promise.all(
    Array.from({ length: 10 }, () => ctx.shipyard.start({ spec, commit, trigger: { kind: 'api', by: 'ci' }, taskQueues: queues })),
  );
  assert.equal(results.filter((r) => r.started).length, 1);
  assert.equal(new Set(results.map((r) => r.runId)).size, 1);
  const staging = await ctx.shipyard.start({ spec, commit, environments: ['staging'], trigger: { kind: 'api', by: 'ci' }, taskQueues: queues });
  assert.equal(staging.started, true);
  assert.equal(staging.releaseId, `release/${service}/staging/${commit}`);
  await eventually(async () => (await countReleases(service)) === 2, 15_000, 'visibility');
  for (const id of [results[0].releaseId, staging.releaseId]) await ctx.client.workflow.getHandle(id).terminate('test cleanup');
});

test('a finished release: a re-run attaches to it; --retry-failed starts a new attempt only after a failure', async () => {
  const service = uniqueName('rerun');
  const world = new FakeWorld().fail('helmDeploy', 'boom', { times: 1 });
  const spec = twoEnvSpec({ service, withBuild: false });
  const queues = uniqueQueues();
  const commit = randomCommit();
  await withWorkers(queues, world.activities(), async () => {
    const first = await startRelease(ctx.shipyard, queues, spec, { commit });
    assert.equal((await ctx.shipyard.wait(first.releaseId, undefined, 200)).outcome, 'rolled-back');
    const again = await startRelease(ctx.shipyard, queues, spec, { commit });
    assert.equal(again.started, false, 'a redelivered trigger does not start a second release');
    assert.equal(again.runId, first.runId);
    const retry = await startRelease(ctx.shipyard, queues, spec, { commit, retryFailed: true });
    assert.equal(retry.started, true);
    assert.notEqual(retry.runId, first.runId);
    assert.equal((await ctx.shipyard.wait(retry.releaseId, undefined, 200)).outcome, 'succeeded');
    const afterSuccess = await startRelease(ctx.shipyard, queues, spec, { commit, retryFailed: true });
    assert.equal(afterSuccess.started, false, 'a succeeded release is never re-run');
  });
});

test('bad start input starts nothing', async () => {
  const service = uniqueName('badstart');
  const spec = twoEnvSpec({ service, withBuild: false });
  await assert.rejects(ctx.shipyard.start({ spec, commit: 'main', trigger: { kind: 'api', by: 'x' } }), /not a git commit hash/);
  await assert.rejects(
    ctx.shipyard.start({ spec, commit: randomCommit(), environments: ['qa'], trigger: { kind: 'api', by: 'x' } }),
    /unknown environment\(s\) qa; the spec has staging, production/,
  );
  await assert.rejects(ctx.shipyard.start({ spec, commit: randomCommit(), version: 'v1 beta', trigger: { kind: 'api', by: 'x' } }), /version 'v1 beta'/);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await countReleases(service), 0);
});
