// Builds on more than one host: two build workers with separate work and artifact directories on one
// build queue. Worker A builds (real go); the release is paused before its image step and A stops;
// worker B, which never saw A's disk, publishes the image from the OCI artifacts it pulls from the
// registry by digest (real crane, real docker-registry). Then a third worker's build is a registry
// hit, and a tampered, a deleted and a disk-only artifact each fail with a clear error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBuildActivities } from '../../activities/build/index.js';
import { ARTIFACT_TYPE, BINARY_MEDIA_TYPE } from '../../activities/build/oci-artifacts.js';
import type { BuildSettings } from '../../activities/build/settings.js';
import type { BuildArtifact, BuildTargetInput, ImageRef, PublishImageInput } from '../../activities/types.js';
import { parseSpec } from '../../spec/load.js';
import { createWorker } from '../../workers/worker.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { createRepo, type TestRepo } from '../helpers/git.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { historyOf, startRelease, waitForStatus, type HistoryEvent } from '../helpers/release.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { connectClient, eventually, NAMESPACE, temporalAddress, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
let registry: Registry;
let repo: TestRepo;
let commit: string;
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

/** A build host of its own: work and artifact directories nobody else uses; its commands recorded. */
function host(): { settings: BuildSettings; commands: string[][] } {
  const dir = mkdtempSync(join(tmpdir(), 'build-host-'));
  const commands: string[][] = [];
  return { commands, settings: { workDir: join(dir, 'work'), artifactDir: join(dir, 'artifacts'), insecureRegistries: [], onCommand: (cmd, args) => commands.push([cmd, ...args]) } };
}

const crane = (...args: string[]) => execFileSync('crane', args, { encoding: 'utf8' }).trim();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const TARGETS = ['linux/amd64', 'linux/arm64'];

/** Which worker ran each activity: ActivityTaskStarted identities by activity type. */
function runners(events: HistoryEvent[]): Record<string, string[]> {
  const types = new Map<string, string>();
  for (const e of events) if (e.activityTaskScheduledEventAttributes) types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType!.name!);
  const out: Record<string, string[]> = {};
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    if (!started) continue;
    const type = types.get(String(started.scheduledEventId))!;
    (out[type] ??= []).push(started.identity!);
  }
  return out;
}

describe('artifacts shared between build hosts through the registry (real go, crane, docker-registry; deploy mocked)', () => {
  const service = uniqueName('arts');
  let repository = '';
  let artifacts: BuildArtifact[] = [];
  let image: ImageRef;

  test('the image step runs on the worker that did not build and publishes the binaries it pulled by digest', async () => {
    repository = `${registry.host}/team/${service}`;
    const base = twoEnvSpec({ service, withBuild: false, notify: [] });
    const spec = parseSpec(
      stringify({
        ...base,
        source: { repo: repo.url, goPackage: './cmd/hello' },
        build: { targets: TARGETS, test: false },
        image: { repository, platforms: TARGETS },
        environments: [base.environments[0]],
      }),
    );
    const a = host();
    const b = host();
    // Worker A's builds are real; each holds its result until the test has paused the release, so the
    // image step cannot start before A is gone.
    const realA = createBuildActivities(a.settings);
    let built = 0;
    let released = false;
    const buildA = {
      ...realA,
      buildTarget: async (input: BuildTargetInput) => {
        const out = await realA.buildTarget(input);
        built++;
        while (!released) {
          Context.current().heartbeat();
          await new Promise((r) => setTimeout(r, 300));
        }
        return out;
      },
    };

    const queues = uniqueQueues();
    const world = new FakeWorld();
    await withWorkers(queues, { deploy: world.deploy() }, async () => {
      const connection = await NativeConnection.connect({ address: temporalAddress() });
      const running: { worker: Worker; run: Promise<void> }[] = [];
      const start = async (identity: string, build: object) => {
        const worker = await createWorker('build', { connection, namespace: NAMESPACE, taskQueues: queues, activities: { build }, identity });
        const entry = { worker, run: worker.run() };
        running.push(entry);
        return entry;
      };
      const stop = async (entry: { worker: Worker; run: Promise<void> }) => {
        if (entry.worker.getState() === 'RUNNING') entry.worker.shutdown();
        await entry.run;
      };
      try {
        const workerA = await start('host-a', buildA);
        const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { commit, version: 'v2.0.0' });
        await eventually(async () => built === TARGETS.length, 300_000, 'worker A to build both targets');
        await ctx.shipyard.pause(releaseId, 'test', 'move the image step to another host');
        await waitForStatus(ctx.shipyard, releaseId, (s) => Boolean(s.paused), 'paused');
        released = true;
        const atImages = await waitForStatus(ctx.shipyard, releaseId, (s) => (s.build?.artifacts.length ?? 0) === TARGETS.length, 'build recorded', 60_000);
        await stop(workerA);

        artifacts = atImages.build!.artifacts;
        for (const art of artifacts) {
          assert.ok(art.uri.startsWith(`oci://${repository}@sha256:`) && /@sha256:[0-9a-f]{64}$/.test(art.uri), `${art.target}: ${art.uri}`);
          assert.equal(art.cacheHit, false);
        }

        const workerB = await start('host-b', createBuildActivities(b.settings));
        await ctx.shipyard.resume(releaseId, 'test');
        const final = await ctx.shipyard.wait(releaseId, undefined, 500);
        assert.equal(final.outcome, 'succeeded', final.message);
        image = final.status!.image!;
        assert.equal(image.repository, repository);
        await stop(workerB);

        // History: A built every target, B published the image.
        const ran = runners(await historyOf(ctx.shipyard, releaseId));
        assert.deepEqual(ran.buildTarget, ['host-a/build', 'host-a/build']);
        assert.deepEqual(ran.publishImage, ['host-b/build']);
      } finally {
        released = true;
        for (const entry of running) await stop(entry);
        await connection.close();
      }
    }, ['orchestrator', 'deploy']);

    // B never built or checked out anything; it pulled each artifact by digest and checked it.
    assert.deepEqual(b.commands.filter((c) => c[0] === 'go' || c[0] === 'git'), []);
    assert.equal(existsSync(b.settings.workDir), false, "B's work directory was never needed");
    for (const art of artifacts) {
      const digest = art.uri.split('@')[1];
      assert.ok(b.commands.some((c) => c.join(' ') === `crane manifest ${repository}@${digest}`), `B read the manifest of ${art.target} by digest`);
      assert.ok(b.commands.some((c) => c.join(' ') === `crane blob ${repository}@sha256:${art.sha256}`), `B pulled the binary of ${art.target} by digest`);
      const cached = join(b.settings.artifactDir, 'oci', digest.slice(7), 'blob');
      assert.equal(sha256(readFileSync(cached)), art.sha256, `B's cache holds ${art.target}`);

      // In the registry: an OCI artifact of Shipyard's type whose one layer is the binary.
      const manifest = JSON.parse(crane('manifest', `${repository}@${digest}`));
      assert.equal(manifest.artifactType, ARTIFACT_TYPE);
      assert.equal(manifest.config.mediaType, 'application/vnd.oci.empty.v1+json');
      assert.deepEqual(manifest.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest]), [[BINARY_MEDIA_TYPE, `sha256:${art.sha256}`]]);
      assert.equal(manifest.layers[0].annotations['org.opencontainers.image.title'], service);
      assert.equal(manifest.annotations['dev.shipyard.build.target'], art.target);
      assert.equal(manifest.annotations['dev.shipyard.build.commit'], commit);
    }
    // The tags that let another worker find an artifact by its build inputs.
    assert.equal(crane('ls', repository).split('\n').filter((t) => t.startsWith('artifact-')).length, TARGETS.length);

    // The image B published carries exactly those binaries: each platform's layer holds /app/<service>
    // with the artifact's sha256.
    const index = JSON.parse(crane('manifest', `${repository}@${image.digest}`));
    for (const art of artifacts) {
      const [os, arch] = art.target.split('/');
      const entry = index.manifests.find((m: { platform: { os: string; architecture: string } }) => m.platform.os === os && m.platform.architecture === arch);
      const platformManifest = JSON.parse(crane('manifest', `${repository}@${entry.digest}`));
      const layer = platformManifest.layers[platformManifest.layers.length - 1].digest;
      const tar = join(mkdtempSync(join(tmpdir(), 'layer-')), 'layer.tar');
      writeFileSync(tar, execFileSync('crane', ['blob', `${repository}@${layer}`], { maxBuffer: 256 * 1024 * 1024 }));
      const binary = execFileSync('tar', ['-xOf', tar, `app/${service}`], { maxBuffer: 256 * 1024 * 1024 });
      assert.equal(sha256(binary), art.sha256, `the ${art.target} image runs the binary worker A built`);
    }
  });

  test("a third worker's build of the same inputs is a registry hit: no go build, same artifact", async () => {
    const c = host();
    const acts = createBuildActivities(c.settings);
    const env = new MockActivityEnvironment();
    const again = (await env.run(acts.buildTarget as (i: BuildTargetInput) => Promise<BuildArtifact>, {
      releaseId: 'r', service, version: 'v2.0.0', commit, repo: repo.url, goPackage: './cmd/hello', target: 'linux/amd64', ldflags: '-s -w', artifactStore: `oci://${repository}`,
    })) as BuildArtifact;
    assert.equal(again.cacheHit, true);
    assert.equal(again.uri, artifacts[0].uri);
    assert.equal(again.sha256, artifacts[0].sha256);
    assert.deepEqual(c.commands.filter((cmd) => cmd[0] === 'go'), []);
  });

  test('a tampered, a deleted and a disk-only artifact fail the image step with a clear, non-retryable error', async () => {
    const publish = (s: BuildSettings, arts: BuildArtifact[], platforms = arts.map((x) => x.target)) =>
      new MockActivityEnvironment().run(createBuildActivities(s).publishImage as (i: PublishImageInput) => Promise<ImageRef>, {
        releaseId: 'r', service, version: 'v2.0.1', commit, repository, platforms, base: 'scratch', source: repo.url, artifacts: arts,
      });
    type Failure = { type?: string; nonRetryable?: boolean; message: string };
    const [amd64, arm64] = artifacts;

    // The workflow data names another binary than the registry's manifest holds.
    const forged = { ...amd64, sha256: 'f'.repeat(64) };
    await assert.rejects(publish(host().settings, [forged]), (err: Failure) => {
      assert.equal(err.type, 'ArtifactDigestMismatch');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, new RegExp(`holds sha256:${amd64.sha256}, the build recorded sha256:f{64}`));
      return true;
    });

    // The registry serves other bytes under the binary's digest (storage tampered with, same size).
    const blobFile = join(registry.storage, 'data/docker/registry/v2/blobs/sha256', amd64.sha256.slice(0, 2), amd64.sha256, 'data');
    const bytes = readFileSync(blobFile);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(blobFile, bytes);
    await assert.rejects(publish(host().settings, [amd64]), (err: Failure) => {
      assert.equal(err.type, 'ArtifactDigestMismatch');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /build artifact does not match its digest/);
      assert.match(err.message, /checksum/);
      assert.doesNotMatch(err.message, /registry refused/);
      assert.ok(err.message.includes(amd64.sha256), err.message);
      return true;
    });

    // The artifact was deleted from the registry.
    crane('delete', `${repository}@${arm64.uri.split('@')[1]}`);
    await assert.rejects(publish(host().settings, [arm64]), (err: Failure) => {
      assert.equal(err.type, 'ArtifactMissing');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /is gone from the registry .*--retry-failed/);
      return true;
    });

    // A file:// artifact (a store on one worker's disk) read on another host: here its disk is gone.
    const a = host();
    const local = (await new MockActivityEnvironment().run(createBuildActivities(a.settings).buildTarget as (i: BuildTargetInput) => Promise<BuildArtifact>, {
      releaseId: 'r', service, version: 'v2.0.1', commit, repo: repo.url, goPackage: './cmd/hello', target: 'linux/amd64', ldflags: '-s -w',
    })) as BuildArtifact;
    assert.match(local.uri, /^file:\/\//);
    rmSync(a.settings.artifactDir, { recursive: true, force: true });
    await assert.rejects(publish(host().settings, [local]), (err: Failure) => {
      assert.equal(err.type, 'ArtifactMissing');
      assert.match(err.message, /is not on this build worker .*build\.artifactStore: oci:\/\/registry\/repository/);
      return true;
    });
  });
});
