// The GitOps deployer against real git remotes, and rollout health against the real API server:
// a tag bump that keeps the file's formatting, a concurrent push retried, a revert that restores the
// file byte for byte, dev -> test -> prod promotion by merge; Deployment readiness, a progress
// deadline, and an Argo CD Application whose status the test drives (a SIMULATION of Argo CD: its
// CRD is installed, no Argo CD controller runs).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { simpleGit } from 'simple-git';
import { gitopsRevert, gitopsUpdate, setYamlScalar } from '../../activities/deploy/gitops.js';
import { checkHealth } from '../../activities/deploy/health.js';
import { kube } from '../../activities/kube.js';
import type { GitOpsCommit, GitOpsInput, HealthReport, UndoResult } from '../../activities/types.js';
import { createRepo, type TestRepo } from '../helpers/git.js';
import { namespace } from '../helpers/cluster.js';

const VALUES = `# hello-api in production. Tuned by hand: keep the comments.
replicaCount: 4   # peak traffic needs four

image:
  repository: registry.local/prod/hello-api
  tag: "v1.0.0"    # set by Shipyard
  pullPolicy: IfNotPresent

resources: { requests: { cpu: 100m } }
`;

const run = <T>(fn: (i: any) => Promise<T>, input: unknown) => new MockActivityEnvironment().run(fn, input) as Promise<T>;
let config: TestRepo;

function input(over: Partial<GitOpsInput> & { version?: string } = {}): GitOpsInput {
  return {
    releaseId: 'release/hello-api/all/abc1234',
    service: 'hello-api',
    version: 'v1.1.0',
    commit: 'abc1234def',
    environment: 'production',
    gitops: { repo: config.url, branch: 'main', valuesFile: 'hello-api/values.yaml', imageTagPath: 'image.tag', timeout: '1m' },
    image: null,
    ...over,
  };
}

async function remoteFile(repo: TestRepo, branch: string, path: string): Promise<string> {
  return execFileSync('git', ['--git-dir', repo.bare, 'show', `${branch}:${path}`], { encoding: 'utf8' });
}

before(async () => {
  config = await createRepo(null);
  await config.commit('hello-api values', { 'hello-api/values.yaml': VALUES, 'other/values.yaml': 'image:\n  tag: a\n' });
});

describe('GitOps deployer (real git remotes)', () => {
  test('the tag bump lands with everything else byte for byte; the commit names the release and skips CI; a retry adds nothing', async () => {
    const result = await run<GitOpsCommit>(gitopsUpdate, input());
    assert.match(result.commit ?? '', /^[0-9a-f]{40}$/);
    assert.equal(result.previousTag, 'v1.0.0');
    const after = await remoteFile(config, 'main', 'hello-api/values.yaml');
    assert.equal(after, VALUES.replace('tag: "v1.0.0"', 'tag: "v1.1.0"'));
    const message = execFileSync('git', ['--git-dir', config.bare, 'log', '-1', '--format=%B', 'main'], { encoding: 'utf8' });
    assert.match(message, /^deploy\(hello-api\): v1.1.0 to production \[skip ci\]/);
    assert.match(message, /Shipyard-Release: release\/hello-api\/all\/abc1234#production/);
    const again = await run<GitOpsCommit>(gitopsUpdate, input());
    assert.equal(again.commit, result.commit, 'the retry finds its own commit');
    assert.equal(execFileSync('git', ['--git-dir', config.bare, 'rev-list', '--count', 'main'], { encoding: 'utf8' }).trim(), '2');
  });

  test('the revert restores the file byte for byte, once', async () => {
    const before = await remoteFile(config, 'main', 'hello-api/values.yaml');
    const i = input({ releaseId: 'release/hello-api/all/def5678', version: 'v1.2.0' });
    await run(gitopsUpdate, i);
    assert.notEqual(await remoteFile(config, 'main', 'hello-api/values.yaml'), before);
    assert.equal((await run<UndoResult>(gitopsRevert, i)).result, 'undone');
    assert.equal(await remoteFile(config, 'main', 'hello-api/values.yaml'), before);
    const count = execFileSync('git', ['--git-dir', config.bare, 'rev-list', '--count', 'main'], { encoding: 'utf8' });
    const again = await run<UndoResult>(gitopsRevert, i);
    assert.equal(again.result, 'unchanged');
    assert.match(again.detail, /already reverted/);
    assert.equal(execFileSync('git', ['--git-dir', config.bare, 'rev-list', '--count', 'main'], { encoding: 'utf8' }), count, 'a second revert does nothing');
    const log = execFileSync('git', ['--git-dir', config.bare, 'log', '-1', '--format=%B', 'main'], { encoding: 'utf8' });
    assert.match(log, /\[skip ci\]/);
    assert.match(log, /Shipyard-Revert: release\/hello-api\/all\/def5678#production/);
  });

  test('concurrent releases to one branch: the rejected push is retried on top; both land', async () => {
    const a = input({ releaseId: 'release/hello-api/all/aaa1111', version: 'v2.0.0' });
    const b = input({ releaseId: 'release/other/all/bbb2222', service: 'other', version: 'v9', gitops: { ...input().gitops, valuesFile: 'other/values.yaml' } });
    await Promise.all([run(gitopsUpdate, a), run(gitopsUpdate, b), run(gitopsUpdate, { ...a, releaseId: 'release/hello-api/all/ccc3333', version: 'v2.0.1' })]);
    assert.match(await remoteFile(config, 'main', 'other/values.yaml'), /tag: v9/);
    const hello = await remoteFile(config, 'main', 'hello-api/values.yaml');
    assert.match(hello, /tag: "v2\.0\.[01]"/);
    const trailers = execFileSync('git', ['--git-dir', config.bare, 'log', '--format=%B', 'main'], { encoding: 'utf8' });
    for (const id of ['aaa1111', 'bbb2222', 'ccc3333']) assert.match(trailers, new RegExp(`Shipyard-Release: .*${id}#production`));
  });

  test('promotion dev -> test -> prod merges one environment branch into the next', async () => {
    const envs = await createRepo(null, 'dev');
    await envs.commit('values', { 'app/values.yaml': 'image:\n  tag: v1\n' });
    const git = simpleGit(envs.work);
    for (const b of ['test', 'prod']) await git.push('origin', `dev:${b}`);
    const base = { ...input(), gitops: { repo: envs.url, branch: 'dev', valuesFile: 'app/values.yaml', imageTagPath: 'image.tag', timeout: '1m' } };
    await run(gitopsUpdate, { ...base, version: 'v2', environment: 'dev' });
    const toTest = await run<GitOpsCommit>(gitopsUpdate, { ...base, version: 'v2', environment: 'test', gitops: { ...base.gitops, branch: 'test', promoteFrom: 'dev' } });
    assert.ok(toTest.commit);
    assert.equal(await remoteFile(envs, 'test', 'app/values.yaml'), 'image:\n  tag: v2\n');
    assert.equal(await remoteFile(envs, 'prod', 'app/values.yaml'), 'image:\n  tag: v1\n', 'prod untouched until promoted');
    await run(gitopsUpdate, { ...base, version: 'v2', environment: 'prod', gitops: { ...base.gitops, branch: 'prod', promoteFrom: 'test' } });
    assert.equal(await remoteFile(envs, 'prod', 'app/values.yaml'), 'image:\n  tag: v2\n');
    const parents = execFileSync('git', ['--git-dir', envs.bare, 'log', '-1', '--format=%P', 'prod'], { encoding: 'utf8' }).trim().split(' ');
    assert.equal(parents.length, 2, 'a merge commit');
    // Undo of a promotion reverts the merge.
    const undo = await run<UndoResult>(gitopsRevert, { ...base, version: 'v2', environment: 'prod', gitops: { ...base.gitops, branch: 'prod', promoteFrom: 'test' } });
    assert.equal(undo.result, 'undone');
    assert.equal(await remoteFile(envs, 'prod', 'app/values.yaml'), 'image:\n  tag: v1\n');
  });

  test('bad input: missing values file, a path through a scalar, unreachable repo, missing branch', async () => {
    const fresh = () => ({ releaseId: `release/hello-api/all/${Math.random().toString(16).slice(2, 12)}` });
    await assert.rejects(run(gitopsUpdate, input({ ...fresh(), gitops: { ...input().gitops, valuesFile: 'nope/values.yaml' } })), (e: { type?: string }) => e.type === 'ValuesFileNotFound');
    await assert.rejects(run(gitopsUpdate, input({ ...fresh(), gitops: { ...input().gitops, imageTagPath: 'replicaCount.tag' } })), (e: { type?: string; message: string }) => e.type === 'InvalidValuesPath');
    await assert.rejects(run(gitopsUpdate, input({ gitops: { ...input().gitops, repo: 'file:///nonexistent/config.git' } })), (e: { type?: string; nonRetryable?: boolean }) => e.type === 'SourceUnavailable' && e.nonRetryable === true);
    await assert.rejects(run(gitopsUpdate, input({ gitops: { ...input().gitops, branch: 'release-9' } })), (e: { type?: string; message: string }) => e.type === 'BranchNotFound' && /no branch release-9/.test(e.message));
  });

  test('setYamlScalar keeps quotes and comments and adds missing keys', () => {
    assert.deepEqual(setYamlScalar("a:\n  b: 'x' # c\n", ['a', 'b'], 'y'), { text: "a:\n  b: 'y' # c\n", previous: 'x' });
    assert.deepEqual(setYamlScalar('a:\n  b: 1\n', ['a', 'b'], '2'), { text: 'a:\n  b: "2"\n', previous: '1' });
    assert.equal(setYamlScalar('# top\na: {}\n', ['a', 'tag'], 'v1').text, '# top\na: { tag: v1 }\n');
  });
});

describe('rollout health (real API server; kwok makes pods Ready)', () => {
  const ref = { releaseId: 'r', service: 's', version: 'v', commit: 'c' };
  async function deployment(ns: string, name: string, nodeSelector?: Record<string, string>, progressDeadlineSeconds = 600) {
    await kube().apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name },
        spec: {
          replicas: 2,
          progressDeadlineSeconds,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: { nodeSelector, containers: [{ name: 'app', image: 'registry.local/app:v1' }] } },
        },
      },
    });
  }

  test('a ready rollout passes with its replica counts', async () => {
    const ns = await namespace('health');
    await deployment(ns, 'web');
    const report = await run<HealthReport>(checkHealth, { ...ref, namespace: ns, deployment: 'web', timeout: '60s' });
    assert.deepEqual(report, { deployment: 'web', namespace: ns, readyReplicas: 2, replicas: 2 });
  });

  test('a Deployment stuck past its progress deadline fails with the condition message and the pod events', async () => {
    const ns = await namespace('stuck');
    await deployment(ns, 'web', { pool: 'gpu-none' }, 3);
    await assert.rejects(run(checkHealth, { ...ref, namespace: ns, deployment: 'web', timeout: '90s' }), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
      assert.equal(err.type, 'RolloutFailed');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /progress deadline exceeded: ReplicaSet "web-[a-z0-9]+" has timed out progressing/);
      assert.match(err.message, /pod web-[a-z0-9-]+ Pending \(PodScheduled: Unschedulable/);
      return true;
    });
  });

  test('with Argo CD (simulated): waits for Synced at the release commit and Healthy; Degraded fails', async () => {
    // kubectl, not the typed client: its model drops x-kubernetes-preserve-unknown-fields written in YAML spelling.
    const crd = fileURLToPath(new URL('../../../test/fixtures/argocd-application-crd.yaml', import.meta.url));
    execFileSync('kubectl', ['apply', '--server-side', '-f', crd], { encoding: 'utf8' });
    execFileSync('kubectl', ['wait', '--for=condition=Established', 'crd/applications.argoproj.io', '--timeout=30s'], { encoding: 'utf8' });
    const ns = await namespace('argo');
    await deployment(ns, 'web');
    const custom = kube().custom;
    const app = (name: string) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: ns }, spec: { project: 'default', source: { repoURL: 'x', path: 'y' }, destination: { namespace: ns, server: 'https://kubernetes.default.svc' } } });
    const { setHeaderOptions, PatchStrategy } = await import('@kubernetes/client-node');
    const setStatus = (name: string, status: object) =>
      custom.patchNamespacedCustomObjectStatus({ group: 'argoproj.io', version: 'v1alpha1', namespace: ns, plural: 'applications', name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await custom.createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: ns, plural: 'applications', body: app('hello') });
    await setStatus('hello', { sync: { status: 'Synced', revision: 'oldrev' }, health: { status: 'Healthy' } });
    const revision = 'a'.repeat(40);
    const waiting = run<HealthReport>(checkHealth, { ...ref, namespace: ns, deployment: 'web', timeout: '30s', argocd: { application: 'hello', namespace: ns, revision } });
    await new Promise((r) => setTimeout(r, 1500));
    await setStatus('hello', { sync: { status: 'OutOfSync', revision }, health: { status: 'Progressing' } });
    await new Promise((r) => setTimeout(r, 1500));
    await setStatus('hello', { sync: { status: 'Synced', revision }, health: { status: 'Healthy' } });
    assert.equal((await waiting).readyReplicas, 2);

    await custom.createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: ns, plural: 'applications', body: app('broken') });
    await setStatus('broken', { sync: { status: 'Synced', revision }, health: { status: 'Degraded', message: 'Deployment web exceeded its progress deadline' } });
    await assert.rejects(run(checkHealth, { ...ref, namespace: ns, deployment: 'web', timeout: '30s', argocd: { application: 'broken', namespace: ns, revision } }), /Argo CD application broken is Degraded .*progress deadline/);
  });
});
