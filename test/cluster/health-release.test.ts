// Health of the release, not just of the Deployment, on the real API server (kwok makes pods Ready):
// the pod template must run the release's tag or digest and that template's rollout be complete;
// cancellation stops the wait at once. Argo CD (SIMULATED: its CRD is installed, no controller runs;
// the test sets the Application's status) synced at a later revision of a real config repository
// that contains the release's commit passes; at an unrelated revision it does not.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setHeaderOptions, PatchStrategy } from '@kubernetes/client-node';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { simpleGit } from 'simple-git';
import { checkHealth, imageMatches, parseImage } from '../../activities/deploy/health.js';
import { kube } from '../../activities/kube.js';
import type { HealthInput, HealthReport, ImageRef } from '../../activities/types.js';
import { createRepo } from '../helpers/git.js';
import { namespace } from '../helpers/cluster.js';

const ref = { releaseId: 'r', service: 's', version: 'v2', commit: 'c' };
const DIGEST = `sha256:${'ab12'.repeat(16)}`;
const OTHER_DIGEST = `sha256:${'cd34'.repeat(16)}`;
const image = (over: Partial<ImageRef> = {}): ImageRef => ({ repository: 'registry.local/app', tag: 'v2', digest: DIGEST, platforms: ['linux/amd64'], ...over });

interface Run<T> {
  result: Promise<T>;
  heartbeats: unknown[];
  env: MockActivityEnvironment;
}

function start<T>(fn: (i: any) => Promise<T>, input: unknown): Run<T> {
  const env = new MockActivityEnvironment();
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d) => heartbeats.push(d));
  const result = env.run(fn, input) as Promise<T>;
  result.catch(() => undefined); // observed by the test; no unhandled rejection meanwhile
  return { result, heartbeats, env };
}

async function deployment(ns: string, name: string, containerImage: string, nodeSelector?: Record<string, string>) {
  await kube().apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { nodeSelector, containers: [{ name: 'app', image: containerImage }] } },
      },
    },
  });
}

async function setImage(ns: string, name: string, containerImage: string) {
  await kube().apps.patchNamespacedDeployment(
    { name, namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'app', image: containerImage }] } } } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}

/** Waits until the Deployment (whatever it runs) is fully rolled out, so a test starts from a ready old version. */
async function ready(ns: string, name: string) {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const d = await kube().apps.readNamespacedDeployment({ name, namespace: ns });
    if ((d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && d.status?.readyReplicas === 2 && d.status?.updatedReplicas === 2 && d.status?.replicas === 2) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${ns}/${name} not ready in 60s`);
}

/** Ready pods of the Deployment running `containerImage`. */
async function readyPodsRunning(ns: string, name: string, containerImage: string): Promise<number> {
  const pods = await kube().core.listNamespacedPod({ namespace: ns, labelSelector: `app=${name}` });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.spec?.containers[0].image === containerImage && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
}

describe('which container image is the release (no cluster needed)', () => {
  test('tag or digest decides, never the repository; a registry port is not a tag', () => {
    assert.deepEqual(parseImage('registry.local:5000/team/app:v2@' + DIGEST), { repository: 'registry.local:5000/team/app', tag: 'v2', digest: DIGEST });
    assert.deepEqual(parseImage('registry.local:5000/team/app'), { repository: 'registry.local:5000/team/app', digest: undefined });
    const cases: [string, boolean][] = [
      ['registry.local/app:v2', true],
      ['mirror.example.com:5000/prod/app:v2', true],
      [`registry.local/app:v2@${OTHER_DIGEST}`, true],
      [`mirror.example.com/app@${DIGEST}`, true],
      [`registry.local/app:v1@${DIGEST}`, true],
      ['registry.local/app:v1', false],
      ['registry.local/app:v2-rc1', false],
      ['registry.local:5000/app', false],
      [`registry.local/app@${OTHER_DIGEST}`, false],
    ];
    for (const [img, want] of cases) assert.equal(imageMatches(img, image()), want, img);
    assert.equal(imageMatches('registry.local/app@' + DIGEST, image({ digest: '' })), false, 'no digest known: only the tag counts');
  });
});

describe('rollout health of the release image (real API server)', () => {
  test('the Deployment ready on another tag does not pass (the timeout names both); it passes once the template runs the tag and its pods are ready', async () => {
    const ns = await namespace('relimg');
    await deployment(ns, 'web', 'registry.local/app:v1');
    await ready(ns, 'web');
    const input: HealthInput = { ...ref, namespace: ns, deployment: 'web', timeout: '4s', image: image() };
    const started = Date.now();
    await assert.rejects(start(checkHealth, input).result, (err: { type?: string; nonRetryable?: boolean; message: string }) => {
      assert.equal(err.type, 'RolloutTimeout');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /template runs registry\.local\/app:v1, expected tag v2 or digest sha256:ab12ab12ab12 \(any repository\)/);
      assert.match(err.message, /2 updated, 2 ready, 2 available of 2/, 'the old version is fully ready, and still not healthy');
      return true;
    });
    assert.ok(Date.now() - started >= 4000);

    // While waiting, the heartbeats say what runs and what is expected; the new template (from a
    // mirror repository: only the tag is compared) passes once rolled out.
    const waiting = start<HealthReport>(checkHealth, { ...input, timeout: '60s' });
    await new Promise((r) => setTimeout(r, 2500));
    let settled = false;
    waiting.result.then(() => (settled = true), () => (settled = true));
    assert.equal(settled, false, 'still waiting while v1 runs');
    assert.ok(waiting.heartbeats.some((h) => /template runs registry\.local\/app:v1, expected tag v2/.test(JSON.stringify(h))), JSON.stringify(waiting.heartbeats));
    await setImage(ns, 'web', 'mirror.local/prod/app:v2');
    const report = await waiting.result;
    assert.deepEqual(report, { deployment: 'web', namespace: ns, readyReplicas: 2, replicas: 2 });
    assert.equal(await readyPodsRunning(ns, 'web', 'mirror.local/prod/app:v2'), 2, 'both pods of the new template are ready when health passes');
    const d = await kube().apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    assert.ok((d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0));
    assert.equal(d.status?.updatedReplicas, 2);
  });

  test('a digest-pinned template passes by digest under another repository and tag; another digest does not', async () => {
    const ns = await namespace('reldigest');
    await deployment(ns, 'web', `mirror.local/other/app@${DIGEST}`);
    const report = await start<HealthReport>(checkHealth, { ...ref, namespace: ns, deployment: 'web', timeout: '60s', image: image({ tag: 'v2.0.0' }) }).result;
    assert.equal(report.readyReplicas, 2);
    await assert.rejects(start(checkHealth, { ...ref, namespace: ns, deployment: 'web', timeout: '3s', image: image({ tag: 'v2.0.0', digest: OTHER_DIGEST }) }).result, (err: { type?: string; message: string }) => {
      assert.equal(err.type, 'RolloutTimeout');
      assert.match(err.message, new RegExp(`template runs mirror\\.local/other/app@${DIGEST}, expected tag v2\\.0\\.0 or digest sha256:cd34cd34cd34`));
      return true;
    });
  });

  test('cancellation stops the wait within a poll (CancelledFailure), not at the timeout', async () => {
    const ns = await namespace('relcancel');
    await deployment(ns, 'web', 'registry.local/app:v1', { pool: 'none' });
    const waiting = start(checkHealth, { ...ref, namespace: ns, deployment: 'web', timeout: '5m', image: image() });
    await new Promise((r) => setTimeout(r, 2000));
    const cancelledAt = Date.now();
    waiting.env.cancel('CANCELLED');
    await assert.rejects(waiting.result, (err) => err instanceof CancelledFailure);
    const latency = Date.now() - cancelledAt;
    assert.ok(latency < 1500, `stopped ${latency} ms after the cancellation`);
    console.log(`# checkHealth cancelled -> stopped: ${latency} ms`);
  });
});

describe('Argo CD (simulated) synced at a later config revision (real git repository)', () => {
  const GROUP = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' };
  async function application(ns: string, name: string) {
    await kube().custom.createNamespacedCustomObject({ ...GROUP, namespace: ns, body: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: ns }, spec: { project: 'default', source: { repoURL: 'x', path: 'y' }, destination: { namespace: ns, server: 'https://kubernetes.default.svc' } } } });
  }
  const setStatus = (ns: string, name: string, status: object) =>
    kube().custom.patchNamespacedCustomObjectStatus({ ...GROUP, namespace: ns, name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const clones = () => readdirSync(tmpdir()).filter((f) => f.startsWith('config-history-')).length;

  test('a descendant of the release commit passes (also one pushed after the first clone); a sibling does not; Degraded at a descendant fails', async () => {
    const config = await createRepo(null);
    const base = await config.commit('base', { 'app/values.yaml': 'image:\n  tag: v1\n' });
    const ours = await config.commit('deploy v2', { 'app/values.yaml': 'image:\n  tag: v2\n' });
    const later = await config.commit('other service', { 'other/values.yaml': 'image:\n  tag: x\n' });
    const git = simpleGit(config.work);
    await git.raw(['checkout', '-q', '-b', 'side', base]);
    const sibling = await git.raw(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'side']).then(() => git.revparse(['HEAD']));
    await git.push('origin', 'side');
    await git.raw(['checkout', '-q', 'main']);

    const ns = await namespace('argoanc');
    await deployment(ns, 'web', 'registry.local/app:v2');
    await application(ns, 'hello');
    const input = (application: string, timeout: string): HealthInput => ({ ...ref, namespace: ns, deployment: 'web', timeout, image: image(), argocd: { application, namespace: ns, revision: ours, repo: config.url } });
    const before = clones();

    // Synced+Healthy at a later commit of the branch: contains ours.
    await setStatus(ns, 'hello', { sync: { status: 'Synced', revision: later }, health: { status: 'Healthy' } });
    assert.equal((await start<HealthReport>(checkHealth, input('hello', '60s')).result).readyReplicas, 2);

    // At a sibling (in the repository, not containing ours) it does not pass.
    await setStatus(ns, 'hello', { sync: { status: 'Synced', revision: sibling.trim() }, health: { status: 'Healthy' } });
    await assert.rejects(start(checkHealth, input('hello', '4s')).result, (err: { type?: string; message: string }) => {
      assert.equal(err.type, 'RolloutTimeout');
      assert.match(err.message, new RegExp(`not Synced\\+Healthy at ${ours.slice(0, 12)} .*sync Synced at ${sibling.trim().slice(0, 12)}, health Healthy, which does not contain ${ours.slice(0, 12)}`));
      return true;
    });
    // At a revision the repository does not have at all: not ours either.
    await setStatus(ns, 'hello', { sync: { status: 'Synced', revision: 'f'.repeat(40) }, health: { status: 'Healthy' } });
    await assert.rejects(start(checkHealth, input('hello', '3s')).result, /which does not contain/);

    // Synced at the base (older) first: the clone is made then; a commit pushed afterwards on top of
    // ours is fetched when Argo CD reports it.
    await setStatus(ns, 'hello', { sync: { status: 'Synced', revision: base }, health: { status: 'Healthy' } });
    const waiting = start<HealthReport>(checkHealth, input('hello', '60s'));
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(waiting.heartbeats.some((h) => JSON.stringify(h).includes(`which does not contain ${ours.slice(0, 12)}`)), JSON.stringify(waiting.heartbeats));
    const newest = await config.commit('yet another service', { 'third/values.yaml': 'image:\n  tag: y\n' });
    await setStatus(ns, 'hello', { sync: { status: 'Synced', revision: newest }, health: { status: 'Healthy' } });
    assert.equal((await waiting.result).readyReplicas, 2);

    // Degraded at a revision containing ours fails at once.
    await application(ns, 'broken');
    await setStatus(ns, 'broken', { sync: { status: 'Synced', revision: newest }, health: { status: 'Degraded', message: 'Deployment web exceeded its progress deadline' } });
    const failedAt = Date.now();
    await assert.rejects(start(checkHealth, input('broken', '60s')).result, (err: { type?: string; message: string }) => {
      assert.equal(err.type, 'RolloutFailed');
      assert.match(err.message, new RegExp(`Argo CD application broken is Degraded at ${newest.slice(0, 12)} \\(contains ${ours.slice(0, 12)}\\): Deployment web exceeded its progress deadline`));
      return true;
    });
    assert.ok(Date.now() - failedAt < 30_000);
    assert.equal(clones(), before, 'each call removed its clone of the config repository');
  });

  test('an unreachable config repository is a retryable SourceUnavailable naming it', async () => {
    const ns = await namespace('argonorepo');
    await deployment(ns, 'web', 'registry.local/app:v2');
    await application(ns, 'hello');
    await setStatus(ns, 'hello', { sync: { status: 'Synced', revision: 'b'.repeat(40) }, health: { status: 'Healthy' } });
    await assert.rejects(
      start(checkHealth, { ...ref, namespace: ns, deployment: 'web', timeout: '30s', argocd: { application: 'hello', namespace: ns, revision: 'a'.repeat(40), repo: 'file:///nonexistent/config.git' } }).result,
      (err: { type?: string; nonRetryable?: boolean; message: string }) => {
        assert.equal(err.type, 'SourceUnavailable');
        assert.notEqual(err.nonRetryable, true);
        assert.match(err.message, /cannot fetch config repo file:\/\/\/nonexistent\/config\.git/);
        return true;
      },
    );
  });
});
