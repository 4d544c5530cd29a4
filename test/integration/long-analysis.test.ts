// Bounded history: a background analysis that runs for tens of thousands of measurements (what a
// 30 s interval does during a week-long approval) on the real dev server, with MOCKED activities.
// The analysis child continues as new; no run of it, nor the release, comes near Temporal's limit;
// approvals, status and abort keep working across the boundary, and the abort restores everything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeWorld } from '../helpers/fake-activities.js';
import { ERROR_RATE, twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { connectClient, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

/** Rounds (measurements of the one metric) to reach; SHIPYARD_LONG_ANALYSIS_ROUNDS may raise it (never below 20,000 in CI). */
const ROUNDS = Math.max(20_000, Number(process.env.SHIPYARD_LONG_ANALYSIS_ROUNDS) || 0);
const HISTORY_LIMIT = 10_000;

test(`a background analysis of ${ROUNDS} rounds continues as new; every run stays under ${HISTORY_LIMIT} events; abort after it restores everything`, async () => {
  const world = new FakeWorld();
  const service = uniqueName('long');
  const metrics = [{ ...ERROR_RATE, count: 1 }];
  const spec = twoEnvSpec({
    service,
    withBuild: false,
    canarySteps: [{ setWeight: 10 }, { analysis: { metrics: metrics.map((m) => m.name), background: true } }, { approval: { approvers: ['alice'], timeout: '7d' } }, { setWeight: 100 }],
    metrics,
  });
  // The spec refuses intervals under 1 s; the test shortens them after validation to run fast.
  for (const m of spec.environments[1].canary!.metrics) m.interval = '1ms';
  const queues = uniqueQueues();
  await withWorkers(queues, world.activities(), async () => {
    // A small history budget per analysis run: many continue-as-new boundaries in a short test.
    const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'], analysisHistoryBudget: 150 });
    const started = Date.now();
    const far = await waitForStatus(ctx.shipyard, releaseId, (s) => (s.analyses.find((a) => a.workflowId)?.rounds ?? 0) >= ROUNDS, `${ROUNDS} rounds`, 15 * 60_000);
    const analysis = far.analyses.find((a) => a.workflowId)!;
    console.log(`# ${analysis.rounds} rounds in ${((Date.now() - started) / 1000).toFixed(0)} s over ${analysis.runs} run(s) of ${analysis.workflowId}`);
    assert.ok((analysis.runs ?? 1) >= 3, `the analysis continued as new (${analysis.runs} runs)`);
    assert.equal(far.approvals.pending?.gate, 'production/canary/step-3', 'the release still waits at its approval');
    assert.ok(far.metrics.length <= 200, 'status keeps a bounded window of measurements');

    // Abort after the continue-as-new: the current run is stopped, everything is restored.
    await ctx.shipyard.abort(releaseId, 'erin', 'enough');
    const final = await ctx.shipyard.wait(releaseId, undefined, 200);
    assert.equal(final.outcome, 'aborted');
    assert.deepEqual(world.traffic.get(`default/${service}`), { stable: 100, canary: 0 });
    assert.deepEqual(final.status!.compensation.map((c) => c.status), ['done', 'done']);
    assert.equal(final.status!.analyses.find((a) => a.workflowId)?.phase, 'cancelled');

    // Every run of the release and of the analysis stays far from Temporal's 51,200-event limit.
    const runs: { id: string; events: number }[] = [];
    for (const id of [releaseId, analysis.workflowId!]) {
      for await (const w of ctx.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push({ id: `${id}@${w.runId}`, events: w.historyLength });
    }
    assert.ok(runs.length >= 3, `release and several analysis runs listed (${runs.length})`);
    const longest = Math.max(...runs.map((r) => r.events));
    console.log(`# ${runs.length} runs, longest history ${longest} events; release ${runs.find((r) => r.id.startsWith(releaseId + '@'))!.events} events`);
    for (const r of runs) assert.ok(r.events < HISTORY_LIMIT, `${r.id} has ${r.events} events`);
  });
});
