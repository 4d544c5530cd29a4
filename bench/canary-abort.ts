// Benchmark: abort latency of a canary — from an error-rate breach being visible in Prometheus to the
// VirtualService back at 100/0 — for several analysis intervals, in one run, on the local cluster
// with a real Prometheus (run by `npm run bench` only when a cluster is up: BENCH_CLUSTER=1 makes
// scripts/run-bench.js start one). Flagger's documented time to rollback is interval x threshold
// (default 60 s x threshold); Shipyard aborts on the failing measurement.
import { stringify } from 'yaml';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeployActivities, createIntegrationActivities } from '../activities/index.js';
import { helmDeploy } from '../activities/deploy/helm.js';
import { kube } from '../activities/kube.js';
import { parseSpec } from '../spec/load.js';
import { CHART, helmSpec, namespace } from '../test/helpers/cluster.js';
import { errorRateQuery, startApp, startPrometheus } from '../test/helpers/prometheus.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers } from '../test/helpers/temporal.js';

const GROUP = { group: 'networking.istio.io', version: 'v1' };
const INTERVALS = (process.env.BENCH_INTERVALS || '1s,2s,5s').split(',');

async function main() {
  const ctx = await connectClient();
  const canary = await startApp('canary');
  const prom = await startPrometheus([canary.target]);
  await eventually(async () => (await prom.query(errorRateQuery('canary'))) === 0, 30_000, 'prometheus data');
  const rows: string[] = [];
  for (const interval of INTERVALS) {
    await canary.fault(0);
    await eventually(async () => (await prom.query(errorRateQuery('canary'))) === 0, 30_000, 'error rate back to 0');
    const ns = await namespace('bench');
    await new MockActivityEnvironment().run(helmDeploy, { releaseId: 'b', service: 'web', version: 'v1', commit: 'c', helm: helmSpec('web', ns), image: null });
    await kube().custom.createNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'destinationrules', body: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web' }, spec: { host: 'web', subsets: [{ name: 'stable', labels: { version: 'stable' } }, { name: 'canary', labels: { version: 'canary' } }] } } });
    await kube().custom.createNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'virtualservices', body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web' }, spec: { hosts: ['web'], http: [{ name: 'primary', route: [{ destination: { host: 'web', subset: 'stable' }, weight: 100 }] }] } } });
    const spec = parseSpec(stringify({
      service: uniqueName('bench'),
      source: { repo: 'x' },
      environments: [{
        name: 'production',
        deploy: { helm: { chart: CHART, release: 'web-canary', namespace: ns, values: { track: 'canary' } } },
        health: { deployment: 'web-canary' },
        canary: {
          router: { istio: { virtualService: 'web', namespace: ns, route: 'primary' } },
          workloads: { stable: 'web', canary: 'web-canary' },
          steps: [{ setWeight: 20 }, { analysis: { metrics: ['error-rate'], background: true } }, { pause: '10m' }],
          metrics: [{ name: 'error-rate', prometheus: { query: errorRateQuery('canary'), address: prom.url }, thresholdRange: { max: 0.05 }, interval, failureLimit: 0 }],
        },
      }],
    }));
    const queues = uniqueQueues('bench');
    await withWorkers(queues, { deploy: { ...createDeployActivities(), ...createIntegrationActivities() } }, async () => {
      const { releaseId } = await ctx.shipyard.start({ spec, commit: 'abcdef1234567'.padEnd(40, '0'), trigger: { kind: 'api', by: 'bench' }, taskQueues: queues });
      await eventually(async () => (await ctx.shipyard.status(releaseId)).canary?.description === 'pause 10m', 60_000, 'canary at 20%');
      await canary.fault(1);
      const breach = (await eventually(async () => ((await prom.query(errorRateQuery('canary'))) ?? 0) > 0.05 && Date.now(), 60_000, 'breach')) as number;
      const restored = (await eventually(async () => {
        const vs = (await kube().custom.getNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'virtualservices', name: 'web' })) as { spec: { http: { route: { destination: { subset: string }; weight?: number }[] }[] } };
        return (vs.spec.http[0].route.find((d) => d.destination.subset === 'canary')?.weight ?? 0) === 0 && Date.now();
      }, 120_000, 'weights restored')) as number;
      await ctx.shipyard.wait(releaseId, undefined, 200);
      rows.push(`  interval ${interval.padEnd(4)} breach visible -> 100/0 in ${((restored - breach) / 1000).toFixed(1)} s   (Flagger default: 60 s x threshold; with its interval = ${interval} and threshold 1: ${interval})`);
    }, ['orchestrator', 'deploy']);
  }
  console.log('canary abort latency, failureLimit 0 (the first failing measurement aborts):');
  for (const r of rows) console.log(r);
  canary.stop();
  await prom.stop();
  await ctx.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
