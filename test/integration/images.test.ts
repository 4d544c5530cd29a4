// Images without a Docker daemon: a release builds the example service with the real Go toolchain
// and publishes a multi-platform image with crane into a real registry (Debian's docker-registry on
// 127.0.0.1). Deploy activities are MOCKED. Then re-push and promotion by digest, for real.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBuildActivities } from '../../activities/build/index.js';
import type { BuildSettings } from '../../activities/build/settings.js';
import type { BuildArtifact, BuildTargetInput, ImageRef, PublishImageInput } from '../../activities/types.js';
import { parseSpec } from '../../spec/load.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { createRepo, type TestRepo } from '../helpers/git.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { startRelease } from '../helpers/release.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { connectClient, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
let registry: Registry;
let repo: TestRepo;
let commit: string;
const dir = mkdtempSync(join(tmpdir(), 'img-'));
const settings: BuildSettings = { workDir: join(dir, 'work'), artifactDir: join(dir, 'artifacts'), insecureRegistries: [] };

before(async () => {
  ctx = await connectClient();
  registry = await startRegistry();
  repo = await createRepo();
  commit = await repo.commit('example service');
});
after(async () => {
  await registry.stop();
  await ctx.close();
});

const crane = (...args: string[]) => execFileSync('crane', args, { encoding: 'utf8' }).trim();

describe('images in a real registry (real go, crane, docker-registry; deploy activities mocked)', () => {
  let repository = '';
  let image: { repository: string; tag: string; digest: string; platforms: string[] };

  test('a release publishes a multi-platform index; its manifest by digest matches; labels are set', async () => {
    const service = uniqueName('img');
    repository = `${registry.host}/team/${service}`;
    const base = twoEnvSpec({ service, withBuild: false, notify: [] });
    const spec = parseSpec(
      stringify({
        ...base,
        source: { repo: repo.url, goPackage: './cmd/hello' },
        build: { targets: ['linux/amd64', 'linux/arm64'], test: false },
        image: { repository, platforms: ['linux/amd64', 'linux/arm64'] },
        environments: [base.environments[0]],
      }),
    );
    const world = new FakeWorld();
    const queues = uniqueQueues();
    await withWorkers(queues, { build: createBuildActivities(settings), deploy: world.deploy() }, async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { commit, version: 'v1.4.0' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 500);
      assert.equal(final.outcome, 'succeeded', final.message);
      image = final.status!.image!;
      assert.deepEqual({ ...image, digest: '' }, { repository, tag: 'v1.4.0', digest: '', platforms: ['linux/amd64', 'linux/arm64'] });
      assert.match(image.digest, /^sha256:[0-9a-f]{64}$/);
      // the deploy got the image the build published
      assert.equal((world.calls.find((c) => c.name === 'helmDeploy') ? 'ok' : 'missing'), 'ok');
    });
    const index = JSON.parse(crane('manifest', `${repository}:v1.4.0`));
    assert.deepEqual(index.manifests.map((m: { platform: { os: string; architecture: string } }) => `${m.platform.os}/${m.platform.architecture}`).sort(), ['linux/amd64', 'linux/arm64']);
    // Pull the index by digest straight from the registry API: the bytes hash to the digest.
    const res = await fetch(`http://${registry.host}/v2/team/${repository.split('/').pop()}/manifests/${image.digest}`, {
      headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' },
    });
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(`sha256:${createHash('sha256').update(body).digest('hex')}`, image.digest);
    const amd64 = index.manifests.find((m: { platform: { architecture: string } }) => m.platform.architecture === 'amd64');
    const config = JSON.parse(crane('config', `${repository}@${amd64.digest}`));
    assert.equal(config.config.Labels['org.opencontainers.image.revision'], commit);
    assert.equal(config.config.Labels['org.opencontainers.image.version'], 'v1.4.0');
    assert.deepEqual(config.config.Entrypoint, [`/app/${repository.split('/').pop()}`]);
    assert.equal(config.architecture, 'amd64');
  });

  test('pushing the same binaries again is a no-op: same digest, no new blobs', async () => {
    const acts = createBuildActivities(settings);
    const env = new MockActivityEnvironment();
    const service = repository.split('/').pop()!;
    const artifacts = (await Promise.all(
      ['linux/amd64', 'linux/arm64'].map((target) =>
        env.run(acts.buildTarget as (i: BuildTargetInput) => Promise<BuildArtifact>, { releaseId: 'r', service, version: 'v1.4.0', commit, repo: repo.url, goPackage: './cmd/hello', target, ldflags: '-s -w' }),
      ),
    )) as BuildArtifact[];
    assert.ok(artifacts.every((a) => a.cacheHit), 'the binaries come from the artifact store');
    const blobs = registry.blobCount();
    const again: ImageRef = await env.run(acts.publishImage as (i: PublishImageInput) => Promise<ImageRef>, { releaseId: 'r', service, version: 'v1.4.0', commit, repository, platforms: ['linux/amd64', 'linux/arm64'], base: 'scratch', source: repo.url, artifacts });
    assert.equal(again.digest, image.digest);
    assert.equal(registry.blobCount(), blobs, 'no blob was written');
  });

  test('promotion copies by digest into the environment repository and verifies it', async () => {
    const acts = createBuildActivities(settings);
    const target = `${registry.host}/prod/${repository.split('/').pop()}`;
    const promoted = await new MockActivityEnvironment().run(acts.promoteImage, { releaseId: 'r', service: 's', version: 'v1.4.0', commit, image, repository: target });
    assert.deepEqual(promoted, { ...image, repository: target });
    assert.equal(crane('digest', `${target}:v1.4.0`), image.digest);
  });

  test('a registry that is not there, and a bad repository name: clear failures', async () => {
    const acts = createBuildActivities(settings);
    const env = new MockActivityEnvironment();
    await assert.rejects(env.run(acts.promoteImage, { releaseId: 'r', service: 's', version: 'v1.4.0', commit, image, repository: 'Not A Repo' }), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
      assert.equal(err.type, 'RegistryRefused');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /could not parse reference/);
      return true;
    });
    // A registry that is down: a retryable failure that says so (Temporal retries the activity).
    await assert.rejects(env.run(acts.promoteImage, { releaseId: 'r', service: 's', version: 'v1.4.0', commit, image, repository: '127.0.0.1:1/prod/app' }), (err: { nonRetryable?: boolean; message: string }) => {
      assert.notEqual(err.nonRetryable, true);
      assert.match(err.message, /connection refused/);
      return true;
    });
    await assert.rejects(
      env.run(acts.publishImage, { releaseId: 'r', service: 's', version: 'v1', commit, repository: 'UPPER/case', platforms: ['linux/amd64'], base: 'scratch', source: 'x', artifacts: [] }),
      (err: { type?: string; message: string }) => err.type === 'InvalidSpec' && /is not registry\/path/.test(err.message),
    );
  });
});
