// Spec rules that catch at load what would otherwise fail in the middle of a release: helm release
// names, approver identities, values paths, post-deploy metrics, canary promotion, local charts.
// Each rule: a spec that breaks it (path and message asserted) and one that passes.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadSpecFile, parseSpec, SpecError } from '../../spec/load.js';
import { IdentitySchema } from '../../spec/schema.js';
import { IDENTITY } from '../../spec/identity.js';
import { validateDecision } from '../../workflows/approval.js';
import type { PendingApproval } from '../../workflows/types.js';
import { expectIssue, issuesOf } from '../helpers/spec-issues.js';
import { artifactStoreFor } from '../../spec/artifact-store.js';

const HELM = { helm: { chart: 'oci://registry.local/charts/payments', release: 'payments' } };
const GITOPS = { gitops: { repo: 'https://git.example.com/ops/config.git', valuesFile: 'payments/values.yaml' } };
const WORKLOADS = { stable: 'payments', canary: 'payments-canary' };
const canary = (over: Record<string, unknown> = {}) => ({
  router: { istio: { virtualService: 'payments' } },
  steps: [{ setWeight: 50 }, { setWeight: 100 }],
  ...over,
});

/** One environment, production, deployed with helm unless `env.deploy` says otherwise. */
function doc(env: Record<string, unknown> = {}): string {
  return stringify({
    service: 'payments-api',
    source: { repo: 'https://git.example.com/team/payments.git' },
    environments: [{ name: 'production', deploy: HELM, ...env }],
  });
}



describe('helm release names', () => {
  const name53 = `a${'b'.repeat(51)}c`;
  test('more than 53 characters, or not a release name, is refused', () => {
    expectIssue(doc({ deploy: { helm: { ...HELM.helm, release: `${name53}d` } } }), 'environments[0].deploy.helm.release', /at most 53 characters/);
    expectIssue(doc({ deploy: { helm: { ...HELM.helm, release: 'Payments' } } }), 'environments[0].deploy.helm.release', /helm release name: lowercase/);
    expectIssue(doc({ deploy: { helm: { ...HELM.helm, release: 'payments-' } } }), 'environments[0].deploy.helm.release', /starting and ending with a letter or digit/);
    expectIssue(
      doc({ canary: canary({ promote: { helm: { release: 'stable.payments', imageValues: { repository: 'image.repository', tag: 'image.tag' } } } }) }),
      'environments[0].canary.promote.helm.release',
      /helm release name/,
    );
    expectIssue(
      doc({ canary: canary({ promote: { helm: { release: `${name53}x`, imageValues: { repository: 'image.repository', tag: 'image.tag' } } } }) }),
      'environments[0].canary.promote.helm.release',
      /at most 53/,
    );
  });

  test('53 characters of lowercase letters, digits and dashes pass', () => {
    const spec = parseSpec(
      doc({
        deploy: { helm: { ...HELM.helm, release: name53 } },
        canary: canary({ promote: { helm: { release: 'payments-stable-1', imageValues: { repository: 'stable.image.repository', tag: 'stable.image.tag' } } } }),
      }),
    );
    assert.equal(spec.environments[0].deploy.helm!.release, name53);
    assert.equal(spec.environments[0].canary!.promote!.helm!.release, 'payments-stable-1');
  });
});

describe('approvers are identities the approval validator accepts', () => {
  test('environment and canary step approvers outside the identity rule are refused', () => {
    expectIssue(doc({ approval: { approvers: ['alice', 'bob smith'] } }), 'environments[0].approval.approvers[1]', /must be an approver: .*letters, digits and \. _ @ \+ -.*group:<name>/);
    expectIssue(doc({ approval: { approvers: ['group:'] } }), 'environments[0].approval.approvers[0]', /must be an approver/);
    expectIssue(doc({ approval: { approvers: ['x'.repeat(129)] } }), 'environments[0].approval.approvers[0]', /Shipyard identity/);
    expectIssue(
      doc({ canary: canary({ workloads: WORKLOADS, steps: [{ setWeight: 50 }, { approval: { approvers: ['ops;rm -rf'] } }] }) }),
      'environments[0].canary.steps[1].approval.approvers[0]',
      /Shipyard identity/,
    );
  });

  test('group:<name> entries pass, and a group may give more approvals than the list has entries', () => {
    const spec = parseSpec(doc({ approval: { approvers: ['group:sre', 'alice'], required: 3 } }));
    assert.deepEqual(spec.environments[0].approval!.approvers, ['group:sre', 'alice']);
    expectIssue(doc({ approval: { approvers: ['alice', 'bob'], required: 3 } }), 'environments[0].approval.required', /more approvals than it lists approvers/);
  });

  test('user names, e-mail addresses and bot ids pass', () => {
    const spec = parseSpec(
      doc({
        approval: { approvers: ['alice', 'bob.smith@example.com', 'ci-bot+deploy_1'] },
        canary: canary({ workloads: WORKLOADS, steps: [{ setWeight: 50 }, { approval: { approvers: ['Carol.O-Neil'] } }] }),
      }),
    );
    assert.deepEqual(spec.environments[0].approval!.approvers, ['alice', 'bob.smith@example.com', 'ci-bot+deploy_1']);
    assert.deepEqual(spec.environments[0].canary!.steps[1], { approval: { approvers: ['Carol.O-Neil'] } });
  });

  test('the spec and the approval validator apply one rule: whoever the spec accepts can approve', () => {
    const pending = (who: string): PendingApproval => ({
      gate: 'production/approval',
      environment: 'production',
      approvers: [who],
      required: 1,
      fourEyes: false,
      openedAt: '',
      timeoutAt: '',
      approvedBy: [],
    });
    const samples = ['alice', 'a@b.c', 'x+y', '_', 'x'.repeat(128), 'x'.repeat(129), '', 'bob smith', 'ünal', 'a/b', 'a:b', 'a;b'];
    for (const who of samples) {
      const specAccepts = IdentitySchema.safeParse(who).success;
      let validatorAccepts = true;
      try {
        validateDecision(pending(who), { approver: who }, 'someone-else', 'approve');
      } catch {
        validatorAccepts = false;
      }
      assert.equal(specAccepts, validatorAccepts, `'${who.slice(0, 20)}': spec ${specAccepts}, validator ${validatorAccepts}`);
      assert.equal(specAccepts, IDENTITY.test(who));
    }
  });
});

describe('values paths cannot reach the object prototype', () => {
  const helmWith = (imageValues: Record<string, string>) => ({ deploy: { helm: { ...HELM.helm, imageValues } } });
  test('__proto__, constructor, prototype and empty segments are refused in every values path', () => {
    expectIssue(doc(helmWith({ tag: 'image.__proto__.tag' })), 'environments[0].deploy.helm.imageValues.tag', /segment '__proto__', which is not allowed/);
    expectIssue(doc(helmWith({ repository: 'constructor.prototype' })), 'environments[0].deploy.helm.imageValues.repository', /segment 'constructor'/);
    expectIssue(doc(helmWith({ digest: 'image..digest' })), 'environments[0].deploy.helm.imageValues.digest', /dotted path with no empty segment/);
    expectIssue(doc(helmWith({ tag: '' })), 'environments[0].deploy.helm.imageValues.tag', /no empty segment/);
    expectIssue(doc({ deploy: { gitops: { ...GITOPS.gitops, imageTagPath: 'image.prototype' } } }), 'environments[0].deploy.gitops.imageTagPath', /segment 'prototype'/);
    expectIssue(doc({ deploy: { gitops: { ...GITOPS.gitops, imageTagPath: '.image.tag' } } }), 'environments[0].deploy.gitops.imageTagPath', /empty segment/);
    expectIssue(
      doc({ canary: canary({ promote: { helm: { imageValues: { repository: 'stable.image.repository', tag: 'stable.__proto__' } } } }) }),
      'environments[0].canary.promote.helm.imageValues.tag',
      /'__proto__'/,
    );
    expectIssue(
      doc({ deploy: GITOPS, canary: canary({ promote: { gitops: { imageTagPath: 'stable.image.tag.' } } }) }),
      'environments[0].canary.promote.gitops.imageTagPath',
      /empty segment/,
    );
  });

  test('ordinary dotted paths pass, including segments that merely contain the words', () => {
    const spec = parseSpec(doc({ ...helmWith({ repository: 'app.image.repository', tag: 'app.image.tag', digest: 'app.image.prototypeDigest' }) }));
    assert.deepEqual(spec.environments[0].deploy.helm!.imageValues, { repository: 'app.image.repository', tag: 'app.image.tag', digest: 'app.image.prototypeDigest' });
    const gitops = parseSpec(doc({ deploy: GITOPS, canary: canary({ promote: { gitops: { imageTagPath: 'stable.image.tag' } } }) }));
    assert.equal(gitops.environments[0].deploy.gitops!.imageTagPath, 'image.tag');
    assert.equal(gitops.environments[0].canary!.promote!.gitops!.imageTagPath, 'stable.image.tag');
  });
});

describe('post-deploy check metrics follow the canary metric rules', () => {
  const metric = (name: string, interval = '1s') => ({ name, prometheus: { query: 'up' }, thresholdRange: { min: 1 }, interval });
  test('an interval under 1s and a duplicate name are refused', () => {
    const text = doc({ checks: { metrics: [metric('up', '500ms'), metric('errors'), metric('up')] } });
    expectIssue(text, 'environments[0].checks.metrics[0].interval', /must be at least 1s/);
    expectIssue(text, 'environments[0].checks.metrics[2].name', /duplicate metric 'up'/);
  });

  test('distinct names at 1s or more pass', () => {
    const spec = parseSpec(doc({ checks: { metrics: [metric('up'), metric('errors', '30s')] } }));
    assert.deepEqual(spec.environments[0].checks!.metrics.map((m) => [m.name, m.interval]), [['up', '1s'], ['errors', '30s']]);
  });
});

describe('canary promotion', () => {
  const helmPromote = { helm: { imageValues: { repository: 'stable.image.repository', tag: 'stable.image.tag' } } };
  const gitopsPromote = { gitops: { imageTagPath: 'stable.image.tag' } };

  test('a canary without workloads and without promote is refused: it would end at 0% reporting success', () => {
    expectIssue(doc({ canary: canary() }), 'environments[0].canary', /add canary\.workloads .* or canary\.promote/);
  });

  test('promote has exactly one of helm, gitops', () => {
    expectIssue(doc({ canary: canary({ promote: {} }) }), 'environments[0].canary.promote', /exactly one of helm, gitops \(found none\)/);
    expectIssue(doc({ canary: canary({ promote: { ...helmPromote, ...gitopsPromote } }) }), 'environments[0].canary.promote', /exactly one of helm, gitops \(found helm, gitops\)/);
  });

  test("promote matches the environment's deploy kind", () => {
    expectIssue(doc({ deploy: GITOPS, canary: canary({ promote: helmPromote }) }), 'environments[0].canary.promote.helm', /promote\.helm needs deploy\.helm \(this environment deploys with gitops/);
    expectIssue(doc({ canary: canary({ promote: gitopsPromote }) }), 'environments[0].canary.promote.gitops', /promote\.gitops needs deploy\.gitops \(this environment deploys with helm/);
  });

  test('promote.gitops with deploy.gitops.promoteFrom is refused, saying why', () => {
    expectIssue(
      doc({ deploy: { gitops: { ...GITOPS.gitops, promoteFrom: 'staging' } }, canary: canary({ promote: gitopsPromote }) }),
      'environments[0].canary.promote.gitops',
      /cannot be combined with deploy\.gitops\.promoteFrom: .*merging 'staging'.*diverge/,
    );
  });

  test('scaleDownAfterPromotion needs workloads', () => {
    expectIssue(doc({ canary: canary({ promote: helmPromote, scaleDownAfterPromotion: true }) }), 'environments[0].canary.scaleDownAfterPromotion', /needs canary\.workloads/);
  });

  test('workloads, promote.helm with helm, promote.gitops with gitops pass', () => {
    const withWorkloads = parseSpec(doc({ canary: canary({ workloads: WORKLOADS, scaleDownAfterPromotion: true }) }));
    assert.deepEqual(withWorkloads.environments[0].canary!.workloads, WORKLOADS);
    assert.equal(withWorkloads.environments[0].canary!.scaleDownAfterPromotion, true);
    const helm = parseSpec(doc({ canary: canary({ promote: helmPromote }) }));
    assert.deepEqual(helm.environments[0].canary!.promote, helmPromote);
    assert.equal(helm.environments[0].canary!.scaleDownAfterPromotion, false);
    const gitops = parseSpec(doc({ deploy: GITOPS, canary: canary({ promote: gitopsPromote }) }));
    assert.deepEqual(gitops.environments[0].canary!.promote, gitopsPromote);
    // promoteFrom with workloads is fine: the merge deploys, the stable Deployment takes the images.
    assert.doesNotThrow(() => parseSpec(doc({ deploy: { gitops: { ...GITOPS.gitops, promoteFrom: 'staging' } }, canary: canary({ workloads: WORKLOADS }) })));
  });
});

describe('local helm charts exist when the spec file is loaded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spec-charts-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'charts/web'), { recursive: true });
  writeFileSync(join(dir, 'charts/web/Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 0.1.0\n');
  mkdirSync(join(dir, 'charts/empty'), { recursive: true });
  writeFileSync(join(dir, 'web-0.1.0.tgz'), 'not inspected: helm reads the archive');
  mkdirSync(join(dir, 'specs'));

  const specText = (chart: string, promoteChart?: string) => `service: web
source: { repo: https://git.example.com/web.git }
environments:
  - name: production
    deploy:
      helm: { chart: ${chart}, release: web }
    canary:
      router: { istio: { virtualService: web } }
      workloads: { stable: web, canary: web-canary }
${promoteChart ? `      promote: { helm: { chart: ${promoteChart}, imageValues: { repository: stable.image.repository, tag: stable.image.tag } } }\n` : ''}      steps: [ { setWeight: 100 } ]
`;
  const write = (name: string, text: string) => {
    const file = join(dir, 'specs', name);
    writeFileSync(file, text);
    return file;
  };
  const loadIssues = (file: string) => {
    try {
      loadSpecFile(file);
    } catch (err) {
      assert.ok(err instanceof SpecError, String(err));
      return err;
    }
    assert.fail('spec was accepted');
  };

  test('a missing chart directory, a directory without Chart.yaml and a missing absolute path fail with file:line:col', () => {
    const file = write('missing.yaml', specText('../charts/api', '../charts/empty'));
    const err = loadIssues(file);
    assert.deepEqual(
      err.issues.map((i) => [i.path, i.line, i.column]),
      [
        ['environments[0].deploy.helm.chart', 6, 22],
        ['environments[0].canary.promote.helm.chart', 10, 33],
      ],
    );
    assert.match(err.message, new RegExp(`${file}:6:22: environments\\[0\\]\\.deploy\\.helm\\.chart: local chart '\\.\\./charts/api' does not exist \\(${join(dir, 'charts/api')}\\)`));
    assert.match(err.message, new RegExp(`${file}:10:33: environments\\[0\\]\\.canary\\.promote\\.helm\\.chart: local chart '\\.\\./charts/empty' has no Chart\\.yaml`));
    const abs = loadIssues(write('absolute.yaml', specText(join(dir, 'nowhere'))));
    assert.deepEqual(abs.issues.map((i) => i.path), ['environments[0].deploy.helm.chart']);
    assert.match(abs.issues[0].message, /does not exist/);
  });

  test('chart issues are reported together with the schema issues', () => {
    const err = loadIssues(write('both.yaml', specText('../charts/api').replace('release: web', 'release: Web')));
    assert.deepEqual(err.issues.map((i) => i.path).sort(), ['environments[0].deploy.helm.chart', 'environments[0].deploy.helm.release']);
  });

  test('existing charts (directory with Chart.yaml, .tgz) load and are resolved against the spec file directory', () => {
    const spec = loadSpecFile(write('ok.yaml', specText('../charts/web', '../web-0.1.0.tgz')));
    assert.equal(spec.environments[0].deploy.helm!.chart, join(dir, 'charts/web'));
    assert.equal(spec.environments[0].canary!.promote!.helm!.chart, join(dir, 'web-0.1.0.tgz'));
  });

  test('chart references (repo/chart, oci://) are not paths and are not checked; nor are specs parsed from a string', () => {
    const spec = loadSpecFile(write('remote.yaml', specText('bitnami/nginx', 'oci://registry.local/charts/web')));
    assert.equal(spec.environments[0].deploy.helm!.chart, 'bitnami/nginx');
    assert.equal(spec.environments[0].canary!.promote!.helm!.chart, 'oci://registry.local/charts/web');
    assert.doesNotThrow(() => parseSpec(specText('./not-here')));
  });
});

describe('build.artifactStore (where the binaries go; activities/build/artifacts.ts)', () => {
  const withBuild = (build: Record<string, unknown>, image?: Record<string, unknown>) =>
    stringify({ ...parseYamlDoc(), build: { targets: ['linux/amd64'], ...build }, ...(image ? { image } : {}) });
  const parseYamlDoc = () => ({ service: 'payments-api', source: { repo: 'https://git.example.com/team/payments.git' }, environments: [{ name: 'production', deploy: HELM }] });

  test('oci://registry/repository or local; anything else is refused with the field named', () => {
    for (const bad of ['s3://bucket/artifacts', 'oci://Registry/Team', 'registry.local/team/app', 'oci://registry.local']) {
      expectIssue(withBuild({ artifactStore: bad }), 'build.artifactStore', /must be local or oci:\/\/registry\/repository/);
    }
  });

  test('the store a release uses: the field, else the image repository, else none (the build worker decides)', () => {
    assert.equal(artifactStoreFor(parseSpec(withBuild({ artifactStore: 'oci://registry.local:5000/ci/artifacts' }))), 'oci://registry.local:5000/ci/artifacts');
    assert.equal(artifactStoreFor(parseSpec(withBuild({ artifactStore: 'local' }, { repository: 'registry.local/team/payments' }))), 'local');
    assert.equal(artifactStoreFor(parseSpec(withBuild({}, { repository: 'registry.local/team/payments' }))), 'oci://registry.local/team/payments');
    assert.equal(artifactStoreFor(parseSpec(withBuild({}))), undefined);
  });
});
