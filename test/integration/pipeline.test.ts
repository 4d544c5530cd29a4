// Pipelines as code: `shipyard release start --repo URL --commit SHA` reads .shipyard/release.yaml at
// that commit on the build worker (real git, real `helm package`), validates it there and starts the
// release with the spec and the repository's chart recorded in history. A bad spec fails at once
// with file:line:col issues and no release. Releases are served by workers whose deploy activities
// are MOCKED (no cluster in this tier); reading the spec is the real activity.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { EXIT } from '../../client/exit-codes.js';
import { ShipyardClient } from '../../client/index.js';
import { temporalSettings } from '../../config/temporal.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { runCli } from '../helpers/cli.js';
import { createRepo, type TestRepo } from '../helpers/git.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { historyOf, scheduledActivities, startInput } from '../helpers/release.js';
import { gatewayConfig, genericHeaders, send, startGateway } from '../helpers/gateway.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

const CHART = fileURLToPath(new URL('../../../examples/charts/hello-api', import.meta.url));

let ctx: TemporalTestContext;
let shipyard: ShipyardClient;
let repo: TestRepo;
const queues = uniqueQueues('pipeline');
const env = { SHIPYARD_ORCHESTRATOR_QUEUE: queues.orchestrator, SHIPYARD_BUILD_QUEUE: queues.build, SHIPYARD_DEPLOY_QUEUE: queues.deploy };

before(async () => {
  ctx = await connectClient();
  shipyard = new ShipyardClient(ctx.client, temporalSettings(), queues);
  repo = await createRepo(null);
});
after(async () => {
  await ctx.close();
});

/** A spec as the app repository holds it: paths relative to .shipyard/, the chart in charts/. */
function repoSpec(service: string): Record<string, unknown> {
  const spec = twoEnvSpec({ service, withBuild: false }) as unknown as Record<string, any>;
  spec.source = { repo: '..', goPackage: './cmd/server' };
  spec.environments[0].deploy.helm = {
    chart: '../charts/app',
    release: service,
    namespace: 'staging',
    timeout: '1m',
    valuesFiles: ['../deploy/staging.yaml'],
    values: { replicaCount: 3 },
  };
  return spec;
}

function chartFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of ['Chart.yaml', 'values.yaml', 'templates/deployment.yaml', 'templates/service.yaml', 'templates/_helpers.tpl']) {
    files[`charts/app/${f}`] = readFileSync(join(CHART, f), 'utf8');
  }
  return files;
}

describe('release start --repo', () => {
  test('reads the spec at the commit, packages its chart, merges values files, and starts the release', async () => {
    const service = uniqueName('pac');
    const commit = await repo.commit('service with its spec', {
      ...chartFiles(),
      '.shipyard/release.yaml': stringify(repoSpec(service)),
      'deploy/staging.yaml': 'replicaCount: 1\nresources: { limits: { cpu: 100m } }\n',
    });
    const world = new FakeWorld();
    await withWorkers(queues, { build: world.build(), deploy: world.deploy() }, async () => {
      const out = await runCli(['release', 'start', '--repo', repo.url, '--commit', commit.slice(0, 10), '--env', 'staging', '--json'], env);
      assert.equal(out.code, 0, out.stderr);
      const started = JSON.parse(out.stdout);
      assert.equal(started.releaseId, `release/${service}/staging/${commit}`);
      assert.equal(started.state, 'started');
      assert.equal(started.service, service);
      assert.equal(started.specPath, '.shipyard/release.yaml');
      assert.equal(started.specSha256, createHash('sha256').update(readFileSync(join(repo.work, '.shipyard/release.yaml'))).digest('hex'));

      // What the release got is independent of the build worker's disk.
      const input = await startInput(shipyard, started.releaseId);
      assert.equal(input.commit, commit);
      assert.equal(input.spec.source.repo, repo.url, 'source.repo `..` is the repository itself');
      assert.deepEqual(input.specSource, { repo: repo.url, path: '.shipyard/release.yaml', sha256: started.specSha256, pipelineId: started.pipelineId }, 'the pipeline that read the spec is named, so its start statement can vouch for the release');
      const helm = input.spec.environments[0].deploy.helm!;
      assert.equal(helm.chart, `app-repo:charts/app@${commit.slice(0, 12)}`);
      assert.deepEqual(helm.valuesFiles, []);
      assert.deepEqual(helm.values, { replicaCount: 3, resources: { limits: { cpu: '100m' } } }, 'values file merged under the spec values');
      const archive = input.charts![helm.chart];
      assert.equal(archive.name, 'hello-api');
      const tgz = Buffer.from(archive.data, 'base64');
      assert.equal(createHash('sha256').update(tgz).digest('hex'), archive.sha256);
      const dir = mkdtempSync(join(tmpdir(), 'pac-chart-'));
      writeFileSync(join(dir, 'chart.tgz'), tgz);
      assert.match(execFileSync('tar', ['-tzf', join(dir, 'chart.tgz')], { encoding: 'utf8' }), /^hello-api\/Chart\.yaml$/m);

      // The pipeline workflow recorded the read on the build queue, then the start.
      const pipeline = await historyOf(shipyard, started.pipelineId);
      assert.deepEqual(scheduledActivities(pipeline), ['readRepoSpec', 'startLoadedRelease']);
      // The same start again (full SHA) attaches to that release (running, or already ended: the
      // mocked deploy is quick), never a second one.
      const again = JSON.parse((await runCli(['release', 'start', '--repo', repo.url, '--commit', commit, '--env', 'staging', '--json'], env)).stdout);
      assert.equal(again.releaseId, started.releaseId);
      assert.equal(again.runId, started.runId);
      assert.notEqual(again.state, 'started');
      await ctx.client.workflow.getHandle(started.releaseId).terminate('test done').catch(() => undefined);
    });
  });

  test('a bad spec fails at once with file:line:col issues, and no release starts', async () => {
    const service = uniqueName('badpac');
    const spec = repoSpec(service) as Record<string, any>;
    spec.source.goPackge = './cmd/server';
    delete spec.source.goPackage;
    spec.environments[1].canary.steps[0] = { setWeight: 150 };
    const commit = await repo.commit('bad spec', { ...chartFiles(), '.shipyard/release.yaml': stringify(spec), 'deploy/staging.yaml': 'a: 1\n' });
    const world = new FakeWorld();
    await withWorkers(queues, { build: world.build(), deploy: world.deploy() }, async () => {
      const out = await runCli(['release', 'start', '--repo', repo.url, '--commit', commit], env);
      assert.equal(out.code, EXIT.usage, out.stderr);
      assert.match(out.stderr, /invalid release spec \(3 issues\)/);
      assert.match(out.stderr, /\.shipyard\/release\.yaml:\d+:\d+: source\.goPackge: unknown field; did you mean goPackage\?/);
      assert.match(out.stderr, /\.shipyard\/release\.yaml:\d+:\d+: environments\[1\]\.canary\.steps\[0\]\.setWeight: must be 0\.\.100/);
      const releases = await shipyard.list({ service });
      assert.equal(releases.length, 0, 'no release was started');

      // No spec at that path: says where it looked.
      const missing = await runCli(['release', 'start', '--repo', repo.url, '--commit', commit, '--spec-path', 'ops/shipyard.yaml'], env);
      assert.equal(missing.code, EXIT.usage);
      assert.match(missing.stderr, /no release spec at ops\/shipyard\.yaml in .* at [0-9a-f]{12}/);

      // A chart path that leaves the repository is refused, not read from the worker's disk.
      const escaping = repoSpec(service) as Record<string, any>;
      escaping.environments[0].deploy.helm.chart = '../../../../etc';
      const c2 = await repo.commit('escaping chart', { '.shipyard/release.yaml': stringify(escaping) });
      const out2 = await runCli(['release', 'start', '--repo', repo.url, '--commit', c2], env);
      assert.equal(out2.code, EXIT.usage);
      assert.match(out2.stderr, /environments\[0\]\.deploy\.helm\.chart: '\.\.\/\.\.\/\.\.\/\.\.\/etc' is outside the repository/);
    });
  });

  test('-f and --repo are exclusive; --repo needs a commit hash', async () => {
    const both = await runCli(['release', 'start', '-f', 'x.yaml', '--repo', repo.url, '--commit', 'abcdef1'], env);
    assert.equal(both.code, EXIT.usage);
    assert.match(both.stderr, /exactly one of -f <spec\.yaml> or --repo <url>/);
    const branch = await runCli(['release', 'start', '--repo', repo.url, '--commit', 'main'], env);
    assert.equal(branch.code, EXIT.usage);
    assert.match(branch.stderr, /commit 'main' is not a git commit hash/);
  });

  test('a gateway route with repoUrl reads the spec from the repository the event names (URL from config, not payload)', async () => {
    const service = uniqueName('gwpac');
    const commit = await repo.commit('spec for the gateway', { ...chartFiles(), '.shipyard/release.yaml': stringify(repoSpec(service)), 'deploy/staging.yaml': 'a: 1\n' });
    // The event names acme/<name>; the route maps it to a URL on this machine (repo.bare is <tmp>/remote.git).
    const base = repo.bare.replace(/\/remote\.git$/, '');
    const config = gatewayConfig(twoEnvSpec({ service: 'unused' }), {
      routes: [{ name: 'pac', repo: 'acme/*', event: 'push', branch: 'main', repoUrl: `file://${base}/{repo}.git`, environments: ['staging'] }],
    });
    const world = new FakeWorld();
    const gw = await startGateway(shipyard, config);
    try {
      await withWorkers(queues, { build: world.build(), deploy: world.deploy() }, async () => {
        // A repository path that climbs out of the route's glob is not routed (so never substituted into the URL).
        const body = JSON.stringify({ event: 'push', repo: 'acme/../acme-remote', ref: 'refs/heads/main', commit, sender: 'dana' });
        const ignored = await send(`${gw.url}/webhooks/generic`, body, genericHeaders(body));
        assert.equal(ignored.status, 202, ignored.text);
        assert.equal(ignored.body.status, 'ignored', 'acme/* does not match a path with ..');
        execFileSync('mkdir', ['-p', join(base, 'acme')]);
        execFileSync('ln', ['-s', repo.bare, join(base, 'acme', 'svc.git')]);
        const good = JSON.stringify({ event: 'push', repo: 'acme/svc', ref: 'refs/heads/main', commit, sender: 'dana' });
        const res = await send(`${gw.url}/webhooks/generic`, good, genericHeaders(good));
        assert.equal(res.status, 202, res.text);
        assert.equal(res.body.status, 'reading-spec');
        assert.match(res.body.pipelineId, new RegExp(`^pipeline/svc-[0-9a-f]{8}/staging/${commit}$`));
        const result = await ctx.client.workflow.getHandle(res.body.pipelineId).result();
        assert.equal(result.releaseId, `release/${service}/staging/${commit}`);
        const input = await startInput(shipyard, result.releaseId);
        assert.equal(input.trigger.kind, 'webhook');
        assert.equal(input.trigger.by, 'dana');
        assert.equal(input.specSource?.repo, `file://${base}/acme/svc.git`);
        await eventually(async () => (await shipyard.list({ service })).length === 1, 10_000, 'the release listed');
        await ctx.client.workflow.getHandle(result.releaseId).terminate('test done').catch(() => undefined);
      });
    } finally {
      await gw.close();
    }
  });
});
