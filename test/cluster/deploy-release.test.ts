// Whole releases into the local cluster with every adapter real except traffic and metrics (not part
// of these specs): the example service built with Go, pushed to a real registry, deployed to staging
// with helm and to production through the GitOps config repo. A failed release leaves the cluster and
// the config repo exactly as they were. And the deploy worker SIGKILLed while helm waits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createBuildActivities } from '../../activities/build/index.js';
import { createDeployActivities, createIntegrationActivities } from '../../activities/index.js';
import { kube } from '../../activities/kube.js';
import { parseSpec } from '../../spec/load.js';
import { CHART, deploymentImage, helmHistory, namespace } from '../helpers/cluster.js';
import { createRepo, type TestRepo } from '../helpers/git.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { connectClient, eventually, temporalAddress, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
let registry: Registry;
let source: TestRepo;
let config: TestRepo;
let commit: string;
const dir = mkdtempSync(join(tmpdir(), 'deploy-'));
const buildSettings = { workDir: join(dir, 'work'), artifactDir: join(dir, 'artifacts'), insecureRegistries: [] };

before(async () => {
  ctx = await connectClient();
  registry = await startRegistry();
  source = await createRepo();
  commit = await source.commit('example service');
  config = await createRepo(null);
  await config.commit('config', { 'hello-api/values.yaml': '# production values, edited by hand and by Shipyard\nimage:\n  repository: registry.local/prod/hello-api\n  tag: "v0.9.0"  # current\nreplicaCount: 2\n' });
});
after(async () => {
  await registry.stop();
  await ctx.close();
});

const configFile = () => execFileSync('git', ['--git-dir', config.bare, 'show', 'main:hello-api/values.yaml'], { encoding: 'utf8' });

async function productionDeployment(ns: string, nodeSelector?: Record<string, string>) {
  // What Argo CD (not running here) would keep deployed from the config repo.
  await kube().apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'hello-api' },
      spec: {
        replicas: 2,
        progressDeadlineSeconds: 3,
        selector: { matchLabels: { app: 'hello-api' } },
        template: { metadata: { labels: { app: 'hello-api' } }, spec: { nodeSelector, containers: [{ name: 'app', image: 'registry.local/prod/hello-api:v0.9.0' }] } },
      },
    },
  });
}

/**
 * What Argo CD (not running here) would do: apply the config repo's image tag to the production
 * Deployment whenever it changes. Health waits for the release's image, so without it a GitOps
 * release truthfully never becomes healthy.
 */
function applyConfigWhileRunning(ns: string): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      const tag = /tag: "?([^"\s]+)"?/.exec(configFile())?.[1];
      const image = `registry.local/prod/hello-api:${tag}`;
      const d = await kube().apps.readNamespacedDeployment({ name: 'hello-api', namespace: ns }).catch(() => undefined);
      if (tag && d && d.spec?.template.spec?.containers[0].image !== image) {
        d.spec!.template.spec!.containers[0].image = image;
        await kube().apps.replaceNamespacedDeployment({ name: 'hello-api', namespace: ns, body: d }).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

function releaseSpec(service: string, staging: string, production: string) {
  return parseSpec(
    stringify({
      service,
      source: { repo: source.url, goPackage: './cmd/hello' },
      build: { targets: ['linux/amd64'], test: false, versionVariable: 'main.version' },
      image: { repository: `${registry.host}/demo/${service}`, platforms: ['linux/amd64'] },
      environments: [
        { name: 'staging', deploy: { helm: { chart: CHART, release: 'hello-api', namespace: staging, timeout: '60s' } }, health: { timeout: '60s' } },
        {
          name: 'production',
          deploy: { gitops: { repo: config.url, branch: 'main', valuesFile: 'hello-api/values.yaml', imageTagPath: 'image.tag' } },
          health: { namespace: production, deployment: 'hello-api', timeout: '20s' },
        },
      ],
      rollback: { scope: 'release' },
    }),
  );
}

function realActivities() {
  return { build: createBuildActivities(buildSettings), deploy: { ...createDeployActivities(buildSettings), ...createIntegrationActivities() } };
}

describe('releases into the local cluster (real build, registry, helm, git, API server)', () => {
  test('helm to staging and GitOps to production succeed; a failed release then leaves cluster and config exactly as they were', async () => {
    const staging = await namespace('staging');
    const production = await namespace('prod');
    await productionDeployment(production);
    const stopApplying = applyConfigWhileRunning(production);
    after(stopApplying);
    const service = uniqueName('hello');
    const spec = releaseSpec(service, staging, production);
    const queues = uniqueQueues();
    await withWorkers(queues, realActivities(), async () => {
      const ok = await startRelease(ctx.shipyard, queues, spec, { commit, version: 'v1.0.0' });
      const first = await ctx.shipyard.wait(ok.releaseId, undefined, 500);
      assert.equal(first.outcome, 'succeeded', first.message);
      assert.deepEqual(helmHistory('hello-api', staging).map((h) => [h.revision, h.status]), [[1, 'deployed']]);
      assert.equal(await deploymentImage(staging, 'hello-api'), `${registry.host}/demo/${service}:v1.0.0`);
      assert.match(configFile(), /tag: "v1.0.0"  # current/);
      const stagingManifest = execFileSync('helm', ['get', 'manifest', 'hello-api', '-n', staging], { encoding: 'utf8' });
      const configBefore = configFile();

      // Production stops becoming ready: the next release must undo everything it did.
      await kube().apps.patchNamespacedDeployment(
        { name: 'hello-api', namespace: production, body: { spec: { template: { spec: { nodeSelector: { pool: 'nowhere' } } } } } },
        (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
      );
      assert.deepEqual((await kube().apps.readNamespacedDeployment({ name: 'hello-api', namespace: production })).spec?.template.spec?.nodeSelector, { pool: 'nowhere' });
      const next = await source.commit('v1.1.0', { 'CHANGELOG.md': 'v1.1.0\n' });
      const bad = await startRelease(ctx.shipyard, queues, spec, { commit: next, version: 'v1.1.0' });
      assert.equal(bad.started, true);
      const second = await ctx.shipyard.wait(bad.releaseId, undefined, 500);
      assert.equal(second.outcome, 'rolled-back', second.message);
      assert.equal(second.status!.error?.stage, 'health');
      assert.match(second.status!.error!.message, /progress deadline exceeded/);
      assert.deepEqual(second.status!.compensation.map((c) => [c.environment, c.status]), [['staging', 'done'], ['production', 'done']]);
      assert.equal(configFile(), configBefore, 'config repo file restored byte for byte');
      assert.equal(execFileSync('helm', ['get', 'manifest', 'hello-api', '-n', staging], { encoding: 'utf8' }), stagingManifest, 'staging serves exactly what it did');
      assert.equal(await deploymentImage(staging, 'hello-api'), `${registry.host}/demo/${service}:v1.0.0`);
      const h = helmHistory('hello-api', staging);
      assert.deepEqual(h.map((r) => r.status), ['superseded', 'superseded', 'deployed']);
      assert.match(h[2].description, /Rollback to 1/);
    });
  });

  test('the deploy worker SIGKILLed while helm waits: the release completes with one revision', async () => {
    const staging = await namespace('crash');
    const nodes = await kube().core.listNode();
    const node = nodes.items[0].metadata!.name!;
    const pool = `late-${Math.random().toString(16).slice(2, 8)}`;
    const service = uniqueName('crash');
    const spec = parseSpec(
      stringify({
        service,
        source: { repo: source.url },
        environments: [{ name: 'staging', deploy: { helm: { chart: CHART, release: 'hello-api', namespace: staging, timeout: '2m', values: { nodeSelector: { pool } } } }, health: { timeout: '60s' } }],
      }),
    );
    const queues = uniqueQueues('crash');
    let worker = startDeployWorker(queues);
    await withWorkers(queues, { build: createBuildActivities(buildSettings) }, async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { commit, version: 'v3.0.0' });
      // helm is now waiting for pods that cannot be scheduled yet.
      await eventually(async () => helmHistory('hello-api', staging)[0]?.status === 'pending-install', 60_000, 'helm to be waiting');
      await stop(worker, 'SIGKILL');
      // The capacity arrives; the orphaned helm finishes its wait on its own.
      await labelNode(node, pool);
      worker = startDeployWorker(queues);
      try {
        const final = await ctx.shipyard.wait(releaseId, undefined, 500);
        assert.equal(final.outcome, 'succeeded', final.message);
        assert.deepEqual(helmHistory('hello-api', staging).map((h) => [h.revision, h.status]), [[1, 'deployed']], 'no duplicate revision');
        assert.equal(final.status!.deployments[0].detail.revision, 1);
      } finally {
        await stop(worker, 'SIGTERM');
        await labelNode(node, null);
      }
    }, ['orchestrator', 'build']);
  });
});

function startDeployWorker(queues: ReturnType<typeof uniqueQueues>): ChildProcess {
  return spawn(process.execPath, [fileURLToPath(new URL('../../workers/deploy.js', import.meta.url))], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      SHIPYARD_DEPLOY_QUEUE: queues.deploy,
      SHIPYARD_METRICS_ADDRESS: 'off',
      SHIPYARD_LOG_LEVEL: 'WARN',
      SHIPYARD_WORK_DIR: buildSettings.workDir,
    },
    stdio: 'ignore',
  });
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

async function labelNode(node: string, pool: string | null) {
  const { setHeaderOptions } = await import('@kubernetes/client-node');
  await kube().core.patchNode({ name: node, body: { metadata: { labels: { pool } } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
}
