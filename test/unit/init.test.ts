// `shipyard init`: a Go repository laid out unlike examples/ (go.mod at the root, the service under
// cmd/<name>, a second main under tools/gen, its chart under charts/<name>) gets a spec that the
// project's own loader accepts; no overwrite without --force; a repository without charts gets an
// OCI placeholder; the CLI prints what it found and exits 0, or 2 when the spec exists.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpecFile } from '../../spec/load.js';
import { InitError, initRepository, isMainFile, planInit, renderSpec, scanRepository } from '../../client/init.js';

const CLI = fileURLToPath(new URL('../../client/cli.js', import.meta.url));

function write(root: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

const MAIN = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi")\n}\n';

/** go.mod at the root, the service under cmd/ledger, a generator under tools/gen, a chart under charts/ledger. */
function makeRepo(options: { charts?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'shipyard-init-'));
  write(root, {
    'go.mod': 'module github.com/acme/ledger-svc\n\ngo 1.22\n',
    'cmd/ledger/main.go': MAIN,
    'cmd/ledger/main_test.go': 'package main\n\nimport "testing"\n\nfunc TestX(t *testing.T) {}\n',
    'tools/gen/gen.go': MAIN,
    // Not mains: a library, a test-only main, a go:build ignore helper, vendored code.
    'internal/store/store.go': 'package store\n\nfunc main() {}\n',
    'internal/testonly/x_test.go': MAIN,
    'internal/gen/ignored.go': `//go:build ignore\n\n${MAIN}`,
    'vendor/example.com/dep/cmd/dep/main.go': MAIN,
  });
  if (options.charts !== false) {
    write(root, {
      'charts/ledger/Chart.yaml': 'apiVersion: v2\nname: ledger\nversion: 0.1.0\n',
      'charts/ledger/values.yaml': 'image:\n  repository: ""\n  tag: ""\n',
      'charts/ledger/templates/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n',
      'charts/ledger/charts/sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 0.1.0\n',
      'charts/aaa-tools/Chart.yaml': 'apiVersion: v2\nname: aaa-tools\nversion: 0.1.0\n',
    });
  }
  return root;
}

describe('scan and render', () => {
  test('finds the main packages, the charts and the module; the rendered spec validates', () => {
    const root = makeRepo();
    try {
      const scan = scanRepository(root);
      assert.deepEqual(scan.modules, [{ dir: '.', path: 'github.com/acme/ledger-svc' }]);
      assert.deepEqual(scan.mains.map((m) => [m.dir, m.moduleDir, m.pkg]), [
        ['cmd/ledger', '.', './cmd/ledger'],
        ['tools/gen', '.', './tools/gen'],
      ]);
      assert.deepEqual(scan.charts, ['charts/aaa-tools', 'charts/ledger']);

      const plan = planInit(scan);
      assert.equal(plan.service, 'ledger');
      assert.equal(plan.main.pkg, './cmd/ledger');
      assert.equal(plan.chart, 'charts/ledger', 'charts/<service> is preferred over the first chart');
      assert.equal(plan.image, 'registry.example.com/ledger');

      const out = join(root, 'deploy/shipyard/release.yaml');
      const text = renderSpec(scan, plan, { out });
      assert.match(text, /^# yaml-language-server: \$schema=\S+release-spec\.schema\.json\n/);
      assert.match(text, /#\s+tools\/gen\s+\(dir: \., goPackage: \.\/tools\/gen\)/, 'the other main package is listed in a comment');
      assert.match(text, /or vector\(0\)/);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, text);
      const spec = loadSpecFile(out);
      assert.equal(spec.service, 'ledger');
      assert.equal(spec.source.dir, '.');
      assert.equal(spec.source.goPackage, './cmd/ledger');
      assert.equal(spec.source.repo, root, 'the repository path resolves to the repository');
      assert.deepEqual(spec.build!.targets, ['linux/amd64', 'linux/arm64']);
      const [staging, production] = spec.environments;
      assert.equal(staging.name, 'staging');
      assert.equal(staging.deploy.helm!.chart, join(root, 'charts/ledger'), 'chart path relative to the spec file');
      assert.match(text, /chart: \.\.\/\.\.\/charts\/ledger,/);
      assert.equal(staging.deploy.helm!.release, 'ledger');
      assert.equal(staging.deploy.helm!.namespace, 'staging');
      assert.equal(production.concurrency, 'queue');
      assert.deepEqual(production.approval!.approvers, ['change-me']);
      assert.equal(production.canary!.generate, true, 'the canary plumbing is generated from the stable release');
      assert.equal(production.canary!.workloads, undefined);
      assert.equal(production.deploy.helm!.release, 'ledger');
      assert.equal(production.canary!.router.istio?.virtualService, 'ledger');
      assert.deepEqual(production.canary!.steps, [{ setWeight: 10 }, { analysis: { metrics: ['error-rate'], background: false } }, { setWeight: 50 }, { setWeight: 100 }]);
      assert.match(production.canary!.metrics[0].prometheus!.query, /track="canary".*or vector\(0\)/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('--service picks cmd/<service> and charts/<service>; without a match, the first in sorted order', () => {
    const root = makeRepo();
    try {
      write(root, { 'cmd/admin/main.go': MAIN, 'charts/admin/Chart.yaml': 'apiVersion: v2\nname: admin\nversion: 0.1.0\n' });
      const scan = scanRepository(root);
      const admin = planInit(scan, { service: 'admin', image: 'ghcr.io/acme/admin' });
      assert.equal(admin.main.pkg, './cmd/admin');
      assert.equal(admin.chart, 'charts/admin');
      assert.equal(admin.image, 'ghcr.io/acme/admin');
      assert.deepEqual(admin.otherMains.map((m) => m.dir), ['cmd/ledger', 'tools/gen']);
      const other = planInit(scan, { service: 'billing' });
      assert.equal(other.main.dir, 'cmd/admin');
      assert.equal(other.chart, 'charts/aaa-tools');
      assert.throws(() => planInit(scan, { service: 'Bad_Name' }), InitError);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a main package at the root of a module in a subdirectory is named after the module', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipyard-init-'));
    try {
      write(root, { 'svc/go.mod': 'module example.com/team/Payments/v2\n', 'svc/main.go': MAIN, 'README.md': '' });
      const scan = scanRepository(root);
      const plan = planInit(scan);
      assert.deepEqual([plan.main.moduleDir, plan.main.pkg, plan.service], ['svc', '.', 'payments']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('isMainFile needs package main and func main, and skips go:build ignore', () => {
    assert.equal(isMainFile(MAIN), true);
    assert.equal(isMainFile('package main\n\nfunc helper() {}\n'), false);
    assert.equal(isMainFile('package lib\n\nfunc main() {}\n'), false);
    assert.equal(isMainFile(`//go:build ignore\n\n${MAIN}`), false);
  });
});

describe('initRepository', () => {
  test('writes .shipyard/release.yaml, refuses to overwrite it, replaces it with force', () => {
    const root = makeRepo();
    try {
      const first = initRepository({ dir: root });
      assert.equal(first.path, join(root, '.shipyard/release.yaml'));
      assert.equal(first.overwritten, false);
      const spec = loadSpecFile(first.path);
      assert.equal(spec.service, 'ledger');
      assert.equal(spec.environments[0].deploy.helm!.chart, join(root, 'charts/ledger'));
      assert.match(readFileSync(first.path, 'utf8'), /chart: \.\.\/charts\/ledger,/);

      writeFileSync(first.path, '# mine\n');
      assert.throws(() => initRepository({ dir: root }), (err: Error) => err instanceof InitError && /already exists.*--force/.test(err.message));
      assert.equal(readFileSync(first.path, 'utf8'), '# mine\n', 'an existing spec is left alone');

      const second = initRepository({ dir: root, force: true, service: 'ledger' });
      assert.equal(second.overwritten, true);
      assert.equal(loadSpecFile(second.path).service, 'ledger');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a repository without charts gets an OCI chart placeholder and still validates', () => {
    const root = makeRepo({ charts: false });
    try {
      const result = initRepository({ dir: root, out: join(root, 'release.yaml') });
      assert.equal(result.plan.chart, undefined);
      assert.match(result.text, /No chart was found/);
      const spec = loadSpecFile(result.path);
      assert.equal(spec.environments[0].deploy.helm!.chart, 'oci://registry.example.com/charts/ledger');
      assert.equal(spec.environments[1].deploy.helm!.chart, 'oci://registry.example.com/charts/ledger');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('no go.mod or no main package is an InitError', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipyard-init-'));
    try {
      assert.throws(() => initRepository({ dir: root }), /no go\.mod/);
      write(root, { 'go.mod': 'module x\n', 'lib/lib.go': 'package lib\n' });
      assert.throws(() => initRepository({ dir: root }), /no Go main package/);
      assert.equal(existsSync(join(root, '.shipyard')), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('shipyard init (CLI)', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

  test('exit 0 with what it found and the file; exit 2 when the file exists; --force replaces it', () => {
    const root = makeRepo();
    try {
      const ok = cli('init', root);
      assert.equal(ok.status, 0, ok.stderr);
      const path = join(root, '.shipyard/release.yaml');
      assert.match(ok.stdout, /main package: cmd\/ledger/);
      assert.match(ok.stdout, /also found: tools\/gen/);
      assert.match(ok.stdout, /helm chart: charts\/ledger/);
      assert.ok(ok.stdout.includes(`wrote ${path}`), ok.stdout);
      const text = readFileSync(path, 'utf8');
      assert.match(text, /^# yaml-language-server: \$schema=\.\/release-spec\.schema\.json\n/, 'a schema path that travels with the repository');
      assert.equal(JSON.parse(readFileSync(join(root, '.shipyard/release-spec.schema.json'), 'utf8')).type, 'object', 'the schema copy beside the spec');
      assert.match(text, /^service: ledger$/m);
      assert.match(text, /goPackage: \.\/cmd\/ledger/);
      assert.equal(loadSpecFile(path).service, 'ledger');

      const again = cli('init', root);
      assert.equal(again.status, 2);
      assert.match(again.stderr, /already exists.*--force/);
      assert.equal(readFileSync(path, 'utf8'), text);

      const forced = cli('init', root, '--force', '--service', 'ledger', '--image', 'ghcr.io/acme/ledger');
      assert.equal(forced.status, 0, forced.stderr);
      assert.match(readFileSync(path, 'utf8'), /repository: ghcr\.io\/acme\/ledger/);

      const bad = cli('init', root, '--force', '--service', 'Not Valid');
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /not a valid service name/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
