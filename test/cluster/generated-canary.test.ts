// Generated canary plumbing (canary.generate) on the real API server with the real helm (Istio CRDs
// installed, no data plane: the tests read back the objects the API server stores). The namespace
// holds only the stable release of the service's own chart; Shipyard generates the canary
// Deployment, the canary Service and the VirtualService, shifts traffic between the two Services,
// promotes through helm, and on failure removes exactly what it created. The build is a stand-in
// (an image reference for the release); every deploy-side activity is real.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { V1Deployment } from '@kubernetes/client-node';
import { createDeployActivities, createIntegrationActivities } from '../../activities/index.js';
import { helmDeploy } from '../../activities/deploy/helm.js';
import { kube } from '../../activities/kube.js';
import { ensureCanaryPlumbing, removeCanaryPlumbing } from '../../activities/traffic/plumbing.js';
import type { BuildActivities, ImageRef, PlumbingInput, PlumbingResult, UndoResult } from '../../activities/types.js';
import { parseSpec } from '../../spec/load.js';
import { CHART, deploymentImage, helmHistory, helmSpec, namespace } from '../helpers/cluster.js';
import { ISTIO } from '../helpers/istio.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { connectClient, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

const REPO = 'registry.local/web';
const digestOf = (version: string) => `sha256:${Buffer.from(version).toString('hex').padEnd(64, '0').slice(0, 64)}`;
const imageOf = (version: string): ImageRef => ({ repository: REPO, tag: version, digest: digestOf(version), platforms: ['linux/amd64'] });

/** Stand-in build: the release's image is `registry.local/web:<version>` (nothing is compiled or pushed). */
const build: Pick<BuildActivities, 'buildTarget' | 'publishImage'> = {
  buildTarget: async (i) => ({ target: i.target, uri: `mem://${i.commit}/${i.target}`, sha256: '0'.repeat(64), size: 1, cacheHit: true }),
  publishImage: async (i) => ({ ...imageOf(i.version), repository: i.repository }),
};
const workers = () => ({ build, deploy: { ...createDeployActivities(), ...createIntegrationActivities() } });

/** A namespace with the service's chart installed as the stable release `web` at v1 (Deployment and Service `web`). */
async function stableNamespace(prefix: string): Promise<string> {
  const ns = await namespace(prefix);
  await new MockActivityEnvironment().run(helmDeploy, { releaseId: 'setup', service: 'web', version: 'v1', commit: 'c', helm: helmSpec('web', ns, { values: { track: 'stable' } }), image: imageOf('v1') });
  return ns;
}

function generatedSpec(ns: string, steps: unknown[]) {
  return parseSpec(
    stringify({
      service: uniqueName('gen'),
      source: { repo: 'https://git.example.com/web.git' },
      build: { targets: ['linux/amd64'], test: false },
      image: { repository: REPO, platforms: ['linux/amd64'] },
      environments: [
        {
          name: 'production',
          deploy: { helm: { chart: CHART, release: 'web', namespace: ns, timeout: '60s', values: { track: 'stable' } } },
          health: { timeout: '60s' },
          canary: { generate: true, router: { istio: { virtualService: 'web' } }, steps },
        },
      ],
    }),
  );
}

const readDeployment = (ns: string, name: string) => kube().apps.readNamespacedDeployment({ name, namespace: ns }).catch(() => null);
const readService = (ns: string, name: string) => kube().core.readNamespacedService({ name, namespace: ns }).catch(() => null);
type Vs = { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: { hosts: string[]; http: { name?: string; route: { destination: { host: string; subset?: string }; weight?: number }[] }[] } };
const readVs = (ns: string) => kube().custom.getNamespacedCustomObject({ ...ISTIO, namespace: ns, plural: 'virtualservices', name: 'web' }).then((v) => v as Vs, () => null);
/** The primary route's destinations as `host=weight`. */
const routeOf = async (ns: string) => (await readVs(ns))?.spec.http.find((r) => r.name === 'primary')?.route.map((d) => `${d.destination.host}${d.destination.subset ? `/${d.destination.subset}` : ''}=${d.weight}`);
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('generated canary plumbing in a release', () => {
  test('only a helm-installed stable: canary Deployment, Service and VirtualService generated; traffic split by Service; promotion through helm; canary deleted', async () => {
    const ns = await stableNamespace('gen');
    const stableBefore = (await readDeployment(ns, 'web'))!;
    const spec = generatedSpec(ns, [{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }, { pause: '1s' }]);
    const spec0Service = spec.service;
    const queues = uniqueQueues();
    await withWorkers(queues, workers(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v2' });
      const paused = await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause until resumed', 'pause {}', 90_000);

      // The canary Deployment: the stable pod template, the release image, canary labels, Shipyard's.
      const canary = (await readDeployment(ns, 'web-canary'))!;
      assert.ok(canary, 'web-canary generated');
      assert.equal(canary.metadata?.labels?.['app.kubernetes.io/managed-by'], 'shipyard');
      assert.equal(canary.metadata?.annotations?.['shipyard.dev/release'], releaseId);
      assert.equal(canary.metadata?.annotations?.['shipyard.dev/attempt'], paused.attempt);
      const podLabels = canary.spec!.template.metadata!.labels!;
      assert.deepEqual(podLabels, { 'app.kubernetes.io/name': 'hello-api', 'app.kubernetes.io/instance': 'web-canary', app: 'hello-api', version: 'stable', track: 'canary' });
      assert.deepEqual(canary.spec!.selector.matchLabels, { 'app.kubernetes.io/instance': 'web-canary', track: 'canary' });
      assert.equal(canary.spec!.template.spec!.containers[0].image, `${REPO}:v2@${digestOf('v2')}`);
      assert.equal(canary.spec!.template.spec!.containers[0].readinessProbe?.httpGet?.path, '/readyz', 'the rest of the stable template is kept');
      assert.equal(canary.status?.readyReplicas, 2, 'health waited for the canary to be ready');

      // Traffic separation: the stable Service does not select canary pods; the canary Service selects only them.
      const stableSvc = (await readService(ns, 'web'))!;
      const canarySvc = (await readService(ns, 'web-canary'))!;
      assert.equal(selects(stableSvc.spec!.selector!, podLabels), false, 'the stable Service must not select canary pods');
      assert.deepEqual(canarySvc.spec!.selector, { 'app.kubernetes.io/instance': 'web-canary', track: 'canary' });
      assert.equal(selects(canarySvc.spec!.selector!, stableBefore.spec!.template.metadata!.labels!), false);
      assert.deepEqual(canarySvc.spec!.ports!.map((p) => [p.name, p.port, p.targetPort]), [['http', 80, 'http']]);
      assert.equal(canarySvc.metadata?.labels?.['app.kubernetes.io/managed-by'], 'shipyard');

      // The VirtualService, created with the stable host, carries the weights by Service.
      const vs = (await readVs(ns))!;
      assert.equal(vs.metadata.labels?.['app.kubernetes.io/managed-by'], 'shipyard');
      assert.deepEqual(vs.spec.hosts, ['web']);
      assert.deepEqual(await routeOf(ns), ['web=80', 'web-canary=20']);
      assert.equal(paused.canary?.weight, 20);
      assert.deepEqual(paused.plumbing?.map((o) => `${o.kind} ${o.name} ${o.action}`), ['Deployment web-canary created', 'Service web-canary created', 'VirtualService web created']);

      // The user's stable objects are untouched.
      const stableNow = (await readDeployment(ns, 'web'))!;
      assert.equal(stableNow.metadata?.generation, stableBefore.metadata?.generation);
      assert.equal(stableNow.spec?.template.spec?.containers[0].image, `${REPO}:v1`);

      await ctx.shipyard.resume(releaseId, 'ops');
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.equal(await deploymentImage(ns, 'web'), `${REPO}:v2`, 'the stable release took the image through helm');
      assert.deepEqual(helmHistory('web', ns).map((h) => [h.revision, h.status]), [[1, 'superseded'], [2, 'deployed']]);
      assert.equal(await readDeployment(ns, 'web-canary'), null, 'the canary Deployment is deleted after promotion');
      assert.deepEqual(await routeOf(ns), ['web=100'], 'all traffic to stable, no destination left on the canary Service');
      assert.ok(await readService(ns, 'web-canary'), 'the canary Service stays for the next release');
      assert.deepEqual(final.status!.plumbing!.find((o) => o.kind === 'Deployment'), { environment: 'production', kind: 'Deployment', namespace: ns, name: 'web-canary', uid: canary.metadata!.uid, action: 'created', removed: true });
      const promote = final.status!.stages.find((s) => s.stage === 'promote')!;
      assert.equal(promote.detail, `helm web revision 2; traffic stable 100 / canary 0; Deployment ${ns}/web-canary deleted`);
      const weights = final.status!.canaryHistory!.map((c) => c.weight);
      assert.deepEqual(weights, [0, 20, 60, 0]);
    });

    // The next release finds the Service and VirtualService left for it: kept, not its own to remove.
    const next = generatedSpec(ns, [{ setWeight: 50 }, { pause: {} }]);
    const queues2 = uniqueQueues();
    await withWorkers(queues2, workers(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues2, next, { version: 'v3' });
      const s = await waitForStatus(ctx.shipyard, releaseId, (st) => st.canary?.description === 'pause until resumed', 'pause {}', 90_000);
      assert.deepEqual(s.plumbing?.map((o) => `${o.kind} ${o.name} ${o.action}`), ['Deployment web-canary created', 'Service web-canary kept', 'VirtualService web kept']);
      assert.deepEqual(await routeOf(ns), ['web=50', 'web-canary=50']);
      await ctx.shipyard.abort(releaseId, 'ops', 'enough');
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'aborted');
      const undo = final.status!.compensation.find((c) => c.description.startsWith('remove what this release generated'))!;
      assert.equal(undo.status, 'done');
      assert.match(undo.detail!, new RegExp(`^VirtualService ${ns}/web was made by Shipyard for release/${spec0Service}/[\\w+-]+/\\w+ \\(attempt [\\w-]+\\), not this attempt: left as it is; Service ${ns}/web-canary was made by Shipyard for .*, not this attempt: left as it is; Deployment ${ns}/web-canary deleted$`));
      assert.ok(await readService(ns, 'web-canary'), 'the earlier release\'s Service stays');
      assert.deepEqual(await routeOf(ns), ['web=100']);
      assert.equal(await deploymentImage(ns, 'web'), `${REPO}:v2`, 'stable untouched by the aborted release');
    });
  });

  test('an aborted release removes exactly what it created and leaves the user\'s VirtualService in place (traffic restored)', async () => {
    const ns = await stableNamespace('gen-abort');
    // The user's own VirtualService for the stable host (not Shipyard's).
    await kube().custom.createNamespacedCustomObject({ ...ISTIO, namespace: ns, plural: 'virtualservices', body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web', labels: { owner: 'team' } }, spec: { hosts: ['web'], http: [{ name: 'primary', route: [{ destination: { host: 'web' }, weight: 100 }] }] } } });
    const userVs = (await kube().custom.getNamespacedCustomObject({ ...ISTIO, namespace: ns, plural: 'virtualservices', name: 'web' })) as { metadata: { uid: string } };
    const spec = generatedSpec(ns, [{ setWeight: 30 }, { pause: {} }, { setWeight: 100 }]);
    const queues = uniqueQueues();
    await withWorkers(queues, workers(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v2' });
      const paused = await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause until resumed', 'pause {}', 90_000);
      assert.deepEqual(paused.plumbing?.map((o) => `${o.kind} ${o.name} ${o.action}`), ['Deployment web-canary created', 'Service web-canary created', 'VirtualService web kept']);
      assert.deepEqual(await routeOf(ns), ['web=70', 'web-canary=30']);
      await ctx.shipyard.abort(releaseId, 'ops', 'stop');
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'aborted');
      const undo = final.status!.compensation.find((c) => c.description.startsWith('remove what this release generated'))!;
      assert.deepEqual([undo.status, undo.detail], ['done', `VirtualService ${ns}/web is not Shipyard's: left as it is; Service ${ns}/web-canary deleted; Deployment ${ns}/web-canary deleted`]);
    });
    assert.equal(await readDeployment(ns, 'web-canary'), null);
    assert.equal(await readService(ns, 'web-canary'), null);
    const vs = (await readVs(ns))!;
    assert.equal((vs.metadata as { uid?: string }).uid, userVs.metadata.uid, 'the user\'s VirtualService is the same object');
    assert.deepEqual(vs.metadata.labels, { owner: 'team' });
    assert.deepEqual(await routeOf(ns), ['web=100'], 'traffic back to stable only');
    assert.equal(await deploymentImage(ns, 'web'), `${REPO}:v1`);
    assert.deepEqual(helmHistory('web', ns).map((h) => h.revision), [1], 'the stable release was not touched');
  });

  test('a same-named Deployment that is not Shipyard\'s fails the release with PlumbingConflict and is left as it was', async () => {
    const ns = await stableNamespace('gen-conflict');
    await kube().apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name: 'web-canary', labels: { owner: 'team' } }, spec: { replicas: 1, selector: { matchLabels: { app: 'mine' } }, template: { metadata: { labels: { app: 'mine' } }, spec: { containers: [{ name: 'app', image: 'team/mine:1' }] } } } } });
    const spec = generatedSpec(ns, [{ setWeight: 30 }]);
    const queues = uniqueQueues();
    await withWorkers(queues, workers(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v2' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      // The only undo found nothing of its own to remove (`unchanged`): nothing is left to roll back.
      assert.equal(final.outcome, 'rolled-back');
      assert.equal(final.status!.error?.type, 'PlumbingConflict');
      assert.match(final.status!.error!.message, new RegExp(`Deployment ${ns}/web-canary exists and is not Shipyard's`));
      const undo = final.status!.compensation.find((c) => c.description.startsWith('remove what this release generated'))!;
      assert.deepEqual([undo.status, undo.detail], ['unchanged', `VirtualService ${ns}/web not found; Service ${ns}/web-canary not found; Deployment ${ns}/web-canary is not Shipyard's: left as it is`]);
    });
    const mine = (await readDeployment(ns, 'web-canary'))!;
    assert.equal(mine.spec?.template.spec?.containers[0].image, 'team/mine:1');
    assert.deepEqual(mine.metadata?.labels, { owner: 'team' });
    assert.equal(await readService(ns, 'web-canary'), null, 'nothing else was created');
    assert.equal(await readVs(ns), null);
  });

  test('the first release (no stable yet) installs the stable with helm and runs no canary', async () => {
    const ns = await namespace('gen-first');
    const spec = generatedSpec(ns, [{ setWeight: 30 }, { pause: {} }]);
    const queues = uniqueQueues();
    await withWorkers(queues, workers(), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v1' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded', final.message);
      const deploy = final.status!.stages.find((s) => s.stage === 'deploy')!;
      assert.equal(deploy.detail, 'helm revision 1; stable Deployment web did not exist: first release installed as the stable, no canary');
      assert.equal(final.status!.stages.some((s) => s.stage === 'canary'), false);
      assert.equal(final.status!.plumbing, undefined);
    });
    assert.equal(await deploymentImage(ns, 'web'), `${REPO}:v1`);
    assert.equal(await readDeployment(ns, 'web-canary'), null);
    assert.equal(await readVs(ns), null);
  });
});

describe('plumbing activities: idempotent per attempt', () => {
  const run = <T>(fn: (i: any) => Promise<T>, input: unknown) => new MockActivityEnvironment().run(fn, input) as Promise<T>;
  const ref = { releaseId: 'release/web/production/abc', attempt: 'run-1', service: 'web', version: 'v2', commit: 'abc', environment: 'production' };

  test('a repeat finds its own objects; another attempt adopts the canary Deployment and keeps the rest; removal by the first attempt then leaves them', async () => {
    const ns = await stableNamespace('gen-idem');
    const input: PlumbingInput = { ...ref, namespace: ns, stable: 'web', service: 'web', virtualService: 'web', route: 'primary', image: imageOf('v2') };
    const first = await run<PlumbingResult>(ensureCanaryPlumbing, input);
    const again = await run<PlumbingResult>(ensureCanaryPlumbing, input);
    assert.deepEqual(again, first, 'same objects, same uids, nothing created twice');
    assert.deepEqual(first.objects.map((o) => o.action), ['created', 'created', 'created']);
    const generation = ((await readDeployment(ns, 'web-canary')) as V1Deployment).metadata?.generation;

    const retry = await run<PlumbingResult>(ensureCanaryPlumbing, { ...input, attempt: 'run-2', image: imageOf('v3') });
    assert.deepEqual(retry.objects.map((o) => `${o.kind} ${o.action}`), ['Deployment adopted', 'Service kept', 'VirtualService kept']);
    const adopted = (await readDeployment(ns, 'web-canary'))!;
    assert.equal(adopted.metadata?.uid, first.objects[0].uid, 'updated in place, not recreated');
    assert.equal(adopted.metadata?.annotations?.['shipyard.dev/attempt'], 'run-2');
    assert.equal(adopted.spec?.template.spec?.containers[0].image, `${REPO}:v3@${digestOf('v3')}`);
    assert.ok((adopted.metadata?.generation ?? 0) > (generation ?? 0));

    const objects = [{ kind: 'Deployment', name: 'web-canary' }, { kind: 'Service', name: 'web-canary' }, { kind: 'VirtualService', name: 'web' }];
    const byFirst = await run<UndoResult>(removeCanaryPlumbing, { ...ref, namespace: ns, objects });
    assert.equal(byFirst.result, 'undone', byFirst.detail);
    assert.equal(byFirst.detail, `VirtualService ${ns}/web deleted; Service ${ns}/web-canary deleted; Deployment ${ns}/web-canary was made by Shipyard for ${ref.releaseId} (attempt run-2), not this attempt: left as it is`);
    const wrongUid = await run<UndoResult>(removeCanaryPlumbing, { ...ref, attempt: 'run-2', namespace: ns, objects: [{ kind: 'Deployment', name: 'web-canary', uid: 'not-the-one' }] });
    assert.deepEqual(wrongUid, { result: 'unchanged', detail: `Deployment ${ns}/web-canary is not the object this release created (uid ${first.objects[0].uid}, created not-the-one): left as it is` });
    assert.ok(await readDeployment(ns, 'web-canary'));
    const bySecond = await run<UndoResult>(removeCanaryPlumbing, { ...ref, attempt: 'run-2', namespace: ns, objects });
    assert.deepEqual(bySecond, { result: 'undone', detail: `VirtualService ${ns}/web not found; Service ${ns}/web-canary not found; Deployment ${ns}/web-canary deleted` });
    assert.deepEqual(await run<UndoResult>(removeCanaryPlumbing, { ...ref, attempt: 'run-2', namespace: ns, objects }), { result: 'skipped', detail: `VirtualService ${ns}/web not found; Service ${ns}/web-canary not found; Deployment ${ns}/web-canary not found` });
  });
});
