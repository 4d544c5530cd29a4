// Multi-cluster waves on three real control planes: the tier's kwok cluster (`a`, reached by its
// context in the worker's KUBECONFIG) and two more started here (`b`, `c`, each reached by its own
// kubeconfig file), with real helm and the real release workflow; nothing mocked. The release image
// is set through the chart's values (no build here): each version's tag is what the Deployments run.
//   - waves [[a], [b, c]] succeed: a helm revision in every cluster, status.clusters all promoted,
//     one lease per cluster
//   - a failure in wave 2 (cluster c cordoned: its rollout can never become ready) rolls back wave 1
//     too: helm back at revision 1 everywhere, outcome rolled-back, the compensation names each cluster
//   - the lease is per cluster: a release holding `a` (at its approval) does not hold up one to `b`
//   - a canary per cluster (Istio's CRDs in every cluster, a VirtualService `web` in each, analysis
//     from a real Prometheus): each cluster's VirtualService goes 25 -> 100 and back to 100/0 with
//     the stable Deployment on the release's image; wave 2's canaries start after wave 1 promoted
//   - a canary fault only in c (its VirtualService has no `primary` route): the release rolls back,
//     every VirtualService at its starting weights, a's promotion undone (stable on v1 again)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeployActivities, createIntegrationActivities } from '../../activities/index.js';
import { helmDeploy } from '../../activities/deploy/helm.js';
import { kube } from '../../activities/kube.js';
import { parseSpec } from '../../spec/load.js';
import { CHART, helmSpec, webCanarySpec } from '../helpers/cluster.js';
import { istioNamespace, routeWeights, virtualService } from '../helpers/istio.js';
import { startPrometheus, type Prometheus } from '../helpers/prometheus.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { connectClient, randomCommit, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

interface ExtraCluster {
  kubeconfig: string;
  stop(): Promise<void>;
}
const ROOT = join(import.meta.dirname, '../../..');

let ctx: TemporalTestContext;
let extra: ExtraCluster[] = [];
let prom: Prometheus;
/** Cluster name -> how the spec and the test reach it. */
let targets: Record<'a' | 'b' | 'c', { kubeContext?: string; kubeconfig?: string }>;

before(async () => {
  ctx = await connectClient();
  const { startCluster } = (await import(pathToFileURL(join(ROOT, 'scripts/cluster.js')).href)) as {
    startCluster(o: { name: string; nodes?: number }): Promise<ExtraCluster>;
  };
  const started = Date.now();
  // The same tooling the tier uses; one fake node each is enough (cold time).
  extra = await Promise.all(['b', 'c'].map((n) => startCluster({ name: `shipyard-waves-${n}-${process.pid}`, nodes: 1 })));
  // Istio's CRDs, as the tier installs them in `a` (server-side: they are too big for client-side apply).
  const crds = process.env.SHIPYARD_ISTIO_CRDS;
  if (!crds) throw new Error('SHIPYARD_ISTIO_CRDS is not set: run the cluster tier through scripts/run-tests.js');
  for (const c of extra) {
    execFileSync('kubectl', ['--kubeconfig', c.kubeconfig, 'apply', '--server-side', '-f', crds], { stdio: 'ignore' });
    execFileSync('kubectl', ['--kubeconfig', c.kubeconfig, 'wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s'], { stdio: 'ignore' });
  }
  console.log(`# two extra kwok clusters up with Istio's CRDs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  targets = { a: { kubeContext: kube().kc.getCurrentContext() }, b: { kubeconfig: extra[0].kubeconfig }, c: { kubeconfig: extra[1].kubeconfig } };
  // No scrape targets: the analysis' query is a constant (vector(0)), evaluated by a real Prometheus.
  prom = await startPrometheus([]);
});
after(async () => {
  await prom?.stop();
  await Promise.all(extra.map((c) => c.stop()));
  await ctx?.close();
});

type Name = 'a' | 'b' | 'c';
const helmArgs = (n: Name) => (targets[n].kubeconfig ? ['--kubeconfig', targets[n].kubeconfig!] : ['--kube-context', targets[n].kubeContext!]);
const kubectl = (n: Name, ...args: string[]) =>
  execFileSync('kubectl', [...(targets[n].kubeconfig ? ['--kubeconfig', targets[n].kubeconfig!] : ['--context', targets[n].kubeContext!]), ...args], { encoding: 'utf8' });
const history = (n: Name, ns: string): { revision: number; status: string; description: string }[] =>
  JSON.parse(execFileSync('helm', ['history', 'hello', '-n', ns, '-o', 'json', ...helmArgs(n)], { encoding: 'utf8' }));
const deploymentImage = (n: Name, ns: string) => kubectl(n, '-n', ns, 'get', 'deployment', 'hello', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');

const IMAGE = 'registry.local/hello-api';

/** Revision 1 (v1) of the chart in each cluster, as the clusters run before the release. */
async function installV1(ns: string, names: Name[]): Promise<void> {
  await Promise.all(
    names.map(async (n) => {
      kubectl(n, 'create', 'namespace', ns);
      const env = new MockActivityEnvironment();
      // The activity's own kubeconfig path (b, c) or context (a): what the workflow passes too.
      await env.run(helmDeploy, {
        releaseId: 'setup', service: 'hello', version: 'v1', commit: 'c', image: null,
        ...(targets[n].kubeconfig ? { kubeconfig: targets[n].kubeconfig } : {}),
        helm: helmSpec('hello', ns, { kubeContext: targets[n].kubeContext, timeout: '30s', values: { replicaCount: 1, image: { repository: IMAGE, tag: 'v1' } } }),
      });
    }),
  );
}

function spec(service: string, ns: string, version: string, clusters: Name[], waves?: Name[][], over: Record<string, unknown> = {}) {
  return parseSpec(
    stringify({
      service,
      source: { repo: 'https://git.example.com/hello.git' },
      environments: [
        {
          name: 'production',
          deploy: { helm: { chart: CHART, release: 'hello', namespace: ns, timeout: '15s', values: { replicaCount: 1, image: { repository: IMAGE, tag: version } } } },
          health: { deployment: 'hello', timeout: '20s' },
          clusters: clusters.map((n) => ({ name: n, ...targets[n] })),
          ...(waves ? { waves } : {}),
          ...over,
        },
      ],
    }),
  );
}

const WEB = 'registry.local/web';
const webImage = (n: Name, ns: string, name: string) => kubectl(n, '-n', ns, 'get', 'deployment', name, '-o', 'jsonpath={.spec.template.spec.containers[0].image}');

/** The same namespace in every cluster: the stable release `web` (v1) routed 100% by the VirtualService `web`. */
async function stageCanary(prefix: string, names: Name[], routeName: Partial<Record<Name, string>> = {}): Promise<string> {
  const ns = uniqueName(prefix).toLowerCase();
  await Promise.all(names.map((n) => istioNamespace(prefix, { target: targets[n], name: ns, values: { replicaCount: 1, image: { repository: WEB, tag: 'v1' } }, routeName: routeName[n] })));
  return ns;
}

/** Releases `web-canary` to every cluster, with a canary per cluster: 25% -> analysis (vector(0) <= 0.05) -> 100%, promoted into `web`. */
function canaryWavesSpec(service: string, ns: string, version: string) {
  return webCanarySpec(
    service,
    ns,
    {
      steps: [{ setWeight: 25 }, { analysis: { metrics: ['errors'] } }, { setWeight: 100 }],
      metrics: [{ name: 'errors', prometheus: { query: 'vector(0)', address: prom.url }, thresholdRange: { max: 0.05 }, interval: '1s', count: 2 }],
    },
    {
      env: {
        deploy: { helm: { chart: CHART, release: 'web-canary', namespace: ns, timeout: '30s', values: { track: 'canary', replicaCount: 1, image: { repository: WEB, tag: version } } } },
        health: { deployment: 'web-canary', timeout: '30s' },
        clusters: (['a', 'b', 'c'] as Name[]).map((n) => ({ name: n, ...targets[n] })),
        waves: [['a'], ['b', 'c']],
      },
    },
  );
}

const real = () => ({ deploy: { ...createDeployActivities(), ...createIntegrationActivities() } });

describe('multi-cluster waves (three real control planes, real helm)', () => {
  test('waves [[a], [b, c]] succeed: a revision and the release image in every cluster, every cluster promoted, one lease per cluster', async () => {
    const ns = uniqueName('waves').toLowerCase();
    await installV1(ns, ['a', 'b', 'c']);
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const started = Date.now();
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec(uniqueName('waves'), ns, 'v2', ['a', 'b', 'c'], [['a'], ['b', 'c']]), { version: 'v2' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      console.log(`# two waves, three clusters: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(final.outcome, 'succeeded', final.message);
      const s = final.status!;
      for (const n of ['a', 'b', 'c'] as Name[]) {
        const h = history(n, ns);
        assert.equal(h.length, 2, `${n}: ${JSON.stringify(h)}`);
        assert.equal(h[1].status, 'deployed');
        assert.match(h[1].description, new RegExp(releaseId.replace(/[/+]/g, '.')));
        assert.equal(deploymentImage(n, ns), `${IMAGE}:v2`, `${n} runs the release's image`);
      }
      assert.deepEqual(
        s.clusters!.map((c) => [c.environment, c.cluster, c.wave, c.stage, c.outcome]),
        [['production', 'a', 1, 'promote', 'promoted'], ['production', 'b', 2, 'promote', 'promoted'], ['production', 'c', 2, 'promote', 'promoted']],
      );
      // Wave 2 started only after wave 1 was promoted.
      const at = (env: string, stage: string, edge: 'startedAt' | 'endedAt') => Date.parse(s.stages.find((r) => r.environment === env && r.stage === stage)![edge]!);
      assert.ok(at('production@b', 'deploy', 'startedAt') >= at('production@a', 'promote', 'endedAt'));
      assert.ok(at('production@c', 'deploy', 'startedAt') >= at('production@a', 'promote', 'endedAt'));
      assert.deepEqual(s.stages.filter((r) => r.stage === 'deploy').map((r) => [r.environment, r.result]).sort(), [['production@a', 'ok'], ['production@b', 'ok'], ['production@c', 'ok']]);
      // One lease per cluster, all given back; the compensation was committed everywhere.
      assert.deepEqual(Object.keys(s.leases!).sort(), ['production@a', 'production@b', 'production@c']);
      for (const [k, l] of Object.entries(s.leases!)) {
        assert.equal(l.state, 'released', k);
        assert.equal(l.key, `${s.service}/${k}`);
      }
      assert.ok(s.compensation.length >= 3 && s.compensation.every((c) => c.status === 'committed'), JSON.stringify(s.compensation));
    });
  });

  test('a failure in wave 2 (cluster c cannot become ready) rolls back wave 1 too: revision 1 again in every cluster', async () => {
    const ns = uniqueName('wavefail').toLowerCase();
    await installV1(ns, ['a', 'b', 'c']);
    // Cluster c: no node takes new pods, so the release's rollout there never becomes ready.
    for (const node of kubectl('c', 'get', 'nodes', '-o', 'name').trim().split('\n')) kubectl('c', 'cordon', node);
    after(() => {
      for (const node of kubectl('c', 'get', 'nodes', '-o', 'name').trim().split('\n')) kubectl('c', 'uncordon', node);
    });
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec(uniqueName('wavefail'), ns, 'v3', ['a', 'b', 'c'], [['a'], ['b', 'c']]), { version: 'v3' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'rolled-back', final.message);
      const s = final.status!;
      assert.equal(s.error?.environment, 'production@c', JSON.stringify(s.error));
      for (const n of ['a', 'b', 'c'] as Name[]) {
        const h = history(n, ns);
        const last = h.at(-1)!;
        assert.equal(last.status, 'deployed', `${n}: ${JSON.stringify(h)}`);
        assert.match(last.description, /Rollback to 1/, `${n} is back at revision 1: ${JSON.stringify(h)}`);
        assert.equal(deploymentImage(n, ns), `${IMAGE}:v1`, `${n} runs v1 again`);
      }
      const byCluster = Object.fromEntries(s.clusters!.map((c) => [c.cluster, c]));
      for (const n of ['a', 'b', 'c']) assert.equal(byCluster[n].outcome, 'rolled-back', JSON.stringify(byCluster[n]));
      assert.equal(byCluster.c.stage, 'deploy');
      // The compensation names each cluster (its environment key) and each undo read back what it did.
      for (const n of ['a', 'b', 'c']) {
        const undo = s.compensation.find((c) => c.environment === `production@${n}` && /helm rollback hello 1/.test(c.description));
        assert.ok(undo, `an undo in ${n}: ${JSON.stringify(s.compensation)}`);
        assert.ok(undo.status === 'done' || undo.status === 'unchanged', `${n}: ${undo.status} ${undo.detail ?? undo.error ?? ''}`);
      }
      // a and b were rolled back by Shipyard (c by helm's --atomic already: its undo found it so).
      for (const n of ['a', 'b']) assert.equal(s.compensation.find((c) => c.environment === `production@${n}`)!.status, 'done');
    });
  });

  test('the lease is per cluster: a release holding a (at its approval) does not hold up one to b; one to a queues', async () => {
    const ns = uniqueName('wavelease').toLowerCase();
    await installV1(ns, ['a', 'b']);
    const service = uniqueName('wavelease');
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const holder = await startRelease(ctx.shipyard, queues, spec(service, ns, 'v4', ['a'], undefined, { approval: { approvers: ['alice'] } }), { version: 'v4', commit: randomCommit() });
      const waiting = await waitForStatus(ctx.shipyard, holder.releaseId, (st) => st.approvals.pending !== null, 'holder at its approval', 60_000);
      assert.deepEqual(Object.entries(waiting.leases!).map(([k, l]) => [k, l.state]), [['production@a', 'held']]);

      const toB = await startRelease(ctx.shipyard, queues, spec(service, ns, 'v5', ['b']), { version: 'v5', commit: randomCommit() });
      const b = await ctx.shipyard.wait(toB.releaseId, undefined, 200);
      assert.equal(b.outcome, 'succeeded', b.message);
      assert.equal(deploymentImage('b', ns), `${IMAGE}:v5`);

      const toA = await startRelease(ctx.shipyard, queues, spec(service, ns, 'v6', ['a']), { version: 'v6', commit: randomCommit() });
      const queued = await waitForStatus(ctx.shipyard, toA.releaseId, (st) => st.stages.at(-1)?.stage === 'queued', 'the release to a queued');
      assert.equal(queued.stages.at(-1)!.environment, 'production@a');
      assert.match(queued.stages.at(-1)!.detail ?? '', new RegExp(`waiting for ${service}/production@a`));
      assert.equal(history('a', ns).length, 1, 'nothing deployed to a while the holder has it');

      await ctx.shipyard.approve(holder.releaseId, { approver: 'alice' });
      assert.equal((await ctx.shipyard.wait(holder.releaseId, undefined, 200)).outcome, 'succeeded');
      const afterA = await ctx.shipyard.wait(toA.releaseId, undefined, 200);
      assert.equal(afterA.outcome, 'succeeded', afterA.message);
      assert.equal(deploymentImage('a', ns), `${IMAGE}:v6`);
      assert.equal(history('a', ns).length, 3);
    });
  });

  test('a canary in every cluster, waves [[a], [b, c]]: each VirtualService goes 25 -> 100 and ends at 100/0, stable runs the release image everywhere, wave 2 canaries after wave 1 promoted', async () => {
    const ns = await stageCanary('wavecanary', ['a', 'b', 'c']);
    for (const n of ['a', 'b', 'c'] as Name[]) assert.deepEqual(await routeWeights(ns, targets[n]), [100, 0], `${n} starts at 100/0`);
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const started = Date.now();
      const { releaseId } = await startRelease(ctx.shipyard, queues, canaryWavesSpec(uniqueName('wavecanary'), ns, 'v2'), { version: 'v2' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      console.log(`# canary per cluster, two waves, three clusters: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(final.outcome, 'succeeded', final.message);
      const s = final.status!;
      for (const n of ['a', 'b', 'c'] as Name[]) {
        assert.deepEqual(await routeWeights(ns, targets[n]), [100, 0], `${n}: the VirtualService back at stable 100 after promotion`);
        assert.equal(webImage(n, ns, 'web'), `${WEB}:v2`, `${n}: stable runs the release's image`);
        assert.equal(webImage(n, ns, 'web-canary'), `${WEB}:v2`, `${n}: the canary ran it`);
        // The weights this cluster went through, as read back from its own router.
        // (Every step records the weight it read back, so the analysis step repeats 25: consecutive repeats folded.)
        const history = s.canaryHistory!.filter((h) => h.environment === `production@${n}`);
        const weights = history.map((h) => h.weight).filter((w, i, all) => i === 0 || all[i - 1] !== w);
        assert.deepEqual(weights, [0, 25, 100, 0], `${n}: ${JSON.stringify(history)}`);
        assert.equal(s.clusters!.find((c) => c.cluster === n)!.canaryWeight, 0, `${n}: its record's weight, read back after promotion`);
      }
      assert.deepEqual(
        s.clusters!.map((c) => [c.cluster, c.wave, c.stage, c.outcome]),
        [['a', 1, 'promote', 'promoted'], ['b', 2, 'promote', 'promoted'], ['c', 2, 'promote', 'promoted']],
      );
      // Each cluster ran its own analysis (two measurements of vector(0) each).
      const canaryRecords = s.stages.filter((r) => r.stage === 'canary');
      assert.deepEqual(canaryRecords.map((r) => [r.environment, r.result]).sort(), [['production@a', 'ok'], ['production@b', 'ok'], ['production@c', 'ok']]);
      assert.ok(s.metrics.length >= 6 && s.metrics.every((m) => m.phase === 'successful' && m.value === 0), JSON.stringify(s.metrics));
      // Wave 2's canaries started only after wave 1 (a) was promoted.
      const at = (env: string, stage: string, edge: 'startedAt' | 'endedAt') => Date.parse(s.stages.find((r) => r.environment === env && r.stage === stage)![edge]!);
      for (const n of ['b', 'c']) {
        assert.ok(at(`production@${n}`, 'canary', 'startedAt') >= at('production@a', 'promote', 'endedAt'), `${n}'s canary after a's promotion`);
        const firstShift = Date.parse(s.canaryHistory!.find((h) => h.environment === `production@${n}` && h.weight > 0)!.at);
        assert.ok(firstShift >= at('production@a', 'promote', 'endedAt'), `${n}'s first weight shift after a's promotion`);
      }
    });
  });

  test('a canary fault only in c (its VirtualService has no primary route) rolls back every wave: VirtualServices at their starting weights, a\'s promotion undone', async () => {
    const ns = await stageCanary('wavecanfail', ['a', 'b', 'c'], { c: 'main' });
    const before = Object.fromEntries(await Promise.all((['a', 'b', 'c'] as Name[]).map(async (n) => [n, (await virtualService(ns, targets[n])).spec] as const)));
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const started = Date.now();
      const { releaseId } = await startRelease(ctx.shipyard, queues, canaryWavesSpec(uniqueName('wavecanfail'), ns, 'v3'), { version: 'v3' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      console.log(`# canary fault in wave 2, rollback of both waves: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(final.outcome, 'rolled-back', final.message);
      const s = final.status!;
      console.log(`# compensation: ${JSON.stringify(s.compensation.map((c) => [c.environment, c.status, c.description]))}`);
      assert.equal(s.error?.environment, 'production@c', JSON.stringify(s.error));
      assert.match(s.error!.message, /has no HTTP route named primary/);
      // Every VirtualService at its starting weights (a went to 25 and 100 and back; the Istio router
      // keeps the canary subset on the route at weight 0); c's, which has no route to shift, untouched.
      for (const n of ['a', 'b'] as Name[]) assert.deepEqual(await routeWeights(ns, targets[n]), [100, 0], n);
      assert.ok(isDeepStrictEqual((await virtualService(ns, targets.c)).spec, before.c), `c: ${JSON.stringify((await virtualService(ns, targets.c)).spec)}`);
      for (const n of ['a', 'b', 'c'] as Name[]) assert.equal(webImage(n, ns, 'web'), `${WEB}:v1`, `${n}: stable runs v1`);
      const aWeights = s.canaryHistory!.filter((h) => h.environment === 'production@a').map((h) => h.weight);
      assert.ok(aWeights.includes(25) && aWeights.includes(100), `a's canary ran: ${JSON.stringify(aWeights)}`);
      assert.deepEqual(s.canaryHistory!.filter((h) => h.environment === 'production@c' && h.weight > 0), [], 'c never shifted traffic');
      const byCluster = Object.fromEntries(s.clusters!.map((c) => [c.cluster, c]));
      for (const n of ['a', 'b', 'c']) assert.equal(byCluster[n].outcome, 'rolled-back', JSON.stringify(byCluster[n]));
      assert.equal(byCluster.c.stage, 'canary');
      // a's promotion was undone by the compensation, which read back what it did.
      const aUndos = s.compensation.filter((c) => c.environment === 'production@a');
      assert.ok(aUndos.length > 0 && aUndos.every((c) => c.status === 'done' || c.status === 'unchanged'), JSON.stringify(aUndos));
      assert.equal(aUndos.find((c) => c.description === 'restore web images')?.status, 'done', `a's stable web given its v1 images back: ${JSON.stringify(aUndos)}`);
      // Its traffic undo found the route at 100/0 already (promotion ends there) and says so.
      assert.equal(aUndos.find((c) => /^restore web traffic/.test(c.description))?.status, 'unchanged', JSON.stringify(aUndos));
      // The canary release the release installed is gone from every cluster it reached.
      for (const n of ['a', 'b', 'c'] as Name[]) assert.equal(kubectl(n, '-n', ns, 'get', 'deployment', '-o', 'name').trim().split('\n').sort().join(','), 'deployment.apps/web', n);
    });
  });
});
