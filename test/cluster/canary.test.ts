// Canary releases with the Istio router on the real API server (Istio's CRDs installed; NO Istio data
// plane runs here: the tests assert the VirtualService objects the API server stores) and analysis
// from a real Prometheus scraping real example-service processes whose error rate the test controls.
// Helm, traffic, scaling and Prometheus activities are real; the build is skipped.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { createDeployActivities, createIntegrationActivities } from '../../activities/index.js';
import { kube } from '../../activities/kube.js';
import { PrometheusProvider } from '../../activities/metrics/prometheus.js';
import { parseSpec } from '../../spec/load.js';
import type { MetricSpec } from '../../spec/schema.js';
import { CHART, deploymentImage, helmHistory, namespace, webCanarySpec } from '../helpers/cluster.js';
import { errorRateQuery, startApp, startPrometheus, type App, type Prometheus } from '../helpers/prometheus.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { istioNamespace, routeWeights } from '../helpers/istio.js';
import { runCli } from '../helpers/cli.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
let stable: App;
let canaryApp: App;
let prom: Prometheus;

before(async () => {
  ctx = await connectClient();
  [stable, canaryApp] = await Promise.all([startApp('stable'), startApp('canary')]);
  prom = await startPrometheus([stable.target, canaryApp.target]);
  await eventually(async () => (await prom.query(errorRateQuery('canary'))) === 0, 30_000, 'canary error rate 0 in Prometheus');
});
after(async () => {
  stable.stop();
  canaryApp.stop();
  await prom.stop();
  await ctx.close();
});


/** A namespace with the stable release installed and Istio routing 100% to it. */
const stage = () => istioNamespace('canary');
const weights = routeWeights;

/** Records every distinct canary weight the API server shows while `fn` runs. */
async function watchWeights<T>(ns: string, fn: () => Promise<T>): Promise<{ result: T; seen: number[]; restoredAt: () => number | undefined }> {
  const seen: number[] = [];
  let restored: number | undefined;
  let running = true;
  const poll = (async () => {
    while (running) {
      const [s, c] = await weights(ns).catch(() => [-1, -1] as [number, number]);
      if (c >= 0 && seen[seen.length - 1] !== c) seen.push(c);
      if (seen.some((x) => x > 0) && s === 100 && c === 0 && restored === undefined) restored = Date.now();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return { result: await fn(), seen, restoredAt: () => restored };
  } finally {
    running = false;
    await poll;
  }
}

function canarySpec(service: string, ns: string, steps: unknown[], metric: Partial<MetricSpec> = {}) {
  return webCanarySpec(service, ns, {
    scaling: { mode: 'proportional', replicas: 2 },
    scaleDownAfterPromotion: true,
    steps,
    metrics: [{ name: 'error-rate', prometheus: { query: errorRateQuery('canary'), address: prom.url }, thresholdRange: { max: 0.05 }, interval: '1s', count: 2, failureLimit: 1, ...metric }],
  });
}

const real = () => ({ deploy: { ...createDeployActivities(), ...createIntegrationActivities() } });

describe('canary with Istio routes and real Prometheus data', () => {
  test('5 -> 25 -> 50 -> 100 with passing analysis: the VirtualService follows the steps; promotion ends at stable 100 with the canary images', async () => {
    await canaryApp.fault(0);
    const ns = await stage();
    const spec = canarySpec(uniqueName('canary'), ns, [{ setWeight: 5 }, { analysis: { metrics: ['error-rate'] } }, { setWeight: 25 }, { pause: '1s' }, { setWeight: 50 }, { pause: '1s' }, { setWeight: 100 }]);
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const { result: final, seen } = await watchWeights(ns, async () => {
        const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v2' });
        return ctx.shipyard.wait(releaseId, undefined, 200);
      });
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.deepEqual(seen.filter((w) => w > 0), [5, 25, 50, 100]);
      assert.deepEqual(await weights(ns), [100, 0]);
      assert.equal(await deploymentImage(ns, 'web'), await deploymentImage(ns, 'web-canary'), 'stable runs the canary images');
      assert.equal((await kube().apps.readNamespacedDeployment({ name: 'web-canary', namespace: ns })).spec?.replicas, 0, 'canary scaled to 0');
      assert.ok(final.status!.metrics.length >= 2 && final.status!.metrics.every((m) => m.phase === 'successful' && m.value === 0));
    });
  });

  test('the error rate rises during the 25% step: background analysis fails, weights return to 100/0 at once, canary scaled down, helm undone', async () => {
    await canaryApp.fault(0);
    const ns = await stage();
    const spec = canarySpec(uniqueName('breach'), ns, [{ setWeight: 5 }, { analysis: { metrics: ['error-rate'], background: true } }, { setWeight: 25 }, { pause: '2m' }, { setWeight: 100 }]);
    const queues = uniqueQueues();
    let breachVisible = 0;
    await withWorkers(queues, real(), async () => {
      const { result: final, restoredAt } = await watchWeights(ns, async () => {
        const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v3' });
        await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.weight === 25, '25% step');
        await canaryApp.fault(0.5);
        breachVisible = (await eventually(async () => ((await prom.query(errorRateQuery('canary'))) ?? 0) > 0.05 && Date.now(), 30_000, 'breach in Prometheus')) as number;
        return ctx.shipyard.wait(releaseId, undefined, 100);
      });
      await canaryApp.fault(0);
      assert.equal(final.outcome, 'rolled-back', final.message);
      assert.match(final.status!.error!.message, /analysis background-from-step-2 in production: metric error-rate failed 2 time\(s\), limit 1/);
      assert.deepEqual(await weights(ns), [100, 0]);
      assert.equal((await kube().apps.readNamespacedDeployment({ name: 'web', namespace: ns })).spec?.template.spec?.containers[0].image, 'registry.local/web:v1', 'stable untouched');
      assert.deepEqual(helmHistory('web-canary', ns), [], 'the canary release installed by this release was uninstalled');
      const latency = restoredAt()! - breachVisible;
      // interval 1s x (failureLimit 1 + 1) measurements, plus one activity round trip and Prometheus' own rate window.
      assert.ok(latency < 2 * 1000 + 8000, `weights restored ${latency}ms after the breach was visible`);
      console.log(`# breach visible in Prometheus -> weights 100/0: ${latency} ms (interval 1s, failureLimit 1)`);
    });
  });

  test('pause {} waits for resume; an approval step approved from the CLI; abort mid-pause restores the weights', async () => {
    await canaryApp.fault(0);
    const ns = await stage();
    const spec = canarySpec(uniqueName('gates'), ns, [{ setWeight: 10 }, { pause: {} }, { setWeight: 30 }, { approval: { approvers: ['alice'] } }, { setWeight: 60 }, { pause: '10m' }, { setWeight: 100 }]);
    const queues = uniqueQueues();
    const env = { SHIPYARD_ORCHESTRATOR_QUEUE: queues.orchestrator, SHIPYARD_BUILD_QUEUE: queues.build, SHIPYARD_DEPLOY_QUEUE: queues.deploy };
    await withWorkers(queues, real(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v4' });
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause until resumed', 'pause {}');
      assert.deepEqual(await weights(ns), [90, 10]);
      assert.equal((await runCli(['resume', releaseId, '--as', 'ops'], env)).code, 0);
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.approvals.pending?.gate === 'production/canary/step-4', 'approval step');
      assert.deepEqual(await weights(ns), [70, 30]);
      const approved = await runCli(['approve', releaseId, '--as', 'alice', '--gate', 'production/canary/step-4'], env);
      assert.equal(approved.code, 0, approved.stderr);
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause 10m', 'long pause');
      assert.deepEqual(await weights(ns), [40, 60]);
      assert.equal((await runCli(['abort', releaseId, '--as', 'ops', '--reason', 'enough'], env)).code, 0);
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'aborted');
      assert.deepEqual(await weights(ns), [100, 0]);
      assert.equal((await kube().apps.readNamespacedDeployment({ name: 'web-canary', namespace: ns }).catch(() => undefined))?.spec?.replicas ?? 0, 0);
    });
  });
});

describe('Prometheus provider against a real Prometheus', () => {
  const provider = () => new PrometheusProvider();
  const metric = (query: string, over: Partial<MetricSpec> = {}): MetricSpec => ({
    name: 'm', prometheus: { query, address: prom.url }, thresholdRange: { max: 1 }, interval: '1s', count: 1, failureLimit: 0, consecutiveErrorLimit: 0, inconclusive: 'fail', dryRun: false, ...over,
  });

  test('one series is a number; no series is no data; several series are an error that says how many', async () => {
    assert.equal(await provider().value(metric(errorRateQuery('stable'))), 0);
    assert.equal(await provider().value(metric('sum(http_requests_total{version="nope"})')), null);
    await assert.rejects(provider().value(metric('http_requests_total')), (err: { type?: string; message: string }) => err.type === 'AmbiguousQuery' && /query returned \d+ series/.test(err.message));
    await assert.rejects(provider().value(metric('sum(rate(')), (err: { type?: string; nonRetryable?: boolean }) => err.type === 'BadQuery' && err.nonRetryable === true);
    const range = await provider().value(metric('sum(http_requests_total{version="stable"})', { prometheus: { query: 'sum(http_requests_total{version="stable"})', address: prom.url, range: { window: '10s', step: '1s', reduce: 'max' } } }));
    assert.ok(range !== null && range > 0);
  });

  test('Prometheus restarted mid-analysis: the failed query is retried and counts as an error, not a failed measurement', async () => {
    await prom.stop();
    await assert.rejects(provider().value(metric(errorRateQuery('canary'))), (err: { type?: string; nonRetryable?: boolean }) => err.type === 'MetricQueryError' && err.nonRetryable !== true);
    await prom.restart();
    assert.notEqual(await eventually(async () => (await provider().value(metric(errorRateQuery('stable')))) !== null || undefined, 30_000, 'data again'), undefined);
  });
});

describe('post-deploy checks (HTTP probes and Prometheus assertions after the rollout)', () => {
  function checkedSpec(service: string, ns: string, maxErrorRate: number) {
    return parseSpec(
      stringify({
        service,
        source: { repo: 'https://git.example.com/web.git' },
        environments: [
          {
            name: 'staging',
            deploy: { helm: { chart: CHART, release: 'web', namespace: ns, timeout: '60s' } },
            health: { deployment: 'web', timeout: '60s' },
            checks: {
              http: [{ url: `${stable.url}/healthz`, expectStatus: 200 }],
              metrics: [
                { name: 'up', prometheus: { query: 'min(up)', address: prom.url }, thresholdRange: { min: 1 }, interval: '1s' },
                { name: 'errors', prometheus: { query: errorRateQuery('canary'), address: prom.url }, thresholdRange: { max: maxErrorRate }, interval: '1s', count: 2, inconclusive: 'ignore' },
              ],
            },
          },
        ],
      }),
    );
  }

  test('passing checks let the deploy through; a failing Prometheus assertion rolls the helm release back', async () => {
    await canaryApp.fault(0);
    // Earlier tests' errors must have left Prometheus' rate window first.
    await eventually(async () => (await prom.query(errorRateQuery('canary'))) === 0, 30_000, 'canary error rate back to 0');
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const ns = await namespace('checks');
      const ok = await startRelease(ctx.shipyard, queues, checkedSpec(uniqueName('checks'), ns, 0.05), { version: 'v1' });
      const good = await ctx.shipyard.wait(ok.releaseId, undefined, 200);
      assert.equal(good.outcome, 'succeeded', `${good.message} ${JSON.stringify(good.status?.metrics)}`);
      const checks = good.status!.metrics.filter((m) => m.analysis === 'post-deploy');
      assert.deepEqual(checks.map((m) => m.metric).sort(), ['errors', 'errors', 'up']);
      assert.ok(checks.every((m) => m.phase !== 'failed'));

      await canaryApp.fault(1);
      await eventually(async () => ((await prom.query(errorRateQuery('canary'))) ?? 0) > 0.5, 30_000, 'errors visible');
      const ns2 = await namespace('checks');
      const bad = await startRelease(ctx.shipyard, queues, checkedSpec(uniqueName('checksbad'), ns2, 0.05), { version: 'v2' });
      const failed = await ctx.shipyard.wait(bad.releaseId, undefined, 200);
      assert.equal(failed.outcome, 'rolled-back', failed.message);
      assert.match(failed.status!.error!.message, /analysis post-deploy in staging: metric errors failed/);
      assert.deepEqual(helmHistory('web', ns2), [], 'the release this deploy installed is gone');
      await canaryApp.fault(0);
    });
  });
});

describe('crash safety with the real router (worker process SIGKILLed)', () => {
  test('killed during a pause and again during analysis: the release resumes and the weights end correct', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const { temporalAddress } = await import('../helpers/temporal.js');
    await canaryApp.fault(0);
    await eventually(async () => (await prom.query(errorRateQuery('canary'))) === 0, 30_000, 'canary error rate back to 0');
    const ns = await stage();
    const queues = uniqueQueues('crashcanary');
    const start = () =>
      spawn(process.execPath, [fileURLToPath(new URL('../../workers/all-in-one.js', import.meta.url))], {
        env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), SHIPYARD_ORCHESTRATOR_QUEUE: queues.orchestrator, SHIPYARD_BUILD_QUEUE: queues.build, SHIPYARD_DEPLOY_QUEUE: queues.deploy, SHIPYARD_METRICS_ADDRESS: 'off', SHIPYARD_LOG_LEVEL: 'ERROR' },
        stdio: 'ignore',
      });
    const kill = (c: ReturnType<typeof start>) => new Promise<void>((r) => { c.once('exit', () => r()); c.kill('SIGKILL'); });
    const spec = canarySpec(uniqueName('crashcanary'), ns, [{ setWeight: 20 }, { pause: '5s' }, { setWeight: 40 }, { analysis: { metrics: ['error-rate'] } }, { setWeight: 100 }], { count: 6 });
    let worker = start();
    const scoped = new (ctx.shipyard.constructor as typeof import('../../client/index.js').ShipyardClient)(ctx.client, ctx.shipyard.settings, queues);
    const { releaseId } = await scoped.start({ spec, commit: 'abcdef1234567'.padEnd(40, '0'), version: 'v5', trigger: { kind: 'cli', by: 'carol' } });
    await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause 5s', 'pause', 90_000);
    await kill(worker);
    assert.deepEqual(await weights(ns), [80, 20], 'the weight set before the crash stays');
    worker = start();
    await waitForStatus(ctx.shipyard, releaseId, (s) => s.metrics.length >= 2, 'analysis under way', 90_000);
    await kill(worker);
    worker = start();
    try {
      const final = await ctx.shipyard.wait(releaseId, undefined, 300);
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.deepEqual(await weights(ns), [100, 0]);
      assert.equal(final.status!.metrics.length, 6, 'the analysis resumed where it was: 6 measurements in all');
      assert.deepEqual(helmHistory('web-canary', ns).map((h) => h.revision), [1], 'the canary was deployed once');
    } finally {
      await kill(worker);
    }
  });
});
