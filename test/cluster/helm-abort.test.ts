// Aborting a release while `helm upgrade --atomic --wait` runs, on the real API server (kwok fake
// nodes) with the real helm: the cancelled activity kills helm, which leaves the release
// pending-upgrade (or pending-install); the interrupted rollback undoes that at once, while a pending
// operation that is not provably this release's killed helm is still waited for (and that wait stops
// when its activity is cancelled). Rollback of a release deleted meanwhile is 'skipped'.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { helmDeploy, helmRollback } from '../../activities/deploy/helm.js';
import type { HelmInput, HelmRevision, HelmRollbackInput, UndoResult } from '../../activities/types.js';
import type { HelmDeploySpec } from '../../spec/schema.js';
import { CHART, deploymentImage, helmHistory, helmSpec, namespace } from '../helpers/cluster.js';

const ref = { releaseId: 'release/hello/all/abc1234', attempt: 'run-1', service: 'hello-api', version: 'v2', commit: 'abc1234', environment: 'staging' };
const image = (tag: string) => ({ repository: 'registry.local/hello-api', tag, digest: `sha256:${'c'.repeat(64)}`, platforms: ['linux/amd64'] });
const run = <T>(fn: (i: any) => Promise<T>, input: unknown) => new MockActivityEnvironment().run(fn, input) as Promise<T>;
// Pods that no kwok node can take: the rollout never becomes ready and helm stays in --wait.
const NEVER_READY = { nodeSelector: { pool: 'does-not-exist' } };
const TIMEOUT = '60s'; // the settle path would wait this + 30 s

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const last = (release: string, ns: string) => helmHistory(release, ns).at(-1);
const deployedManifest = (release: string, ns: string, revision?: number) =>
  execFileSync('helm', ['get', 'manifest', release, '-n', ns, ...(revision ? ['--revision', String(revision)] : [])], { encoding: 'utf8' });

/** Starts helmDeploy in its own activity environment and cancels it once helm sits in --wait with a pending revision. */
async function abortMidWait(input: HelmInput, pending: string): Promise<{ cancelMs: number; error: Error }> {
  const env = new MockActivityEnvironment();
  const done = env.run(helmDeploy, input).then(() => assert.fail('the upgrade cannot become ready: it must not succeed'), (err: Error) => err);
  await until(() => last(input.helm.release, input.helm.namespace)?.status === pending, 30_000, `revision ${pending}`);
  await new Promise((r) => setTimeout(r, 1500)); // helm is now waiting for pods that never get ready
  const started = Date.now();
  env.cancel();
  const error = await done;
  return { cancelMs: Date.now() - started, error };
}

/** Runs helmRollback, checks after `holdMs` that it is still waiting and changed nothing, then cancels it. */
async function assertWaitsThenCancel(input: HelmRollbackInput, holdMs: number): Promise<{ heartbeats: unknown[]; stopMs: number }> {
  const { release, namespace: ns } = input.helm;
  const before = helmHistory(release, ns);
  const env = new MockActivityEnvironment();
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  let finished = false;
  const done = env.run(helmRollback, input).then(
    (r) => ((finished = true), r),
    (err: Error) => ((finished = true), err),
  );
  await new Promise((r) => setTimeout(r, holdMs));
  assert.equal(finished, false, 'it waits for the pending operation instead of acting');
  assert.deepEqual(helmHistory(release, ns), before, 'nothing was rolled back meanwhile');
  const started = Date.now();
  env.cancel();
  const outcome = await done;
  const stopMs = Date.now() - started;
  assert.ok(outcome instanceof Error, 'a cancelled wait ends with an error, not a result');
  assert.match(outcome.message, /cancel/i);
  assert.ok(stopMs < 3000, `the cancelled wait stops promptly (${stopMs} ms)`);
  assert.deepEqual(helmHistory(release, ns), before, 'cancelled: still nothing changed');
  return { heartbeats, stopMs };
}

describe('helm abort mid --wait (real helm, real API server via kwok)', () => {
  test('an interrupted upgrade is rolled back at once to revision 1, not after helm timeout + 30 s', async () => {
    const ns = await namespace('abort');
    const spec: HelmDeploySpec = helmSpec('hello', ns, { timeout: TIMEOUT });
    assert.equal((await run<HelmRevision>(helmDeploy, { ...ref, version: 'v1', helm: spec, image: image('v1') })).revision, 1);
    const m1 = deployedManifest('hello', ns, 1);

    const { cancelMs, error } = await abortMidWait({ ...ref, helm: { ...spec, values: NEVER_READY }, image: image('v2') }, 'pending-upgrade');
    assert.ok(error instanceof CancelledFailure, `a cancellation, so the release knows its helm was stopped (${error.name}: ${error.message})`);
    assert.match(error.message, /helm killed, the activity was cancelled/);
    assert.ok(cancelMs < 5000, `cancelling helm --wait takes ${cancelMs} ms`);
    assert.deepEqual(helmHistory('hello', ns).map((r) => [r.revision, r.status]), [[1, 'deployed'], [2, 'pending-upgrade']], 'the killed helm left revision 2 pending');

    const started = Date.now();
    const result = await run<UndoResult>(helmRollback, { ...ref, helm: spec, toRevision: 1, interrupted: true });
    const seconds = (Date.now() - started) / 1000;
    console.log(`# interrupted rollback: ${seconds.toFixed(1)} s (the settle path waits ${TIMEOUT} + 30 s first); cancel took ${cancelMs} ms`);
    assert.equal(result.result, 'undone');
    assert.match(result.detail, new RegExp(`helm release ${ns}/hello rolled back to revision 1 \\(revision 2 was left pending-upgrade\\): revision 3 deployed`));
    assert.ok(seconds < 20, `returns within seconds (${seconds.toFixed(1)} s), far below the ${TIMEOUT} + 30 s settle wait`);
    const h = helmHistory('hello', ns);
    assert.deepEqual(h.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'pending-upgrade'], [3, 'deployed']]);
    assert.equal(h[2].description, 'Rollback to 1');
    assert.equal(deployedManifest('hello', ns), m1, "the deployed revision has revision 1's manifest");
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v1');

    const again = await run<UndoResult>(helmRollback, { ...ref, helm: spec, toRevision: 1, interrupted: true });
    assert.deepEqual(again, { result: 'unchanged', detail: `helm release ${ns}/hello revision 3 already has revision 1's manifest` });
    assert.equal(helmHistory('hello', ns).length, 3, 'a repeated undo makes no revision');
  });

  test('an interrupted first install is uninstalled at once', async () => {
    const ns = await namespace('abortinst');
    const spec = helmSpec('hello', ns, { timeout: TIMEOUT, values: NEVER_READY });
    await abortMidWait({ ...ref, helm: spec, image: image('v1') }, 'pending-install');
    assert.deepEqual(helmHistory('hello', ns).map((r) => r.status), ['pending-install']);
    const started = Date.now();
    const result = await run<UndoResult>(helmRollback, { ...ref, helm: spec, toRevision: null, interrupted: true });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.result, 'undone');
    assert.equal(result.detail, `helm release ${ns}/hello uninstalled, was at revision 1 pending-install (revision 1 was left pending-install)`);
    assert.ok(seconds < 20, `returns within seconds (${seconds.toFixed(1)} s)`);
    assert.deepEqual(helmHistory('hello', ns), []);
    await assert.rejects(deploymentImage(ns, 'hello'), /not found|404/i);
    assert.deepEqual(await run(helmRollback, { ...ref, helm: spec, toRevision: null, interrupted: true }), { result: 'unchanged', detail: `helm release ${ns}/hello is not installed` });
  });

  test("a pending revision that is not provably this release's killed helm is waited for, and the wait stops when cancelled", async () => {
    const ns = await namespace('abortwait');
    const spec = helmSpec('hello', ns, { timeout: TIMEOUT });
    await run(helmDeploy, { ...ref, version: 'v1', helm: spec, image: image('v1') });
    await abortMidWait({ ...ref, helm: { ...spec, values: NEVER_READY }, image: image('v2') }, 'pending-upgrade');

    // Without `interrupted`: today's contract, the pending operation might be an orphaned helm still running.
    const { heartbeats } = await assertWaitsThenCancel({ ...ref, helm: spec, toRevision: 1 }, 4000);
    assert.ok(heartbeats.some((d) => /revision 2 is pending-upgrade/.test(JSON.stringify(d))), `heartbeats say what it waits for: ${JSON.stringify(heartbeats.slice(-1))}`);
    // Another release (or another attempt of this one) did not kill this helm: not its to undo at once.
    await assertWaitsThenCancel({ ...ref, attempt: 'run-2', helm: spec, toRevision: 1, interrupted: true }, 3000);

    // The release that killed it still can.
    const result = await run<UndoResult>(helmRollback, { ...ref, helm: spec, toRevision: 1, interrupted: true });
    assert.equal(result.result, 'undone');
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v1');
  });

  test('interrupted, but a helm someone else runs is pending: it is waited for, not fought', async () => {
    const ns = await namespace('abortother');
    const spec = helmSpec('hello', ns, { timeout: TIMEOUT });
    await run(helmDeploy, { ...ref, version: 'v1', helm: spec, image: image('v1') });
    // A person's `helm upgrade --wait`, still running.
    const other = spawn('helm', ['upgrade', 'hello', CHART, '-n', ns, '--reuse-values', '--set', 'nodeSelector.pool=none', '--wait', '--timeout', '120s'], { detached: true, stdio: 'ignore' });
    try {
      await until(() => last('hello', ns)?.status === 'pending-upgrade', 30_000, "the other helm's pending upgrade");
      await assertWaitsThenCancel({ ...ref, helm: spec, toRevision: 1, interrupted: true }, 4000);
      assert.equal(other.exitCode, null, 'the other helm is still running');
    } finally {
      process.kill(-other.pid!, 'SIGKILL');
    }
  });

  test('a release deleted meanwhile: the rollback is skipped and says which release', async () => {
    const ns = await namespace('gone');
    const spec = helmSpec('hello', ns, { timeout: TIMEOUT });
    await run(helmDeploy, { ...ref, version: 'v1', helm: spec, image: image('v1') });
    await run(helmDeploy, { ...ref, helm: spec, image: image('v2') });
    execFileSync('helm', ['uninstall', 'hello', '-n', ns, '--wait'], { stdio: 'ignore' });
    assert.deepEqual(await run(helmRollback, { ...ref, helm: spec, toRevision: 1 }), { result: 'skipped', detail: `helm release ${ns}/hello not found` });
    assert.deepEqual(await run(helmRollback, { ...ref, helm: spec, toRevision: 1, interrupted: true }), { result: 'skipped', detail: `helm release ${ns}/hello not found` });
    assert.deepEqual(helmHistory('hello', ns), [], 'nothing was installed by the undo');
  });
});
