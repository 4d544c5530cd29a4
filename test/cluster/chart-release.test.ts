// A whole release whose chart is handed by content (ReleaseInput.charts): the deploy worker has no
// copy of the chart at the spec's path, helm installs from the archive, and history shows the
// archive went to helmDeploy only. A release without charts schedules helmDeploy without the field.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { stringify } from 'yaml';
import { createDeployActivities, createIntegrationActivities } from '../../activities/index.js';
import { packageChart } from '../../activities/build/chart-package.js';
import type { ChartArchive } from '../../activities/types.js';
import { parseSpec } from '../../spec/load.js';
import type { ReleaseInput } from '../../workflows/types.js';
import { CHART, deploymentImage, helmHistory, namespace } from '../helpers/cluster.js';
import { historyOf } from '../helpers/release.js';
import { connectClient, randomCommit, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

const spec = (service: string, chart: string, ns: string) =>
  parseSpec(stringify({ service, source: { repo: 'https://git.example.com/team/hello.git' }, environments: [{ name: 'staging', deploy: { helm: { chart, release: 'hello-api', namespace: ns, timeout: '60s' } }, health: { timeout: '60s' } }] }));

/** Starts the release workflow with this input (charts included, which the CLI does not set) and waits for its end. */
async function release(input: Omit<ReleaseInput, 'taskQueues' | 'trigger' | 'commit' | 'version'>) {
  const queues = uniqueQueues('charts');
  const id = `release/${input.spec.service}/staging/${randomCommit().slice(0, 12)}`;
  const deploy = { ...createDeployActivities({ workDir: mkdtempSync(join(tmpdir(), 'work-')), artifactDir: mkdtempSync(join(tmpdir(), 'art-')), insecureRegistries: [] }), ...createIntegrationActivities() };
  return withWorkers(queues, { deploy }, async () => {
    const full: ReleaseInput = { ...input, commit: randomCommit(), version: 'v1.0.0', trigger: { kind: 'cli', by: 'carol' }, taskQueues: { build: queues.build, deploy: queues.deploy } };
    await ctx.client.workflow.start('releaseWorkflow', { workflowId: id, taskQueue: queues.orchestrator, args: [full] });
    const final = await ctx.shipyard.wait(id, undefined, 300);
    const events = await historyOf(ctx.shipyard, id);
    const scheduled = events
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => ({ type: e.activityTaskScheduledEventAttributes!.activityType!.name!, input: defaultPayloadConverter.fromPayload(e.activityTaskScheduledEventAttributes!.input!.payloads![0] as never) as Record<string, unknown> }));
    return { final, scheduled };
  }, ['orchestrator', 'deploy']);
}

describe('a release with its chart handed by content (real helm, real API server)', () => {
  test('deployed from ReleaseInput.charts although the spec path does not exist on the deploy worker', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'app-')), 'charts', 'hello-api');
    cpSync(CHART, dir, { recursive: true });
    const archive: ChartArchive = await packageChart(dir);
    rmSync(dir, { recursive: true, force: true });
    const ns = await namespace('relchart');
    const { final, scheduled } = await release({ spec: spec(uniqueName('charts'), dir, ns), charts: { [dir]: archive } });
    assert.equal(final.outcome, 'succeeded', final.message);
    assert.deepEqual(helmHistory('hello-api', ns).map((h) => [h.revision, h.status, (h as unknown as { chart: string }).chart]), [[1, 'deployed', `${archive.name}-${archive.version}`]]);
    assert.ok(await deploymentImage(ns, 'hello-api'));
    const deployInput = scheduled.find((s) => s.type === 'helmDeploy')!.input;
    assert.equal((deployInput.chartArchive as ChartArchive).sha256, archive.sha256);
    assert.deepEqual(scheduled.filter((s) => 'chartArchive' in s.input).map((s) => s.type), ['helmDeploy'], 'only helmDeploy carries the archive');
  });

  test('without charts, helmDeploy is scheduled without the field (inputs as before)', async () => {
    const ns = await namespace('relpath');
    const { final, scheduled } = await release({ spec: spec(uniqueName('charts'), CHART, ns) });
    assert.equal(final.outcome, 'succeeded', final.message);
    const deployInput = scheduled.find((s) => s.type === 'helmDeploy')!.input;
    assert.equal('chartArchive' in deployInput, false);
    assert.equal(helmHistory('hello-api', ns).length, 1);
  });
});
