// The Helm deployer against a real API server (kube-apiserver + etcd + kwok fake nodes) with the real
// helm binary: install, upgrade, idempotent re-run, --atomic rollback of a chart whose pods never get
// ready, the compensating rollback (and what it says it did), and bad input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { helmCurrentRevision, helmDeploy, helmRollback } from '../../activities/deploy/helm.js';
import type { HelmInput, HelmRevision, UndoResult } from '../../activities/types.js';
import { deploymentImage, helmHistory, helmSpec, helmValues, kubeconfig, namespace } from '../helpers/cluster.js';

const ref = { releaseId: 'release/hello/all/abc1234', service: 'hello-api', version: 'v1', commit: 'abc1234', environment: 'staging' };
const image = (tag: string) => ({ repository: 'registry.local/hello-api', tag, digest: `sha256:${'b'.repeat(64)}`, platforms: ['linux/amd64'] });
const run = <T>(fn: (i: any) => Promise<T>, input: unknown) => new MockActivityEnvironment().run(fn, input) as Promise<T>;

describe('helm deployer (real helm, real API server via kwok)', () => {
  test('install, upgrade, an unchanged re-run makes no revision, rollback restores the previous revision', async () => {
    const ns = await namespace('helm');
    const input: HelmInput = { ...ref, helm: helmSpec('hello', ns, { values: { replicaCount: 2 } }), image: image('v1') };
    assert.deepEqual(await run(helmCurrentRevision, input), { release: 'hello', namespace: ns, revision: null });
    const first = await run<HelmRevision>(helmDeploy, input);
    assert.equal(first.revision, 1);
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v1');
    const second = await run<HelmRevision>(helmDeploy, { ...input, image: image('v2') });
    assert.equal(second.revision, 2);
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v2');
    const again = await run<HelmRevision>(helmDeploy, { ...input, image: image('v2') });
    assert.equal(again.revision, 2, 'same chart and values: no new revision');
    assert.deepEqual(helmHistory('hello', ns).map((h) => [h.revision, h.status]), [[1, 'superseded'], [2, 'deployed']]);

    assert.deepEqual(await run(helmRollback, { ...ref, helm: input.helm, toRevision: 1 }), { result: 'undone', detail: `helm release ${ns}/hello rolled back to revision 1: revision 3 deployed` });
    const h = helmHistory('hello', ns);
    assert.deepEqual(h.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'superseded'], [3, 'deployed']]);
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v1');
    assert.deepEqual(await run(helmRollback, { ...ref, helm: input.helm, toRevision: 1 }), { result: 'unchanged', detail: `helm release ${ns}/hello revision 3 already has revision 1's manifest` });
    assert.equal(helmHistory('hello', ns).length, 3, 'rolling back to what is deployed is a no-op');
  });

  test('pods that never become ready: --atomic rolls back, the activity fails with the reason, the previous revision keeps serving', async () => {
    const ns = await namespace('atomic');
    const good: HelmInput = { ...ref, helm: helmSpec('hello', ns, { timeout: '8s' }), image: image('v1') };
    await run(helmDeploy, good);
    const bad: HelmInput = { ...good, helm: { ...good.helm, values: { nodeSelector: { pool: 'does-not-exist' } } }, image: image('v2') };
    await assert.rejects(run(helmDeploy, bad), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
      assert.equal(err.type, 'HelmUpgradeFailed');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /UPGRADE FAILED|rolled back|context deadline exceeded|timed out/);
      return true;
    });
    const h = helmHistory('hello', ns);
    assert.equal(h[h.length - 1].status, 'deployed');
    assert.match(h[h.length - 1].description, /Rollback to 1/);
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v1');
    // The compensation the workflow pushed before the upgrade: already the state --atomic left, so no new revision.
    const before = h.length;
    const undo = await run<UndoResult>(helmRollback, { ...ref, helm: good.helm, toRevision: 1 });
    assert.deepEqual(undo, { result: 'unchanged', detail: `helm release ${ns}/hello revision ${before} already has revision 1's manifest` });
    assert.equal(helmHistory('hello', ns).length, before);
  });

  test('a first install that fails leaves nothing behind; its undo (uninstall) is a no-op', async () => {
    const ns = await namespace('fresh');
    const input: HelmInput = { ...ref, helm: helmSpec('hello', ns, { timeout: '5s', values: { nodeSelector: { pool: 'none' } } }), image: image('v1') };
    await assert.rejects(run(helmDeploy, input), /HelmUpgradeFailed|INSTALLATION FAILED|uninstalled|timed out|deadline/);
    assert.deepEqual(helmHistory('hello', ns), []);
    assert.deepEqual(await run(helmRollback, { ...ref, helm: input.helm, toRevision: null }), { result: 'unchanged', detail: `helm release ${ns}/hello is not installed` });
  });

  test('values from the spec and the image land where imageValues says', async () => {
    const ns = await namespace('values');
    const dir = mkdtempSync(join(tmpdir(), 'vals-'));
    writeFileSync(join(dir, 'extra.yaml'), 'replicaCount: 1\nresources:\n  requests: { cpu: 5m, memory: 8Mi }\n');
    const input: HelmInput = { ...ref, helm: helmSpec('hello', ns, { values: { track: 'canary' }, valuesFiles: [join(dir, 'extra.yaml')] }), image: image('v7') };
    await run(helmDeploy, input);
    const values = helmValues('hello', ns);
    assert.deepEqual(values.image, { repository: 'registry.local/hello-api', tag: 'v7' });
    assert.equal(values.track, 'canary');
    assert.equal(values.replicaCount, 1);
    assert.equal((await run<HelmRevision>(helmDeploy, input)).revision, 1, 'values files count in the idempotency check');
  });

  test('bad input: missing chart, bad values path, unreachable API server, forbidden', async () => {
    const ns = await namespace('bad');
    const missing = run(helmDeploy, { ...ref, helm: helmSpec('hello', ns, { chart: '/nonexistent/chart' }), image: image('v1') });
    await assert.rejects(missing, (err: { type?: string; nonRetryable?: boolean; message: string }) => err.type === 'ChartNotFound' && err.nonRetryable === true && /no Chart.yaml/.test(err.message));
    const badPath = run(helmDeploy, { ...ref, helm: helmSpec('hello', ns, { values: { image: 'nginx' } }), image: image('v1') });
    await assert.rejects(badPath, (err: { type?: string; message: string }) => err.type === 'InvalidValuesPath' && /image is a string, not a map/.test(err.message));

    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const original = kubeconfig();
    try {
      writeFileSync(join(dir, 'unreachable'), `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: x}}]\n`);
      process.env.KUBECONFIG = join(dir, 'unreachable');
      await assert.rejects(run(helmDeploy, { ...ref, helm: helmSpec('hello', ns), image: image('v1') }), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
        assert.equal(err.type, 'ClusterUnreachable');
        assert.notEqual(err.nonRetryable, true, 'an API server that is down may come back: retried');
        assert.match(err.message, /connection refused|unreachable/);
        return true;
      });
      process.env.KUBECONFIG = original;
      const forbidden = await forbiddenKubeconfig(ns, dir);
      process.env.KUBECONFIG = forbidden;
      await assert.rejects(run(helmDeploy, { ...ref, helm: helmSpec('hello', ns), image: image('v1') }), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
        assert.equal(err.type, 'Forbidden');
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /forbidden/i);
        return true;
      });
    } finally {
      process.env.KUBECONFIG = original;
    }
  });
});

/** A kubeconfig for a service account with no permissions at all (RBAC denies everything). */
async function forbiddenKubeconfig(ns: string, dir: string): Promise<string> {
  const { kube } = await import('../../activities/kube.js');
  const k = kube();
  await k.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'nobody' } } });
  const token = await k.core.createNamespacedServiceAccountToken({ namespace: ns, name: 'nobody', body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = k.kc.getCurrentCluster()!;
  const path = join(dir, 'forbidden');
  const ca = cluster.caData ? `certificate-authority-data: ${cluster.caData}` : 'insecure-skip-tls-verify: true';
  writeFileSync(path, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${cluster.server}", ${ca}}}]\ncontexts: [{name: c, context: {cluster: c, user: u, namespace: ${ns}}}]\ncurrent-context: c\nusers: [{name: u, user: {token: "${token.status?.token}"}}]\n`);
  return path;
}
