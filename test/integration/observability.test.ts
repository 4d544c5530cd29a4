// Shipyard's own observability: a real orchestrator worker process exports release metrics on its
// Prometheus endpoint and writes JSON log lines carrying workflow IDs. Activities are MOCKED in the
// test process; the workflows run in the spawned worker against the real dev server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeWorld } from '../helpers/fake-activities.js';
import { freePort } from '../helpers/net.js';
import { startRelease } from '../helpers/release.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { connectClient, eventually, temporalAddress, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

const ORCHESTRATOR = fileURLToPath(new URL('../../workers/orchestrator.js', import.meta.url));
const queues = uniqueQueues('obs');
let ctx: TemporalTestContext;
let worker: ChildProcess;
let metricsUrl = '';
let stdout = '';

before(async () => {
  ctx = await connectClient();
  // A free port can be taken by another test process before the worker binds it: make sure the
  // endpoint that answers is this worker's (its metrics name our task queue), else try another port.
  for (let attempt = 1; ; attempt++) {
    const address = `127.0.0.1:${await freePort()}`;
    metricsUrl = `http://${address}/metrics`;
    stdout = '';
    worker = spawn(process.execPath, [ORCHESTRATOR], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        SHIPYARD_ORCHESTRATOR_QUEUE: queues.orchestrator,
        SHIPYARD_METRICS_ADDRESS: address,
        SHIPYARD_LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    worker.stdout!.on('data', (d) => (stdout += d));
    try {
      await eventually(async () => (await (await fetch(metricsUrl)).text()).includes(queues.orchestrator), 30_000, 'this worker on its metrics endpoint');
      return;
    } catch (err) {
      worker.kill('SIGKILL');
      if (attempt === 3) throw err;
    }
  }
});
after(async () => {
  worker.kill('SIGTERM');
  await ctx.close();
});

test('release metrics on the worker endpoint; JSON logs with workflow and run IDs', async () => {
  const service = uniqueName('obs');
  const world = new FakeWorld().fail('checkHealth', 'pods crash-looping', { environment: 'production' });
  await withWorkers(queues, world.activities(), async () => {
    const ok = await startRelease(ctx.shipyard, queues, twoEnvSpec({ service, withBuild: false }), { environments: ['staging'] });
    assert.equal((await ctx.shipyard.wait(ok.releaseId, undefined, 200)).outcome, 'succeeded');
    const bad = await startRelease(ctx.shipyard, queues, twoEnvSpec({ service, withBuild: false }), { environments: ['production'] });
    assert.equal((await ctx.shipyard.wait(bad.releaseId, undefined, 200)).outcome, 'rolled-back');

    let last = '';
    const metrics = await eventually(async () => {
      last = await (await fetch(metricsUrl)).text();
      return last.includes('shipyard_rollbacks_total') ? last : undefined;
    }, 60_000, 'release metrics').catch((err) => {
      throw new Error(`${err.message}; the endpoint had: ${last.split('\n').filter((l) => /^shipyard|^temporal_workflow/.test(l)).join(' | ') || 'no shipyard or workflow metrics'}`);
    });
    const line = (name: string, labels: Record<string, string>) =>
      metrics.split('\n').find((l) => l.startsWith(name) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    assert.match(line('shipyard_releases_total', { service, outcome: 'succeeded' }) ?? '', / 1$/);
    assert.match(line('shipyard_releases_total', { service, outcome: 'rolled-back' }) ?? '', / 1$/);
    assert.match(line('shipyard_rollbacks_total', { service }) ?? '', / 1$/);
    assert.ok(line('shipyard_stage_duration_milliseconds_count', { service, stage: 'deploy' }), 'stage durations');
    assert.match(line('shipyard_release_stage_started_timestamp_seconds', { service, release: bad.releaseId, stage: 'health' }) ?? '', / 0$/, 'the stage gauge is back to 0 once the release ended');
    assert.ok(metrics.includes('temporal_workflow_completed') || metrics.includes('temporal_request'), 'the SDK runtime metrics are there too');

    const logs = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const stopping = logs.find((l) => l.msg === 'release stopping' && l.workflowId === bad.releaseId);
    assert.ok(stopping, 'the workflow log line carries its workflowId');
    assert.equal(stopping.level, 'warn');
    assert.match(stopping.runId, /^[0-9a-f-]{36}$/);
    assert.equal(stopping.stage, 'health');
    assert.match(stopping.time, /^\d{4}-\d\d-\d\dT/);
  }, ['build', 'deploy']); // the spawned process is this queue's only orchestrator: its endpoint sees every release
});
