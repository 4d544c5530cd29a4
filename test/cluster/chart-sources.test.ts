// Where a chart comes from, with the real helm against the real API server: handed by content (a
// ChartArchive packaged from a directory that is gone by deploy time), an OCI registry (a real
// registry, helm push --plain-http), and a chart repository (a static HTTP server with index.yaml).
// Each installs, re-runs without a new revision, and fails clearly on bad input. Also packageChart's
// limit (ChartTooLarge) and its dependency build.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { helmDeploy, helmPromote } from '../../activities/deploy/helm.js';
import { packageChart, MAX_CHART_ARCHIVE_BYTES } from '../../activities/build/chart-package.js';
import { readChartMeta } from '../../activities/chart-dir.js';
import type { ChartArchive, HelmInput, HelmRevision } from '../../activities/types.js';
import { CHART, deploymentImage, helmHistory, helmSpec, namespace } from '../helpers/cluster.js';
import { startRegistry, type Registry } from '../helpers/registry.js';

const ref = { releaseId: 'release/hello/all/abc1234', service: 'hello-api', version: 'v1', commit: 'abc1234', environment: 'staging' };
const image = (tag: string) => ({ repository: 'registry.local/hello-api', tag, digest: `sha256:${'c'.repeat(64)}`, platforms: ['linux/amd64'] });
const run = <T>(fn: (i: any) => Promise<T>, input: unknown) => new MockActivityEnvironment().run(fn, input) as Promise<T>;
const { name: CHART_NAME, version: CHART_VERSION } = readChartMeta(CHART);

/** helm history's rows with the chart column. */
const history = (release: string, ns: string) => helmHistory(release, ns) as unknown as { revision: number; status: string; chart: string }[];

const failure = (type: string, message: RegExp) => (err: { type?: string; nonRetryable?: boolean; message: string }) => {
  assert.equal(err.type, type, err.message);
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, message);
  return true;
};

/** The example chart packaged by helm into a fresh temp dir; returns the .tgz path. */
function helmPackage(dest = mkdtempSync(join(tmpdir(), 'pkg-'))): string {
  execFileSync('helm', ['package', CHART, '--destination', dest], { stdio: 'pipe' });
  return join(dest, `${CHART_NAME}-${CHART_VERSION}.tgz`);
}

describe('chart sources (real helm, real API server via kwok)', () => {
  test('by content: packaged, its directory deleted, deployed from the archive; idempotent; a bad sha256 is ChartCorrupt', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'app-repo-')), 'hello-api');
    cpSync(CHART, dir, { recursive: true });
    const archive = await packageChart(dir);
    assert.deepEqual([archive.name, archive.version], [CHART_NAME, CHART_VERSION]);
    assert.match(archive.sha256, /^[0-9a-f]{64}$/);
    rmSync(dir, { recursive: true, force: true }); // the deploy worker has no copy of the chart
    assert.equal(existsSync(dir), false);

    const ns = await namespace('bycontent');
    const input: HelmInput = { ...ref, helm: helmSpec('hello', ns, { chart: dir }), image: image('v1'), chartArchive: archive };
    const first = await run<HelmRevision>(helmDeploy, input);
    assert.deepEqual(first, { release: 'hello', namespace: ns, revision: 1 });
    assert.deepEqual(history('hello', ns).map((h) => [h.revision, h.status, h.chart]), [[1, 'deployed', `${CHART_NAME}-${CHART_VERSION}`]]);
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v1');

    const again = await run<HelmRevision>(helmDeploy, input);
    assert.equal(again.revision, 1, 'same archive, same values: no new revision');
    assert.equal(history('hello', ns).length, 1);

    const corrupt: ChartArchive = { ...archive, sha256: archive.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    await assert.rejects(run(helmDeploy, { ...input, image: image('v2'), chartArchive: corrupt }), failure('ChartCorrupt', /sha256 .* the archive says/));
    assert.equal(history('hello', ns).length, 1, 'a corrupt archive deploys nothing');

    // Promotion from the archive too: the new image, a new revision, the same chart.
    const promoted = await run<HelmRevision>(helmPromote, { ...ref, helm: input.helm, imageValues: input.helm.imageValues, image: image('v3'), chartArchive: archive });
    assert.equal(promoted.revision, 2);
    assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v3');
    assert.deepEqual(history('hello', ns).map((h) => [h.revision, h.status, h.chart]), [[1, 'superseded', `${CHART_NAME}-${CHART_VERSION}`], [2, 'deployed', `${CHART_NAME}-${CHART_VERSION}`]]);
  });

  describe('from an OCI registry', () => {
    let registry: Registry;
    after(() => registry?.stop());

    test('helm push, then deployed by oci:// + version + plainHttp; idempotent; a wrong version fails clearly', async () => {
      registry = await startRegistry();
      execFileSync('helm', ['push', helmPackage(), `oci://${registry.host}/charts`, '--plain-http'], { stdio: 'pipe' });
      const ns = await namespace('oci');
      const chart = `oci://${registry.host}/charts/${CHART_NAME}`;
      const input: HelmInput = { ...ref, helm: helmSpec('hello', ns, { chart, version: CHART_VERSION, plainHttp: true }), image: image('v1') };
      const first = await run<HelmRevision>(helmDeploy, input);
      assert.equal(first.revision, 1);
      assert.deepEqual(history('hello', ns).map((h) => [h.revision, h.status, h.chart]), [[1, 'deployed', `${CHART_NAME}-${CHART_VERSION}`]]);
      assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v1');
      assert.equal((await run<HelmRevision>(helmDeploy, input)).revision, 1, 'same version and values: no new revision');

      await assert.rejects(run(helmDeploy, { ...input, helm: { ...input.helm, version: '9.9.9' }, image: image('v2') }), failure('ChartNotFound', /9\.9\.9.*not found|not found.*9\.9\.9/s));
      assert.equal(history('hello', ns).length, 1);
    });
  });

  describe('from a chart repository', () => {
    let server: Server | undefined;
    after(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

    test('--repo URL NAME --version from a static server with index.yaml; idempotent', async () => {
      const root = mkdtempSync(join(tmpdir(), 'chart-repo-'));
      helmPackage(root);
      const requests: string[] = [];
      server = createServer(async (req, res) => {
        requests.push(req.url ?? '');
        const file = join(root, decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/\.\./g, ''));
        try {
          const body = await readFile(file);
          res.writeHead(200).end(body);
        } catch {
          res.writeHead(404).end('not found');
        }
      });
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      execFileSync('helm', ['repo', 'index', root, '--url', url], { stdio: 'pipe' });

      const ns = await namespace('repo');
      const input: HelmInput = { ...ref, helm: helmSpec('hello', ns, { chart: CHART_NAME, repo: url, version: CHART_VERSION }), image: image('v1') };
      assert.equal((await run<HelmRevision>(helmDeploy, input)).revision, 1);
      assert.deepEqual(history('hello', ns).map((h) => [h.revision, h.status, h.chart]), [[1, 'deployed', `${CHART_NAME}-${CHART_VERSION}`]]);
      assert.equal(await deploymentImage(ns, 'hello'), 'registry.local/hello-api:v1');
      assert.ok(requests.includes('/index.yaml') && requests.includes(`/${CHART_NAME}-${CHART_VERSION}.tgz`), `helm fetched the index and the chart: ${requests.join(', ')}`);
      assert.equal((await run<HelmRevision>(helmDeploy, input)).revision, 1, 'same version and values: no new revision');

      await assert.rejects(run(helmDeploy, { ...input, helm: { ...input.helm, version: '9.9.9' } }), failure('ChartNotFound', /9\.9\.9/));
    });
  });
});

describe('packageChart (real helm)', () => {
  test('a chart over 1 MiB packaged is refused with ChartTooLarge, pointing at oci://', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'big-')), 'hello-api');
    cpSync(CHART, dir, { recursive: true });
    mkdirSync(join(dir, 'files'));
    writeFileSync(join(dir, 'files', 'blob.bin'), randomBytes(MAX_CHART_ARCHIVE_BYTES + 64 * 1024)); // random: does not compress
    await assert.rejects(packageChart(dir), failure('ChartTooLarge', /more than the 1048576 bytes .* publish it to an OCI registry .* oci:\/\//));
  });

  test('dependencies are built when charts/ is missing, and travel inside the archive', async () => {
    const base = mkdtempSync(join(tmpdir(), 'deps-'));
    cpSync(CHART, join(base, 'hello-api'), { recursive: true });
    const umbrella = join(base, 'umbrella');
    mkdirSync(join(umbrella, 'templates'), { recursive: true });
    writeFileSync(join(umbrella, 'Chart.yaml'), `apiVersion: v2\nname: umbrella\nversion: 1.2.3\ndependencies:\n  - name: ${CHART_NAME}\n    version: ${CHART_VERSION}\n    repository: file://../hello-api\n`);
    const archive = await packageChart(umbrella);
    assert.deepEqual([archive.name, archive.version], ['umbrella', '1.2.3']);
    assert.ok(readdirSync(join(umbrella, 'charts')).includes(`${CHART_NAME}-${CHART_VERSION}.tgz`), 'helm dependency build ran');
    const out = mkdtempSync(join(tmpdir(), 'unpack-'));
    writeFileSync(join(out, 'a.tgz'), Buffer.from(archive.data, 'base64'));
    const listing = execFileSync('tar', ['-tzf', join(out, 'a.tgz')], { encoding: 'utf8' });
    assert.match(listing, new RegExp(`^umbrella/charts/${CHART_NAME}/templates/deployment\\.yaml$`, 'm'), 'the dependency is inside the archive');
  });
});
