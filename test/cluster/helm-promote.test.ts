// Promotion through helm on the real API server with the real helm: `helm upgrade --reuse-values` with
// the image at the given value paths makes one new revision (helm history and the live Deployment
// agree), the same image again makes none, the rollback to the pre-promotion revision restores the old
// image, and a release that does not exist is refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { helmDeploy, helmPromote, helmRollback } from '../../activities/deploy/helm.js';
import type { HelmPromoteInput, HelmRevision, UndoResult } from '../../activities/types.js';
import { deploymentImage, helmHistory, helmSpec, helmValues, namespace } from '../helpers/cluster.js';

const ref = { releaseId: 'release/hello/production/def5678', attempt: 'run-1', service: 'hello-api', version: 'v2', commit: 'def5678', environment: 'production' };
const image = (tag: string, d: string) => ({ repository: 'registry.local/prod/hello-api', tag, digest: `sha256:${d.repeat(64)}`, platforms: ['linux/amd64'] });
const run = <T>(fn: (i: any) => Promise<T>, input: unknown) => new MockActivityEnvironment().run(fn, input) as Promise<T>;

describe('helm promotion (real helm, real API server via kwok)', () => {
  test('promote: a new revision with the image at the paths, a repeat makes none, the rollback restores the old image', async () => {
    const ns = await namespace('promote');
    // The stable release, deployed earlier with its own values (kept by --reuse-values).
    const helm = helmSpec('hello', ns, { values: { replicaCount: 3, track: 'stable' } });
    await run(helmDeploy, { ...ref, version: 'v1', helm, image: image('v1', 'a') });
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/prod/hello-api:v1');

    const input: HelmPromoteInput = { ...ref, helm: { ...helm, values: {} }, imageValues: { repository: 'image.repository', tag: 'image.tag', digest: 'image.digest' }, image: image('v2', 'b') };
    const promoted = await run<HelmRevision>(helmPromote, input);
    assert.deepEqual(promoted, { release: 'hello', namespace: ns, revision: 2 });
    const h = helmHistory('hello', ns);
    assert.deepEqual(h.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'deployed']]);
    assert.equal(h[1].description, `shipyard ${ref.releaseId} promote`);
    const values = helmValues('hello', ns, 2);
    assert.deepEqual(values.image, { repository: 'registry.local/prod/hello-api', tag: 'v2', digest: `sha256:${'b'.repeat(64)}` });
    assert.equal(values.replicaCount, 3, '--reuse-values keeps the values of the deployed revision');
    assert.equal(values.track, 'stable');
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/prod/hello-api:v2', 'the live Deployment runs what helm history says');

    assert.deepEqual(await run(helmPromote, input), promoted, 'the same image again: no new revision');
    assert.equal(helmHistory('hello', ns).length, 2);

    const undo = await run<UndoResult>(helmRollback, { ...ref, helm: input.helm, toRevision: 1 });
    assert.equal(undo.result, 'undone');
    assert.equal(undo.detail, `helm release ${ns}/hello rolled back to revision 1: revision 3 deployed`);
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/prod/hello-api:v1');
    assert.deepEqual(helmValues('hello', ns).image, { repository: 'registry.local/prod/hello-api', tag: 'v1' });
  });

  test('promoting a release that does not exist is refused, and installs nothing', async () => {
    const ns = await namespace('promote-none');
    const input: HelmPromoteInput = { ...ref, helm: helmSpec('hello', ns), imageValues: { repository: 'image.repository', tag: 'image.tag' }, image: image('v2', 'b') };
    await assert.rejects(run(helmPromote, input), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
      assert.equal(err.type, 'HelmReleaseNotFound');
      assert.equal(err.nonRetryable, true);
      assert.equal(err.message, `helm release ${ns}/hello not found: promotion upgrades an existing release, it does not install one`);
      return true;
    });
    assert.deepEqual(helmHistory('hello', ns), []);
  });
});
