// The deployer's chart sources without helm: the helm arguments for OCI and repository charts, the
// "already deployed" chart match, an archive written and verified (ChartCorrupt), and chart
// directories that cannot be packaged (ChartNotFound, InvalidChart). The helm side (package, push,
// install from each source) is in test/cluster/chart-sources.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { isSameChart, resolveChart } from '../../activities/deploy/chart-source.js';
import { packageChart } from '../../activities/build/chart-package.js';
import type { ChartArchive } from '../../activities/types.js';

const failure = (type: string, message: RegExp) => (err: { type?: string; nonRetryable?: boolean; message: string }) => {
  assert.equal(err.type, type);
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, message);
  return true;
};

describe('resolveChart: helm arguments per source', () => {
  test('oci:// with version and plainHttp', async () => {
    const r = await resolveChart({ chart: 'oci://127.0.0.1:5000/charts/hello-api', version: '0.3.0', plainHttp: true });
    assert.deepEqual(r.args, ['oci://127.0.0.1:5000/charts/hello-api', '--version', '0.3.0', '--plain-http']);
    assert.deepEqual([r.name, r.version], ['hello-api', '0.3.0']);
  });

  test('a chart repository: --repo URL NAME --version', async () => {
    const r = await resolveChart({ chart: 'hello-api', repo: 'http://127.0.0.1:8080', version: '0.3.0', plainHttp: false });
    assert.deepEqual(r.args, ['hello-api', '--repo', 'http://127.0.0.1:8080', '--version', '0.3.0']);
  });

  test('oci:// without a version: helm picks it, the chart check cannot tell', async () => {
    const r = await resolveChart({ chart: 'oci://r/charts/hello-api', plainHttp: false });
    assert.deepEqual(r.args, ['oci://r/charts/hello-api']);
    assert.equal(isSameChart(r, 'hello-api-9.9.9'), true);
  });
});

test('isSameChart compares helm history\'s chart column with name-version', () => {
  assert.equal(isSameChart({ name: 'hello-api', version: '0.3.0' }, 'hello-api-0.3.0'), true);
  assert.equal(isSameChart({ name: 'hello-api', version: '0.3.0' }, 'hello-api-0.3.1'), false);
  assert.equal(isSameChart({ name: 'hello-api', version: '0.3.0' }, 'other-0.3.0'), false);
});

describe('chart archives', () => {
  const bytes = Buffer.from('not really a tgz, but bytes with a known sha256');
  const archive: ChartArchive = { name: 'hello-api', version: '0.3.0', sha256: createHash('sha256').update(bytes).digest('hex'), data: bytes.toString('base64') };

  test('written to <name>-<version>.tgz with its content, removed by cleanup; spec chart ignored', async () => {
    const r = await resolveChart({ chart: '/nowhere/at/all', plainHttp: false }, archive);
    assert.equal(r.args.length, 1);
    assert.equal(basename(r.args[0]), 'hello-api-0.3.0.tgz');
    assert.deepEqual(readFileSync(r.args[0]), bytes);
    assert.deepEqual([r.name, r.version], ['hello-api', '0.3.0']);
    r.cleanup();
    assert.equal(existsSync(r.args[0]), false);
  });

  test('a sha256 that does not match: ChartCorrupt, nothing written', async () => {
    await assert.rejects(resolveChart({ chart: 'x', plainHttp: false }, { ...archive, sha256: 'a'.repeat(64) }), failure('ChartCorrupt', /sha256 of its \d+ bytes is [0-9a-f]{64}, the archive says a{64}/));
  });

  test('a name that is not one path segment: InvalidChart', async () => {
    await assert.rejects(resolveChart({ chart: 'x', plainHttp: false }, { ...archive, name: '../evil' }), failure('InvalidChart', /not usable as a file name/));
  });
});

describe('packageChart refuses what is not a chart (before running helm)', () => {
  test('no Chart.yaml: ChartNotFound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nochart-'));
    await assert.rejects(packageChart(dir), failure('ChartNotFound', /no Chart\.yaml/));
  });

  test('a version that is not SemVer: InvalidChart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'badchart-'));
    writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: bad\nversion: one\n');
    await assert.rejects(packageChart(dir), failure('InvalidChart', /version 'one' is not semver/));
  });

  test('no name: InvalidChart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'noname-'));
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nversion: 1.0.0\n');
    await assert.rejects(packageChart(dir), failure('InvalidChart', /has no name/));
  });
});
