// The Gateway API router on the real API server with Gateway API's standard-channel CRDs (v1.4.1,
// scripts/tools.js; no gateway controller runs: the tests assert the HTTPRoute objects the API server
// stores, with its defaults and validation). Weights shift and read back as percentages, a route
// already as wanted is not written, a concurrent edit is survived, the header A/B rule and the
// mirror filter exist only while the canary takes traffic, undos return what they read back, and
// whole releases run through the workflow with a gatewayApi router.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeployActivities, createIntegrationActivities } from '../../activities/index.js';
import { createTrafficActivities } from '../../activities/traffic/index.js';
import { helmDeploy } from '../../activities/deploy/helm.js';
import { kube } from '../../activities/kube.js';
import type { RouteWeights, TrafficInput, UndoResult } from '../../activities/types.js';
import { deploymentImage, helmSpec, namespace, webCanarySpec } from '../helpers/cluster.js';
import { startPrometheus, type Prometheus } from '../helpers/prometheus.js';
import { startRelease } from '../helpers/release.js';
import { connectClient, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

const GW = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
const acts = createTrafficActivities();
const run = <T>(fn: (i: any) => Promise<T>, input: unknown) => new MockActivityEnvironment().run(fn, input) as Promise<T>;

interface Rule {
  name?: string;
  matches?: unknown[];
  filters?: unknown[];
  backendRefs?: { name: string; port?: number; weight?: number; group?: string; kind?: string }[];
}
interface Route {
  metadata: { resourceVersion: string; annotations?: Record<string, string> };
  spec: { rules: Rule[] };
}

type GatewayApi = NonNullable<TrafficInput['router']['gatewayApi']>;
const ROUTER: GatewayApi = { httpRoute: 'web', rule: 'primary', stableBackend: { name: 'web', port: 80 }, canaryBackend: { name: 'web-canary' } };

/** A namespace with an HTTPRoute `web`: rule `primary` (/api) over web:80 and web-canary:80 at the given weights, and an unrelated rule. */
async function stage(prefix: string, weights: [number, number] = [100, 0], over: Partial<GatewayApi> = {}): Promise<{ ns: string; target: TrafficInput }> {
  const ns = await namespace(prefix);
  await createRoute(ns, weights);
  const target: TrafficInput = { releaseId: 'r', service: 'web', version: 'v2', commit: 'c', namespace: ns, router: { gatewayApi: { ...ROUTER, namespace: ns, ...over } } };
  return { ns, target };
}

async function createRoute(ns: string, [stable, canary]: [number, number], backends = [{ name: 'web', port: 80, weight: stable }, { name: 'web-canary', port: 80, weight: canary }]) {
  await kube().custom.createNamespacedCustomObject({
    ...GW,
    namespace: ns,
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web' },
      spec: {
        parentRefs: [{ name: 'shop-gateway' }],
        hostnames: ['web.example.com'],
        rules: [
          { name: 'primary', matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: backends },
          { name: 'static', backendRefs: [{ name: 'static', port: 8080 }] },
        ],
      },
    },
  });
}

const readRoute = async (ns: string) => (await kube().custom.getNamespacedCustomObject({ ...GW, namespace: ns, name: 'web' })) as Route;
const ruleNamed = (route: Route, name: string) => route.spec.rules.find((r) => r.name === name)!;

/** [stable, canary] backendRef weights of the `primary` rule as the API server stores them. */
async function weights(ns: string): Promise<[number | undefined, number | undefined]> {
  const refs = ruleNamed(await readRoute(ns), 'primary').backendRefs ?? [];
  return [refs.find((r) => r.name === 'web')?.weight, refs.find((r) => r.name === 'web-canary')?.weight];
}

const setWeight = (target: TrafficInput, weight: number) => run<RouteWeights>(acts.setTrafficWeight, { ...target, weight });
const STATIC_RULE = { name: 'static', matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ group: '', kind: 'Service', name: 'static', port: 8080, weight: 1 }] };

describe('Gateway API router: HTTPRoute weights on the real API server', () => {
  test('weights shift and read back as percentages; the same weights again write nothing (resourceVersion unchanged)', async () => {
    const { ns, target } = await stage('gw-shift');
    assert.deepEqual(await run(acts.getTrafficWeights, target), { stable: 100, canary: 0 });
    assert.deepEqual(await setWeight(target, 20), { stable: 80, canary: 20 });
    assert.deepEqual(await weights(ns), [80, 20]);
    const rv = (await readRoute(ns)).metadata.resourceVersion;
    assert.deepEqual(await setWeight(target, 20), { stable: 80, canary: 20 });
    assert.equal((await readRoute(ns)).metadata.resourceVersion, rv, 'no write when already right');
    assert.deepEqual(await setWeight(target, 50), { stable: 50, canary: 50 });
    assert.deepEqual(await weights(ns), [50, 50]);
    assert.notEqual((await readRoute(ns)).metadata.resourceVersion, rv);
    // The other rule is untouched (as the API server defaulted it); promotion ends at 100/0.
    await run(acts.promoteCanary, target);
    const route = await readRoute(ns);
    assert.deepEqual(await weights(ns), [100, 0]);
    assert.deepEqual(ruleNamed(route, 'static'), STATIC_RULE);
    assert.deepEqual(route.spec.rules.map((r) => r.name), ['primary', 'static']);
  });

  test('custom weights are proportions: 900/100 reads 90/10, and setting 10% leaves them as they are', async () => {
    const { ns, target } = await stage('gw-custom', [900, 100]);
    assert.deepEqual(await run(acts.getTrafficWeights, target), { stable: 90, canary: 10 });
    const rv = (await readRoute(ns)).metadata.resourceVersion;
    assert.deepEqual(await setWeight(target, 10), { stable: 90, canary: 10 });
    assert.equal((await readRoute(ns)).metadata.resourceVersion, rv);
    assert.deepEqual(await weights(ns), [900, 100]);
  });

  test('the default rule is the first with the stable backend; a missing backend is named; a missing rule says so', async () => {
    const { ns, target } = await stage('gw-missing');
    const { rule: _r, ...firstWithStable } = target.router.gatewayApi!;
    assert.deepEqual(await setWeight({ ...target, router: { gatewayApi: firstWithStable } }, 30), { stable: 70, canary: 30 });
    assert.deepEqual(await weights(ns), [70, 30]);

    const other = await namespace('gw-missing');
    await createRoute(other, [1, 0], [{ name: 'web', port: 80, weight: 1 }]);
    await assert.rejects(run(acts.getTrafficWeights, { ...target, namespace: other, router: { gatewayApi: { ...target.router.gatewayApi!, namespace: other } } }), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
      assert.equal(err.type, 'BackendNotFound');
      assert.equal(err.nonRetryable, true);
      assert.equal(err.message, `HTTPRoute ${other}/web: the rule has no backendRef to the canary backend web-canary (it has web:80); list both backends in the rule, the canary with weight 0`);
      return true;
    });
    const renamed = { ...target, router: { gatewayApi: { ...target.router.gatewayApi!, rule: 'gone' } } };
    await assert.rejects(run(acts.setTrafficWeight, { ...renamed, weight: 10 }), { message: `HTTPRoute ${ns}/web has no rule named gone` });
  });

  test('a concurrent edit between our read and write: the replace gets 409 Conflict, is retried on a fresh read, both edits survive', async () => {
    const { ns, target } = await stage('gw-conflict');
    const custom = kube().custom;
    const replace = custom.replaceNamespacedCustomObject.bind(custom);
    let conflicts = 0;
    // Someone else writes the route after we read it: the API server refuses our stale resourceVersion.
    custom.replaceNamespacedCustomObject = (async (param: { body: Route }) => {
      if (conflicts === 0) {
        const theirs = await readRoute(ns);
        theirs.metadata.annotations = { ...theirs.metadata.annotations, 'team.example.com/owner': 'shop' };
        await replace({ ...GW, namespace: ns, name: 'web', body: theirs });
        try {
          return await replace(param as never);
        } catch (err) {
          if ((err as { code?: number }).code === 409) conflicts++;
          throw err;
        }
      }
      return replace(param as never);
    }) as typeof custom.replaceNamespacedCustomObject;
    try {
      assert.deepEqual(await setWeight(target, 40), { stable: 60, canary: 40 });
    } finally {
      custom.replaceNamespacedCustomObject = replace;
    }
    assert.equal(conflicts, 1, 'the first replace was refused with 409 by the API server');
    const route = await readRoute(ns);
    assert.deepEqual(await weights(ns), [60, 40]);
    assert.equal(route.metadata.annotations?.['team.example.com/owner'], 'shop', 'the concurrent edit is kept, not overwritten');
  });

  test('header A/B: a rule matching the header (and the managed rule\'s paths and filters) sends to the canary while it takes traffic, gone at 0', async () => {
    const { ns, target } = await stage('gw-header', [100, 0], { headerRoute: { header: 'x-canary', value: 'yes' } });
    // The managed rule rewrites its requests: the header rule's requests must be rewritten the same way.
    const withFilter = await readRoute(ns);
    const rewrite = { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } };
    ruleNamed(withFilter, 'primary').filters = [rewrite];
    await kube().custom.replaceNamespacedCustomObject({ ...GW, namespace: ns, name: 'web', body: withFilter });
    await setWeight(target, 20);
    let route = await readRoute(ns);
    assert.deepEqual(route.spec.rules.map((r) => r.name), ['shipyard-canary-header-web-canary', 'primary', 'static']);
    assert.deepEqual(ruleNamed(route, 'shipyard-canary-header-web-canary'), {
      name: 'shipyard-canary-header-web-canary',
      matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ type: 'Exact', name: 'x-canary', value: 'yes' }] }],
      filters: [rewrite],
      backendRefs: [{ group: '', kind: 'Service', name: 'web-canary', port: 80, weight: 1 }],
    });
    const rv = route.metadata.resourceVersion;
    await setWeight(target, 20);
    assert.equal((await readRoute(ns)).metadata.resourceVersion, rv, 'the header rule as the API server stores it counts as already right');
    await setWeight(target, 50);
    route = await readRoute(ns);
    assert.equal(route.spec.rules[0].name, 'shipyard-canary-header-web-canary');
    assert.deepEqual(await weights(ns), [50, 50]);
    await setWeight(target, 0);
    route = await readRoute(ns);
    assert.deepEqual(route.spec.rules.map((r) => r.name), ['primary', 'static']);
    assert.deepEqual(await weights(ns), [100, 0]);
  });

  test('two services sharing one HTTPRoute, both with header A/B: each keeps its own header rule', async () => {
    const ns = await namespace('gw-shared');
    await createRoute(ns, [100, 0]);
    const route = await readRoute(ns);
    route.spec.rules.push({ name: 'cart', matches: [{ path: { type: 'PathPrefix', value: '/cart' } }], backendRefs: [{ name: 'cart', port: 80, weight: 100 }, { name: 'cart-canary', port: 80, weight: 0 }] });
    await kube().custom.replaceNamespacedCustomObject({ ...GW, namespace: ns, name: 'web', body: route });
    const header = { header: 'x-canary', value: 'yes' };
    const web: TrafficInput = { releaseId: 'r', service: 'web', version: 'v2', commit: 'c', namespace: ns, router: { gatewayApi: { ...ROUTER, headerRoute: header } } };
    const cart: TrafficInput = { ...web, service: 'cart', router: { gatewayApi: { httpRoute: 'web', rule: 'cart', stableBackend: { name: 'cart', port: 80 }, canaryBackend: { name: 'cart-canary' }, headerRoute: header } } };
    await setWeight(web, 10);
    await setWeight(cart, 20);
    await setWeight(web, 30);
    const names = (await readRoute(ns)).spec.rules.map((r) => r.name);
    assert.deepEqual(names, ['shipyard-canary-header-web-canary', 'shipyard-canary-header-cart-canary', 'primary', 'static', 'cart'].sort((a, b) => names.indexOf(a) - names.indexOf(b)));
    assert.equal(names.length, 5);
    assert.deepEqual(await run(acts.getTrafficWeights, cart), { stable: 80, canary: 20 });
    await setWeight(cart, 0);
    assert.deepEqual((await readRoute(ns)).spec.rules.map((r) => r.name).filter((n) => n?.startsWith('shipyard-')), ['shipyard-canary-header-web-canary']);
  });

  test('without rule: the one rule listing both backends is managed; two such rules are ambiguous and refused', async () => {
    const { ns, target } = await stage('gw-choose');
    const { rule: _r, ...unnamed } = target.router.gatewayApi!;
    const route = await readRoute(ns);
    // A health rule to the stable backend only comes first: it is not the one to shift.
    route.spec.rules.unshift({ name: 'health', matches: [{ path: { type: 'Exact', value: '/healthz' } }], backendRefs: [{ name: 'web', port: 80 }] });
    await kube().custom.replaceNamespacedCustomObject({ ...GW, namespace: ns, name: 'web', body: route });
    assert.deepEqual(await setWeight({ ...target, router: { gatewayApi: unnamed } }, 25), { stable: 75, canary: 25 });
    assert.deepEqual(await weights(ns), [75, 25]);
    const twice = await readRoute(ns);
    twice.spec.rules.push({ name: 'v2', matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: [{ name: 'web', port: 80, weight: 1 }, { name: 'web-canary', port: 80, weight: 0 }] });
    await kube().custom.replaceNamespacedCustomObject({ ...GW, namespace: ns, name: 'web', body: twice });
    await assert.rejects(setWeight({ ...target, router: { gatewayApi: unnamed } }, 30), (err: { type?: string; message: string }) => {
      assert.equal(err.type, 'AmbiguousRule');
      assert.match(err.message, /2 rules list both web:80 and web-canary \('primary', 'v2'\); name the one to shift with canary.router.gatewayApi.rule/);
      return true;
    });
  });

  test('999:1 reads 99/1, not 100/0: promotion writes the canary down to exactly 0', async () => {
    const { ns, target } = await stage('gw-tiny', [999, 1]);
    assert.deepEqual(await run(acts.getTrafficWeights, target), { stable: 99, canary: 1 });
    await run(acts.promoteCanary, target);
    assert.deepEqual(await weights(ns), [100, 0]);
  });

  test('the HTTPRoute in the gateway\'s namespace, the Services next to the workloads (backendRefs with a namespace)', async () => {
    const gatewayNs = await namespace('gw-gateway');
    const appNs = await namespace('gw-app');
    await createRoute(gatewayNs, [100, 0], [{ name: 'web', namespace: appNs, port: 80, weight: 100 }, { name: 'web-canary', namespace: appNs, port: 80, weight: 0 }] as never);
    const target: TrafficInput = { releaseId: 'r', service: 'web', version: 'v2', commit: 'c', namespace: appNs, router: { gatewayApi: { ...ROUTER, namespace: gatewayNs, headerRoute: { header: 'x-canary', value: 'yes' } } } };
    assert.deepEqual(await setWeight(target, 40), { stable: 60, canary: 40 });
    assert.deepEqual(await weights(gatewayNs), [60, 40]);
    const header = ruleNamed(await readRoute(gatewayNs), 'shipyard-canary-header-web-canary');
    assert.deepEqual(header.backendRefs, [{ group: '', kind: 'Service', name: 'web-canary', namespace: appNs, port: 80, weight: 1 }], 'the header rule points into the app namespace too');
    // Seen from a workload namespace the refs do not point to, the backends are not these.
    await assert.rejects(run(acts.getTrafficWeights, { ...target, namespace: gatewayNs }), { type: 'BackendNotFound' } as never);
  });

  test('mirror: a RequestMirror filter to the canary on the managed rule while the canary takes traffic, removed at 0', async () => {
    const { ns, target } = await stage('gw-mirror', [100, 0], { mirror: { percent: 25 } });
    await setWeight(target, 30);
    let primary = ruleNamed(await readRoute(ns), 'primary');
    assert.deepEqual(primary.filters, [{ type: 'RequestMirror', requestMirror: { backendRef: { group: '', kind: 'Service', name: 'web-canary', port: 80 }, percent: 25 } }]);
    const rv = (await readRoute(ns)).metadata.resourceVersion;
    await setWeight(target, 30);
    assert.equal((await readRoute(ns)).metadata.resourceVersion, rv);
    await run(acts.promoteCanary, target);
    primary = ruleNamed(await readRoute(ns), 'primary');
    assert.equal(primary.filters, undefined);
    assert.deepEqual(await weights(ns), [100, 0]);
  });
});

describe('Gateway API router: undos read back from the HTTPRoute', () => {
  test('restoreTraffic brings back the exact starting weights (90/10 from 900/100): undone, then unchanged, skipped when the route is gone', async () => {
    const { ns, target } = await stage('gw-undo', [900, 100]);
    const initial = await run<RouteWeights>(acts.getTrafficWeights, target);
    assert.deepEqual(initial, { stable: 90, canary: 10 });
    await setWeight(target, 50);
    assert.deepEqual(await weights(ns), [50, 50]);

    const undone = await run<UndoResult>(acts.restoreTraffic, { ...target, weights: initial });
    assert.deepEqual(undone, { result: 'undone', detail: `HTTPRoute ${ns}/web set back to 90/10`, weights: { stable: 90, canary: 10 } });
    assert.deepEqual(await weights(ns), [90, 10]);
    const again = await run<UndoResult>(acts.restoreTraffic, { ...target, weights: initial });
    assert.deepEqual(again, { result: 'unchanged', detail: `HTTPRoute ${ns}/web already at 90/10`, weights: { stable: 90, canary: 10 } });

    const renamed = { ...target, router: { gatewayApi: { ...target.router.gatewayApi!, rule: 'gone' } } };
    assert.deepEqual(await run<UndoResult>(acts.restoreTraffic, { ...renamed, weights: initial }), { result: 'skipped', detail: `HTTPRoute ${ns}/web has no rule named gone` });
    await kube().custom.deleteNamespacedCustomObject({ ...GW, namespace: ns, name: 'web' });
    assert.deepEqual(await run<UndoResult>(acts.restoreTraffic, { ...target, weights: initial }), { result: 'skipped', detail: `HTTPRoute ${ns}/web not found` });
  });

  test('faults: setFault refuses (non-retryable, says why); clearFault is unchanged, skipped when the route is gone', async () => {
    const { ns, target } = await stage('gw-fault');
    await assert.rejects(run(acts.setFault, { ...target, fault: { abort: { percent: 50, httpStatus: 503 } } }), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
      assert.equal(err.type, 'FaultNotSupported');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /Gateway API has no fault injection; fault steps need canary\.router\.istio/);
      return true;
    });
    const rv = (await readRoute(ns)).metadata.resourceVersion;
    assert.deepEqual(await run<UndoResult>(acts.clearFault, target), { result: 'unchanged', detail: `HTTPRoute ${ns}/web: Gateway API has no fault injection, there is no fault to remove`, weights: { stable: 100, canary: 0 } });
    assert.equal((await readRoute(ns)).metadata.resourceVersion, rv);
    await kube().custom.deleteNamespacedCustomObject({ ...GW, namespace: ns, name: 'web' });
    assert.deepEqual(await run<UndoResult>(acts.clearFault, target), { result: 'skipped', detail: `HTTPRoute ${ns}/web not found` });
  });
});

describe('releases through the workflow with a gatewayApi router', () => {
  let ctx: TemporalTestContext;
  let prom: Prometheus;
  before(async () => {
    ctx = await connectClient();
    prom = await startPrometheus([]);
  });
  after(async () => {
    await prom.stop();
    await ctx.close();
  });

  /** The stable helm release `web` and the HTTPRoute at the given weights. */
  async function releaseNamespace(prefix: string, start: [number, number]): Promise<string> {
    const ns = await namespace(prefix);
    await new MockActivityEnvironment().run(helmDeploy, { releaseId: 'setup', service: 'web', version: 'v1', commit: 'c', helm: helmSpec('web', ns, { values: { track: 'stable' } }), image: { repository: 'registry.local/web', tag: 'v1', digest: '', platforms: [] } });
    await createRoute(ns, start);
    return ns;
  }

  function spec(service: string, ns: string, steps: unknown[]) {
    return webCanarySpec(service, ns, {
      router: { gatewayApi: { ...ROUTER, namespace: ns } },
      steps,
      // vector(1) is always 1: a real Prometheus answers, the threshold fails it.
      metrics: [{ name: 'always-failing', prometheus: { query: 'vector(1)', address: prom.url }, thresholdRange: { max: 0.05 }, interval: '1s', count: 1 }],
    });
  }

  /** Every distinct [stable, canary] weight pair the API server shows while `fn` runs. */
  async function watchWeights<T>(ns: string, fn: () => Promise<T>): Promise<{ result: T; seen: string[] }> {
    const seen: string[] = [];
    let running = true;
    const poll = (async () => {
      while (running) {
        const w = (await weights(ns).catch(() => undefined))?.join('/');
        if (w && seen[seen.length - 1] !== w) seen.push(w);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      return { result: await fn(), seen };
    } finally {
      running = false;
      await poll;
    }
  }

  const real = () => ({ deploy: { ...createDeployActivities(), ...createIntegrationActivities() } });

  test('setWeight 20 -> 50 -> promote: the HTTPRoute follows the steps and ends at 100/0, stable runs the canary images', async () => {
    const ns = await releaseNamespace('gw-release', [100, 0]);
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const { result: final, seen } = await watchWeights(ns, async () => {
        const { releaseId } = await startRelease(ctx.shipyard, queues, spec(uniqueName('gw'), ns, [{ setWeight: 20 }, { pause: '1s' }, { setWeight: 50 }, { pause: '1s' }]), { version: 'v2' });
        return ctx.shipyard.wait(releaseId, undefined, 200);
      });
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.deepEqual(seen, ['100/0', '80/20', '50/50', '100/0']);
      assert.deepEqual(await weights(ns), [100, 0]);
      assert.equal(await deploymentImage(ns, 'web'), await deploymentImage(ns, 'web-canary'), 'stable runs the canary images');
      const history = (final.status!.canaryHistory ?? []).map((h) => h.weight).filter((w, i, a) => i === 0 || a[i - 1] !== w);
      assert.deepEqual(history.slice(0, 3), [0, 20, 50], 'status: the weights as read back from the router');
    });
  });

  test('a failing analysis after 20 -> 50 rolls back to the starting weights (90/10 from 900/100), the undo recorded as read back', async () => {
    const ns = await releaseNamespace('gw-rollback', [900, 100]);
    const queues = uniqueQueues();
    await withWorkers(queues, real(), async () => {
      const steps = [{ setWeight: 20 }, { pause: '1s' }, { setWeight: 50 }, { pause: '1s' }, { analysis: { metrics: ['always-failing'] } }, { setWeight: 100 }];
      const { result: final, seen } = await watchWeights(ns, async () => {
        const { releaseId } = await startRelease(ctx.shipyard, queues, spec(uniqueName('gwfail'), ns, steps), { version: 'v3' });
        return ctx.shipyard.wait(releaseId, undefined, 200);
      });
      assert.equal(final.outcome, 'rolled-back', final.message);
      assert.deepEqual(seen, ['900/100', '80/20', '50/50', '90/10'], 'the steps were applied, then the starting weights came back');
      assert.match(final.status!.error!.message, /metric always-failing failed/);
      assert.deepEqual(await weights(ns), [90, 10], 'the starting 90/10, as percentages');
      const undo = final.status!.compensation.find((c) => c.description === 'restore HTTPRoute web traffic to stable 90 / canary 10');
      assert.equal(undo?.status, 'done');
      assert.equal(undo?.detail, `HTTPRoute ${ns}/web set back to 90/10`);
      assert.equal((await kube().apps.readNamespacedDeployment({ name: 'web', namespace: ns })).spec?.template.spec?.containers[0].image, 'registry.local/web:v1', 'stable untouched');
    });
  });
});
