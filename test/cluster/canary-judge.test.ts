// The statistical judge (canary.judge, judge steps) on real data: a real Prometheus scrapes two real
// example-service processes (versions `stable` and `canary`) whose latency the test sets; the judge
// samples both sides over the window with range queries and tests them (Mann-Whitney U, a
// two-proportion test). Traffic goes through the Istio router on the real API server (CRDs only, no
// data plane); helm, traffic and Prometheus activities are real, the build is skipped.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDeployActivities, createIntegrationActivities } from '../../activities/index.js';
import { startApp, startPrometheus, type App, type Prometheus } from '../helpers/prometheus.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { webCanarySpec } from '../helpers/cluster.js';
import { istioNamespace, routeWeights } from '../helpers/istio.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
let stable: App;
let canaryApp: App;
let prom: Prometheus;

/** Mean latency of one version over 3 s, sampled every second. */
const LATENCY = 'sum(rate(http_request_duration_seconds_sum{version="{{version}}"}[3s])) / sum(rate(http_request_duration_seconds_count{version="{{version}}"}[3s]))';
const ERRORS = 'sum(increase(http_requests_total{code=~"5..",version="{{version}}"}[{{window}}]))';
const TOTAL = 'sum(increase(http_requests_total{version="{{version}}"}[{{window}}]))';

before(async () => {
  ctx = await connectClient();
  [stable, canaryApp] = await Promise.all([startApp('stable'), startApp('canary')]);
  prom = await startPrometheus([stable.target, canaryApp.target]);
  await eventually(async () => ((await prom.query(LATENCY.replaceAll('{{version}}', 'canary'))) ?? -1) >= 0, 30_000, 'canary latency in Prometheus');
});
after(async () => {
  stable.stop();
  canaryApp.stop();
  await prom.stop();
  await ctx.close();
});

function judgeSpec(service: string, ns: string, judge: Record<string, unknown>, env: Record<string, unknown> = {}) {
  return webCanarySpec(
    service,
    ns,
    {
      steps: [{ setWeight: 20 }, { judge: { window: '25s' } }, { setWeight: 100 }],
      judge: { prometheus: { address: prom.url }, canary: { version: 'canary' }, baseline: { version: 'stable' }, step: '1s', minSamples: 20, ...judge },
    },
    { env },
  );
}

const latency = { name: 'latency', query: LATENCY, direction: 'increase', tolerance: 0.5 };
const errors = { name: 'errors', proportion: { errors: ERRORS, total: TOTAL }, direction: 'increase', tolerance: 0.5, minSamples: 100 };
const real = () => ({ deploy: { ...createDeployActivities(), ...createIntegrationActivities() } });

describe('the statistical canary judge against real Prometheus samples', () => {
  test('the same latency on both sides: score 100, each metric judged with its test and numbers, promoted', async () => {
    await Promise.all([stable.fault(0, '20ms'), canaryApp.fault(0, '20ms')]);
    const ns = await istioNamespace('judge');
    const spec = judgeSpec(uniqueName('judge-pass'), ns, { metrics: [{ ...latency, critical: true }, errors] });
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v2' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded', final.message);
      const [j] = final.status!.judgements!;
      assert.equal(j.verdict, 'pass', j.reason);
      assert.equal(j.score, 100);
      const lat = j.metrics.find((m) => m.metric === 'latency')!;
      assert.equal(lat.kind, 'samples');
      assert.ok(lat.canary.n >= 20 && lat.baseline.n >= 20, `samples ${lat.canary.n}/${lat.baseline.n}`);
      assert.ok(lat.canary.center! > 0.015 && lat.canary.center! < 0.06, `canary mean latency ${lat.canary.center}`);
      assert.ok(lat.effect! > 0.6 && lat.effect! < 1.5, `effect ${lat.effect}`);
      assert.equal(typeof lat.u, 'number');
      const err = j.metrics.find((m) => m.metric === 'errors')!;
      assert.equal(err.kind, 'proportion');
      assert.equal(err.verdict, 'pass', err.reason);
      assert.ok(err.canary.n >= 100, `canary requests ${err.canary.n}`);
      assert.deepEqual(await routeWeights(ns), [100, 0]);
      const history = await ctx.client.workflow.getHandle(releaseId).fetchHistory();
      const judged = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'judgeCanary');
      assert.equal(judged.length, 1, 'one judgeCanary activity');
    });
  });

  test('the canary is 150 ms slower: the critical latency metric fails, score 0, rolled back to the starting weights', async () => {
    await Promise.all([stable.fault(0, '20ms'), canaryApp.fault(0, '170ms')]);
    const ns = await istioNamespace('judge');
    const spec = judgeSpec(uniqueName('judge-fail'), ns, { metrics: [{ ...latency, critical: true }, errors] });
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v3' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'rolled-back', final.message);
      assert.match(final.message ?? '', /judgement step-2 in production: score 0 \(fail\)/);
      const [j] = final.status!.judgements!;
      const lat = j.metrics.find((m) => m.metric === 'latency')!;
      assert.equal(lat.verdict, 'fail', lat.reason);
      assert.ok(lat.effect! > 3, `effect ${lat.effect}`);
      assert.ok(lat.p! < 0.001, `p ${lat.p}`);
      assert.deepEqual(await routeWeights(ns), [100, 0], 'traffic back at the starting weights');
    });
  });

  test('a non-critical metric fails and the score is marginal: the approvers decide, the release goes on when approved', async () => {
    await Promise.all([stable.fault(0, '20ms'), canaryApp.fault(0, '170ms')]);
    const ns = await istioNamespace('judge');
    const spec = judgeSpec(uniqueName('judge-marginal'), ns, { marginal: 'approval', metrics: [latency, { ...errors, weight: 3 }] }, { approval: { approvers: ['alice'] } });
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v4' });
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.approvals.pending?.gate === 'production/approval', 'environment approval');
      await ctx.shipyard.approve(releaseId, { approver: 'alice' });
      const gate = await waitForStatus(ctx.shipyard, releaseId, (s) => s.approvals.pending?.gate === 'production/canary/judge-step-2', 'judge approval', 120_000);
      const [j] = gate.judgements!;
      assert.equal(j.verdict, 'marginal', j.reason);
      assert.equal(j.score, 75);
      assert.equal(j.action, 'approval');
      assert.equal(j.metrics.find((m) => m.metric === 'latency')!.verdict, 'fail');
      await ctx.shipyard.approve(releaseId, { approver: 'alice', comment: 'latency accepted for this release' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.deepEqual(await routeWeights(ns), [100, 0]);
    });
  });
});
