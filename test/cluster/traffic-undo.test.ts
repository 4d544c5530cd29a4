// The canary's undos on the real API server (Istio CRDs installed, no Istio data plane; kwok makes
// pods Ready): each returns what it did, read back from the world: `undone` when it changed the
// world back, `unchanged` when it was already so, `skipped` naming the target when it is gone. The
// image rollout wait stops when the activity is cancelled.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTrafficActivities } from '../../activities/traffic/index.js';
import { kube } from '../../activities/kube.js';
import type { TrafficInput, UndoResult } from '../../activities/types.js';
import { namespace } from '../helpers/cluster.js';

const GROUP = { group: 'networking.istio.io', version: 'v1' };
const acts = createTrafficActivities();
const run = <T>(fn: (i: any) => Promise<T>, input: unknown) => new MockActivityEnvironment().run(fn, input) as Promise<T>;

interface Route {
  name?: string;
  route: { destination: { subset: string }; weight?: number }[];
  fault?: unknown;
}

async function stage(): Promise<{ ns: string; target: TrafficInput }> {
  const ns = await namespace('undo');
  const custom = kube().custom;
  await custom.createNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'destinationrules', body: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web' }, spec: { host: 'web', subsets: [{ name: 'stable', labels: { version: 'stable' } }, { name: 'canary', labels: { version: 'canary' } }] } } });
  await custom.createNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'virtualservices', body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web' }, spec: { hosts: ['web'], http: [{ name: 'primary', route: [{ destination: { host: 'web', subset: 'stable' }, weight: 100 }] }] } } });
  const target: TrafficInput = {
    releaseId: 'r', service: 'web', version: 'v2', commit: 'c', namespace: ns,
    router: { istio: { virtualService: 'web', namespace: ns, route: 'primary', stableSubset: 'stable', canarySubset: 'canary' } } as TrafficInput['router'],
  };
  return { ns, target };
}

async function route(ns: string): Promise<Route> {
  const vs = (await kube().custom.getNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'virtualservices', name: 'web' })) as { spec: { http: Route[] } };
  return vs.spec.http.find((r) => r.name === 'primary')!;
}

async function weights(ns: string): Promise<[number, number]> {
  const r = (await route(ns)).route;
  const w = (s: string) => r.find((d) => d.destination.subset === s)?.weight ?? 0;
  return [w('stable'), w('canary')];
}

async function deployment(ns: string, name: string, image: string, replicas: number, nodeSelector?: Record<string, string>) {
  await kube().apps.createNamespacedDeployment({
    namespace: ns,
    body: { metadata: { name }, spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { nodeSelector, containers: [{ name: 'app', image }] } } } },
  });
}

const read = (ns: string, name: string) => kube().apps.readNamespacedDeployment({ name, namespace: ns });
const deleteVs = (ns: string) => kube().custom.deleteNamespacedCustomObject({ ...GROUP, namespace: ns, plural: 'virtualservices', name: 'web' });

describe('traffic undos read back from the VirtualService', () => {
  test('restoreTraffic: undone with the weights read back, then unchanged, then skipped when the VirtualService is gone', async () => {
    const { ns, target } = await stage();
    await run(acts.setTrafficWeight, { ...target, weight: 30 });
    assert.deepEqual(await weights(ns), [70, 30]);

    const undone = await run<UndoResult>(acts.restoreTraffic, { ...target, weights: { stable: 100, canary: 0 } });
    assert.deepEqual(undone, { result: 'undone', detail: `VirtualService ${ns}/web set back to 100/0`, weights: { stable: 100, canary: 0 } });
    assert.deepEqual(await weights(ns), [100, 0]);

    const again = await run<UndoResult>(acts.restoreTraffic, { ...target, weights: { stable: 100, canary: 0 } });
    assert.deepEqual(again, { result: 'unchanged', detail: `VirtualService ${ns}/web already at 100/0`, weights: { stable: 100, canary: 0 } });

    // Someone else moved the weights meanwhile: the undo sets the recorded ones and says so.
    await run(acts.setTrafficWeight, { ...target, weight: 50 });
    const back = await run<UndoResult>(acts.restoreTraffic, { ...target, weights: { stable: 90, canary: 10 } });
    assert.equal(back.result, 'undone');
    assert.deepEqual(back.weights, { stable: 90, canary: 10 });
    assert.deepEqual(await weights(ns), [90, 10]);

    await deleteVs(ns);
    assert.deepEqual(await run<UndoResult>(acts.restoreTraffic, { ...target, weights: { stable: 100, canary: 0 } }), { result: 'skipped', detail: `VirtualService ${ns}/web not found` });
  });

  test('clearFault: undone (the route has no fault afterwards), then unchanged, skipped when the route or the VirtualService is gone', async () => {
    const { ns, target } = await stage();
    await run(acts.setTrafficWeight, { ...target, weight: 20 });
    await run(acts.setFault, { ...target, fault: { abort: { percent: 50, httpStatus: 503 } } });
    assert.deepEqual((await route(ns)).fault, { abort: { httpStatus: 503, percentage: { value: 50 } } });

    const undone = await run<UndoResult>(acts.clearFault, target);
    assert.deepEqual(undone, { result: 'undone', detail: `VirtualService ${ns}/web: fault removed from the route`, weights: { stable: 80, canary: 20 } });
    assert.equal((await route(ns)).fault, undefined);
    assert.deepEqual(await weights(ns), [80, 20], 'the weights are left as they were');

    assert.deepEqual(await run<UndoResult>(acts.clearFault, target), { result: 'unchanged', detail: `VirtualService ${ns}/web: the route has no fault`, weights: { stable: 80, canary: 20 } });

    const renamed = { ...target, router: { istio: { ...target.router.istio, route: 'gone' } } } as TrafficInput;
    assert.deepEqual(await run<UndoResult>(acts.clearFault, renamed), { result: 'skipped', detail: `VirtualService ${ns}/web has no HTTP route named gone` });

    await deleteVs(ns);
    assert.deepEqual(await run<UndoResult>(acts.clearFault, target), { result: 'skipped', detail: `VirtualService ${ns}/web not found` });
  });
});

describe('workload undos read back from the Deployment', () => {
  test('restoreReplicas: undone (spec read back), unchanged, skipped when the Deployment is gone', async () => {
    const { ns, target } = await stage();
    await deployment(ns, 'web-canary', 'registry.local/web:v2', 1);
    await run(acts.scaleCanary, { ...target, deployment: 'web-canary', replicas: 3 });
    assert.equal((await read(ns, 'web-canary')).spec?.replicas, 3);

    const input = { ...target, deployment: 'web-canary', replicas: 1 };
    assert.deepEqual(await run<UndoResult>(acts.restoreReplicas, input), { result: 'undone', detail: `Deployment ${ns}/web-canary scaled 3 -> 1 replica(s)` });
    assert.equal((await read(ns, 'web-canary')).spec?.replicas, 1);
    assert.deepEqual(await run<UndoResult>(acts.restoreReplicas, input), { result: 'unchanged', detail: `Deployment ${ns}/web-canary already at 1 replica(s)` });

    await kube().apps.deleteNamespacedDeployment({ name: 'web-canary', namespace: ns });
    assert.deepEqual(await run<UndoResult>(acts.restoreReplicas, input), { result: 'skipped', detail: `Deployment ${ns}/web-canary not found` });
  });

  test('restoreImages: undone once rolled out (images read back), unchanged, skipped when the Deployment is gone', async () => {
    const { ns, target } = await stage();
    await deployment(ns, 'web', 'registry.local/web:v2', 2);
    const input = { ...target, deployment: 'web', images: { app: 'registry.local/web:v1' }, timeout: '60s' };

    const undone = await run<UndoResult>(acts.restoreImages, input);
    assert.deepEqual(undone, { result: 'undone', detail: `Deployment ${ns}/web back at app=registry.local/web:v1 (was app=registry.local/web:v2), rolled out` });
    const d = await read(ns, 'web');
    assert.equal(d.spec?.template.spec?.containers[0].image, 'registry.local/web:v1');
    assert.equal(d.status?.updatedReplicas, 2, 'the restored template is rolled out when the undo returns');
    assert.equal(d.status?.readyReplicas, 2);

    assert.deepEqual(await run<UndoResult>(acts.restoreImages, input), { result: 'unchanged', detail: `Deployment ${ns}/web already runs app=registry.local/web:v1` });

    await kube().apps.deleteNamespacedDeployment({ name: 'web', namespace: ns });
    assert.deepEqual(await run<UndoResult>(acts.restoreImages, input), { result: 'skipped', detail: `Deployment ${ns}/web not found` });
  });

  test('restoreImages waiting on a rollout that cannot finish stops at once when cancelled', async () => {
    const { ns, target } = await stage();
    await deployment(ns, 'web', 'registry.local/web:v2', 2, { pool: 'none' });
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d) => beats.push(d));
    const waiting = env.run(acts.restoreImages, { ...target, deployment: 'web', images: { app: 'registry.local/web:v1' }, timeout: '5m' });
    waiting.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(beats.some((b) => /updated/.test(JSON.stringify(b))), 'heartbeats the rollout while waiting');
    const cancelledAt = Date.now();
    env.cancel('CANCELLED');
    await assert.rejects(waiting, (err) => err instanceof CancelledFailure);
    const latency = Date.now() - cancelledAt;
    assert.ok(latency < 1500, `stopped ${latency} ms after the cancellation`);
    assert.equal((await read(ns, 'web')).spec?.template.spec?.containers[0].image, 'registry.local/web:v1', 'the images were set before the wait');
    console.log(`# restoreImages rollout wait cancelled -> stopped: ${latency} ms`);
  });
});
