// Releases meeting each other and being retried, with real helm, Istio objects on the real API server
// (no Istio data plane: the stored VirtualService is asserted) and a real Prometheus:
//   - two overlapping releases of one environment: the second waits; the first is rejected at 10%,
//     and the second starts from the state before the first (helm manifest, traffic 100/0)
//   - a rollback, then a retry of the same release ID: a new helm revision, notifications again
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeployActivities, createIntegrationActivities } from '../../activities/index.js';
import { helmDeploy } from '../../activities/deploy/helm.js';
import { parseSpec } from '../../spec/load.js';
import { execFileSync } from 'node:child_process';
import { CHART, helmHistory, helmSpec, namespace, webCanarySpec } from '../helpers/cluster.js';
import { startEndpoint, type Endpoint } from '../helpers/fake-endpoints.js';
import { errorRateQuery, startApp, startPrometheus, type App, type Prometheus } from '../helpers/prometheus.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { istioNamespace, routeWeights } from '../helpers/istio.js';
import { connectClient, eventually, randomCommit, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
let canaryApp: App;
let prom: Prometheus;
let hook: Endpoint;

before(async () => {
  ctx = await connectClient();
  canaryApp = await startApp('canary');
  prom = await startPrometheus([canaryApp.target]);
  hook = await startEndpoint((_req, res) => void res.writeHead(200).end('{}'));
  process.env.TEAM_WEBHOOK_URL = hook.url;
  await eventually(async () => (await prom.query(errorRateQuery('canary'))) === 0, 30_000, 'canary error rate 0 in Prometheus');
});
after(async () => {
  canaryApp.stop();
  await prom.stop();
  await hook.close();
  await ctx.close();
});


const stage = () => istioNamespace('team');
const weights = routeWeights;

function spec(service: string, ns: string, steps: unknown[]) {
  return webCanarySpec(
    service,
    ns,
    { steps, metrics: [{ name: 'error-rate', prometheus: { query: errorRateQuery('canary'), address: prom.url }, thresholdRange: { max: 0.05 }, interval: '1s', count: 2, failureLimit: 0 }] },
    { top: { notify: [{ webhook: { urlEnv: 'TEAM_WEBHOOK_URL' }, on: ['started', 'waiting-approval', 'rolled-back', 'succeeded'] }] } },
  );
}

const real = () => ({ deploy: { ...createDeployActivities(), ...createIntegrationActivities() } });
const manifest = (ns: string, revision?: number) => execFileSync('helm', ['get', 'manifest', 'web-canary', '-n', ns, ...(revision ? ['--revision', String(revision)] : [])], { encoding: 'utf8' });
const lastDeployed = (ns: string) => helmHistory('web-canary', ns).filter((h) => h.status === 'deployed').at(-1);

describe('releases in a team, on the real cluster', () => {
  test('two overlapping releases: the second waits; the first is rejected at 10%; the second starts from the state before the first', async () => {
    await canaryApp.fault(0);
    const ns = await stage();
    const s = spec(uniqueName('team'), ns, [{ setWeight: 10 }, { approval: { approvers: ['alice'] } }, { setWeight: 100 }]);
    const queues = uniqueQueues();
    // The environment before either release: the canary chart installed at revision 1 (two replicas;
    // the releases deploy one, so each deploy is a revision of its own).
    const env = new MockActivityEnvironment();
    await env.run(helmDeploy, { releaseId: 'setup', service: 'web', version: 'v1', commit: 'c', helm: helmSpec('web-canary', ns, { values: { track: 'canary', replicaCount: 2 } }), image: null });
    const before = manifest(ns);
    await withWorkers(queues, real(), async () => {
      const a = await startRelease(ctx.shipyard, queues, s, { version: 'v2' });
      await waitForStatus(ctx.shipyard, a.releaseId, (st) => st.approvals.pending !== null, 'A at 10%', 90_000);
      assert.deepEqual(await weights(ns), [90, 10]);
      assert.match(lastDeployed(ns)!.description, new RegExp(a.releaseId.replace(/[/+]/g, '.')));
      const revisionsBefore = helmHistory('web-canary', ns).length;
      const b = await startRelease(ctx.shipyard, queues, s, { version: 'v3', commit: randomCommit() });
      await waitForStatus(ctx.shipyard, b.releaseId, (st) => st.stages.at(-1)?.stage === 'queued', 'B queued');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(helmHistory('web-canary', ns).length, revisionsBefore, 'B deployed nothing while A held the environment');

      await ctx.shipyard.reject(a.releaseId, { approver: 'alice', comment: 'no' });
      assert.equal((await ctx.shipyard.wait(a.releaseId, undefined, 200)).outcome, 'rejected');
      const atGate = await waitForStatus(ctx.shipyard, b.releaseId, (st) => st.approvals.pending !== null, 'B at 10%', 90_000);
      // B's baselines are what A left after compensating: traffic 100/0, helm at the manifest before A.
      assert.match(atGate.compensation.find((c) => /restore web traffic/.test(c.description))!.description, /stable 100 \/ canary 0/);
      const baseline = atGate.deployments.find((d) => d.environment === 'production')!.detail.previousRevision as number;
      assert.equal(manifest(ns, baseline), before, "B's rollback target is the state before A");
      assert.match(lastDeployed(ns)!.description, new RegExp(b.releaseId.replace(/[/+]/g, '.')));
      assert.deepEqual(await weights(ns), [90, 10]);

      await ctx.shipyard.abort(b.releaseId, 'test');
      const finalB = await ctx.shipyard.wait(b.releaseId, undefined, 200);
      assert.equal(finalB.outcome, 'aborted');
      assert.deepEqual(await weights(ns), [100, 0]);
      assert.equal(manifest(ns), before, 'helm serves what it did before both');
      assert.equal(finalB.status!.canary?.weight, 0, 'status reads the restored weight');
    });
  });

  test('rollback, then retry of the same release: a new helm revision and notifications sent again', async () => {
    const ns = await stage();
    const s = spec(uniqueName('retry'), ns, [{ setWeight: 20 }, { analysis: { metrics: ['error-rate'] } }, { setWeight: 100 }]);
    const queues = uniqueQueues();
    const commit = randomCommit();
    await withWorkers(queues, real(), async () => {
      await canaryApp.fault(0.5);
      await eventually(async () => ((await prom.query(errorRateQuery('canary'))) ?? 0) > 0.05, 30_000, 'breach visible');
      const first = await startRelease(ctx.shipyard, queues, s, { version: 'v4', commit });
      const f1 = await ctx.shipyard.wait(first.releaseId, undefined, 200);
      assert.equal(f1.outcome, 'rolled-back', f1.message);
      assert.deepEqual(helmHistory('web-canary', ns), [], 'the first attempt installed the canary release and uninstalled it');
      const sentFirst = hook.received.filter((r) => JSON.stringify(r.body).includes(first.releaseId)).length;
      assert.ok(sentFirst >= 2, 'started and rolled-back notified');

      await canaryApp.fault(0);
      await eventually(async () => (await prom.query(errorRateQuery('canary'))) === 0, 60_000, 'error rate back to 0');
      const again = await ctx.shipyard.start({ spec: s, commit, version: 'v4', trigger: { kind: 'cli', by: 'carol' }, taskQueues: queues, retryFailed: true });
      assert.ok(again.started);
      const f2 = await ctx.shipyard.wait(again.releaseId, undefined, 200);
      assert.equal(f2.outcome, 'succeeded', f2.message);
      assert.notEqual(f2.status!.attempt, f1.status!.attempt);
      const history = helmHistory('web-canary', ns);
      assert.equal(history.at(-1)?.status, 'deployed', 'the retry installed it again: a new helm revision');
      assert.match(history.at(-1)!.description, new RegExp(first.releaseId.replace(/[/+]/g, '.')));
      const sentAll = hook.received.filter((r) => JSON.stringify(r.body).includes(first.releaseId)).length;
      assert.ok(sentAll >= sentFirst + 2, `the retry notified again (${sentFirst} -> ${sentAll})`);
      assert.deepEqual(await weights(ns), [100, 0]);
    });
  });

  test('abort while helm --wait hangs on a rollout that never becomes ready: the release ends rolled back to the previous revision at once', async () => {
    const ns = await namespace('abort');
    // Revision 1: the chart as it was before the release.
    const env = new MockActivityEnvironment();
    await env.run(helmDeploy, { releaseId: 'setup', service: 'web', version: 'v1', commit: 'c', helm: helmSpec('web-canary', ns, { values: { track: 'canary', replicaCount: 1 } }), image: null });
    const before = manifest(ns);
    const s = parseSpec(
      stringify({
        service: uniqueName('abort'),
        source: { repo: 'https://git.example.com/web.git' },
        // A node pool that does not exist: the upgrade's pods never schedule, helm --wait waits its 5 minutes.
        environments: [{ name: 'production', deploy: { helm: { chart: CHART, release: 'web-canary', namespace: ns, timeout: '5m', values: { track: 'canary', replicaCount: 1, nodeSelector: { pool: 'nowhere' } } } }, health: { deployment: 'web-canary', timeout: '60s' } }],
      }),
    );
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, s, { version: 'v2' });
      await eventually(async () => (helmHistory('web-canary', ns).at(-1)?.status === 'pending-upgrade' ? true : undefined), 60_000, 'helm waiting on the upgrade');
      const abortedAt = Date.now();
      await ctx.shipyard.abort(releaseId, 'erin', 'stuck rollout');
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      const seconds = (Date.now() - abortedAt) / 1000;
      console.log(`# abort during helm --wait -> release ended, helm back at the previous revision: ${seconds.toFixed(1)} s`);
      assert.equal(final.outcome, 'aborted');
      assert.ok(seconds < 60, `rolled back in ${seconds.toFixed(1)} s`);
      const undo = final.status!.compensation.find((c) => /helm rollback web-canary 1/.test(c.description));
      assert.equal(undo?.status, 'done', undo?.detail ?? undo?.error);
      assert.equal(manifest(ns), before, 'helm serves revision 1 again');
      assert.equal(lastDeployed(ns)?.status, 'deployed');
      assert.match(lastDeployed(ns)!.description, /Rollback to 1/);
    });
  });
});
