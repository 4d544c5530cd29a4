// Chart sources in the spec: local path, oci:// (+ version, plainHttp), a chart repository (repo +
// chart name + version), for deploy.helm and canary.promote.helm. Each rule: specs it refuses (path
// and message asserted) and specs it accepts (parsed fields asserted).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseSpec, SpecError } from '../../spec/load.js';
import { promoteTarget } from '../../workflows/release/stages/promote-target.js';
import type { HelmDeploySpec } from '../../spec/schema.js';
import { expectIssue, issuesOf } from '../helpers/spec-issues.js';

const IMAGE_VALUES = { repository: 'stable.image.repository', tag: 'stable.image.tag' };

function doc(helm: Record<string, unknown>, promote?: Record<string, unknown>): string {
  return stringify({
    service: 'payments-api',
    source: { repo: 'https://git.example.com/team/payments.git' },
    environments: [
      {
        name: 'production',
        deploy: { helm: { release: 'payments', ...helm } },
        ...(promote ? { canary: { router: { istio: { virtualService: 'payments' } }, steps: [{ setWeight: 100 }], promote: { helm: { imageValues: IMAGE_VALUES, ...promote } } } } : {}),
      },
    ],
  });
}



const helmOf = (text: string) => parseSpec(text).environments[0].deploy.helm!;

describe('deploy.helm chart sources that are accepted', () => {
  test('a local path: no version, no repo, plainHttp defaults to false', () => {
    const helm = helmOf(doc({ chart: './charts/payments' }));
    assert.equal(helm.chart, './charts/payments');
    assert.equal(helm.version, undefined);
    assert.equal(helm.repo, undefined);
    assert.equal(helm.plainHttp, false);
  });

  test('oci:// with version and plainHttp', () => {
    const helm = helmOf(doc({ chart: 'oci://127.0.0.1:5000/charts/payments', version: '1.4.2', plainHttp: true }));
    assert.deepEqual([helm.chart, helm.version, helm.plainHttp], ['oci://127.0.0.1:5000/charts/payments', '1.4.2', true]);
  });

  test('a chart repository: repo URL, chart name, version (prerelease and build metadata are exact versions too)', () => {
    const helm = helmOf(doc({ chart: 'payments', repo: 'https://charts.example.com/stable', version: '2.0.0-rc.1+build.5' }));
    assert.deepEqual([helm.chart, helm.repo, helm.version], ['payments', 'https://charts.example.com/stable', '2.0.0-rc.1+build.5']);
    assert.equal(helmOf(doc({ chart: 'payments', repo: 'http://127.0.0.1:8080' })).repo, 'http://127.0.0.1:8080');
  });

  test('repo/chart of a repository helm knows, with a version', () => {
    assert.equal(helmOf(doc({ chart: 'bitnami/nginx', version: '15.0.0' })).version, '15.0.0');
  });
});

describe('deploy.helm chart sources that are refused', () => {
  test('with repo, chart must be a plain name', () => {
    const repo = 'https://charts.example.com';
    for (const chart of ['./charts/payments', '/abs/payments', 'oci://registry/charts/payments', 'stable/payments']) {
      expectIssue(doc({ chart, repo, version: '1.0.0' }), 'environments[0].deploy.helm.chart', /with repo, chart is the chart's name in that repository/);
    }
  });

  test('repo must be an http(s) URL', () => {
    expectIssue(doc({ chart: 'payments', repo: 'charts.example.com' }), 'environments[0].deploy.helm.repo', /chart repository URL \(https:\/\/… or http:\/\/…\)/);
    expectIssue(doc({ chart: 'payments', repo: 'oci://registry/charts' }), 'environments[0].deploy.helm.repo', /chart repository URL/);
  });

  test('version must be an exact SemVer, not a range or v-prefixed', () => {
    for (const version of ['^1.2.0', '1.x', 'v1.2.3', 'latest', '1.2']) {
      expectIssue(doc({ chart: 'oci://registry/charts/payments', version }), 'environments[0].deploy.helm.version', /exact chart version \(SemVer/);
    }
  });

  test('version with a local chart is refused: its version is in its Chart.yaml', () => {
    expectIssue(doc({ chart: './charts/payments', version: '1.0.0' }), 'environments[0].deploy.helm.version', /local chart '\.\/charts\/payments' has its version in its Chart\.yaml/);
  });

  test('plainHttp is for oci:// charts only; it must be a boolean', () => {
    expectIssue(doc({ chart: 'payments', repo: 'http://127.0.0.1:8080', plainHttp: true }), 'environments[0].deploy.helm.plainHttp', /plainHttp is for OCI registries/);
    expectIssue(doc({ chart: './charts/payments', plainHttp: true }), 'environments[0].deploy.helm.plainHttp', /plainHttp is for OCI registries/);
    expectIssue(doc({ chart: 'oci://r/c/p', plainHttp: 'yes' }), 'environments[0].deploy.helm.plainHttp', /boolean/);
  });
});

describe('canary.promote.helm chart sources', () => {
  const deploy = { chart: 'oci://registry/charts/payments', version: '1.0.0', plainHttp: true };

  test('a chart of its own with version, repo accepted', () => {
    const spec = parseSpec(doc(deploy, { chart: 'payments-stable', repo: 'https://charts.example.com', version: '3.1.0' }));
    const promote = spec.environments[0].canary!.promote!.helm!;
    assert.deepEqual([promote.chart, promote.repo, promote.version], ['payments-stable', 'https://charts.example.com', '3.1.0']);
  });

  test('version, repo or plainHttp without promote.helm.chart are refused', () => {
    for (const [field, value] of [['version', '1.0.0'], ['repo', 'https://charts.example.com'], ['plainHttp', true]] as const) {
      expectIssue(doc(deploy, { [field]: value }), `environments[0].canary.promote.helm.${field}`, new RegExp(`promote\\.helm\\.${field} describes promote\\.helm\\.chart, which is not set`));
    }
  });

  test('the same rules as deploy.helm', () => {
    expectIssue(doc(deploy, { chart: './charts/stable', repo: 'https://charts.example.com' }), 'environments[0].canary.promote.helm.chart', /with repo, chart is the chart's name/);
    expectIssue(doc(deploy, { chart: 'oci://r/c/stable', version: '~1' }), 'environments[0].canary.promote.helm.version', /exact chart version/);
    expectIssue(doc(deploy, { chart: 'stable/x', plainHttp: true }), 'environments[0].canary.promote.helm.plainHttp', /plainHttp is for OCI registries/);
  });
});

describe('promoteTarget: the release and chart promotion upgrades', () => {
  const base: HelmDeploySpec = {
    chart: 'oci://registry/charts/payments', version: '1.0.0', plainHttp: true, release: 'payments', namespace: 'prod', timeout: '5m', values: {}, valuesFiles: [],
    imageValues: { repository: 'image.repository', tag: 'image.tag' },
  };

  test("without a chart of its own: the deploy's chart, version and plainHttp", () => {
    assert.deepEqual(promoteTarget(base, { release: 'payments-stable', imageValues: IMAGE_VALUES }), { ...base, release: 'payments-stable' });
  });

  test("with a chart of its own: its version and repo, none of the deploy's", () => {
    const t = promoteTarget(base, { chart: 'stable', repo: 'https://charts.example.com', version: '3.0.0', imageValues: IMAGE_VALUES });
    assert.deepEqual([t.chart, t.repo, t.version, t.plainHttp, t.release], ['stable', 'https://charts.example.com', '3.0.0', false, 'payments']);
    const local = promoteTarget(base, { chart: '/charts/stable', imageValues: IMAGE_VALUES });
    assert.deepEqual([local.chart, 'version' in local, 'repo' in local, local.plainHttp], ['/charts/stable', false, false, false]);
  });

  test('a spec recorded before the chart source fields: no new keys appear (replayed activity inputs stay the same)', () => {
    const { version: _v, plainHttp: _p, ...old } = base;
    const t = promoteTarget(old as HelmDeploySpec, { chart: '/charts/stable', imageValues: IMAGE_VALUES });
    assert.deepEqual(Object.keys(t).sort(), Object.keys(old).sort());
  });
});
