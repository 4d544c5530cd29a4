// The release spec: valid examples load with defaults; each class of invalid spec is refused with
// an error that names the field (and its line).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadSpecFile, parseSpec, SpecError, MAX_SPEC_BYTES } from '../../spec/load.js';
import { formatDuration, parseDuration } from '../../spec/duration.js';
import { releaseSpecJsonSchema, JSON_SCHEMA_FILE } from '../../spec/write-json-schema.js';
import { expectIssue, issuesOf } from '../helpers/spec-issues.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const MINIMAL = `
service: payments-api
source: { repo: https://git.example.com/team/payments.git }
environments:
  - name: staging
    deploy: { helm: { chart: ./charts/payments, release: payments } }
`;



describe('valid specs', () => {
  test('every example spec in examples/ loads', () => {
    const files = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml') && f !== 'gateway.yaml');
    assert.ok(files.length >= 1);
    for (const f of files) {
      const spec = loadSpecFile(join(root, 'examples', f));
      assert.ok(spec.service, f);
    }
  });

  test('the demo spec has its canary, approval and defaults', () => {
    const spec = loadSpecFile(join(root, 'examples/release.yaml'));
    const prod = spec.environments.find((e) => e.name === 'production')!;
    assert.deepEqual(prod.approval, { approvers: ['alice', 'bob'], required: 1, timeout: '24h', fourEyes: true });
    assert.deepEqual(prod.canary!.steps[1], { pause: { duration: '30s' } });
    assert.equal(prod.canary!.router.istio?.stableSubset, 'stable');
    assert.equal(prod.canary!.metrics[0].failureLimit, 1);
    assert.equal(prod.deploy.gitops!.imageTagPath, 'image.tag');
  });

  test('a minimal spec gets defaults', () => {
    const spec = parseSpec(MINIMAL);
    const helm = spec.environments[0].deploy.helm!;
    assert.equal(helm.namespace, 'default');
    assert.equal(helm.timeout, '5m');
    assert.deepEqual(helm.imageValues, { repository: 'image.repository', tag: 'image.tag' });
    assert.equal(spec.source.goPackage, '.');
    assert.equal(spec.environments[0].health.timeout, '5m');
    assert.deepEqual(spec.policy, { denyWindows: [], onDenyWindow: 'wait', environments: {} });
    assert.deepEqual(spec.rollback, { scope: 'environment' });
    assert.deepEqual(spec.notify, []);
  });

  test('pause forms normalise: "2m", {duration: 2m}, {}', () => {
    const spec = parseSpec(`${MINIMAL}    canary:
      router: { istio: { virtualService: payments } }
      workloads: { stable: payments, canary: payments-canary }
      steps: [ { pause: 2m }, { pause: { duration: 1h30m } }, { pause: {} } ]
`);
    assert.deepEqual(spec.environments[0].canary!.steps, [{ pause: { duration: '2m' } }, { pause: { duration: '1h30m' } }, { pause: {} }]);
  });
});

describe('invalid specs name the field', () => {
  test('not YAML', () => {
    const [issue] = issuesOf('service: [unclosed');
    assert.match(issue.message, /^YAML:/);
    assert.equal(issue.line, 1);
  });

  test('not a mapping', () => {
    assert.match(issuesOf('- a\n- b\n')[0].message, /a release spec is a YAML mapping/);
  });

  test('duplicate keys are refused, not silently merged', () => {
    assert.match(issuesOf(`${MINIMAL}service: other\n`)[0].message, /YAML:.*unique|YAML:.*duplicate/i);
  });

  test('missing required fields', () => {
    expectIssue('service: x\nenvironments: []\n', 'source', /required|expected object/i);
    expectIssue('service: x\nsource: {repo: r}\nenvironments: []\n', 'environments', /at least one environment/);
  });

  test('unknown field (typo) with its line', () => {
    const issue = expectIssue(MINIMAL.replace('release: payments', 'release: payments, namepsace: prod'), 'environments[0].deploy.helm.namepsace', /^unknown field; did you mean namespace\?$/);
    assert.equal(issue.line, 6);
  });

  test('service and environment names are DNS labels', () => {
    expectIssue(MINIMAL.replace('payments-api', 'Payments_API'), 'service', /DNS label/);
    expectIssue(MINIMAL.replace('name: staging', 'name: Staging!'), 'environments[0].name', /DNS label/);
  });

  test('exactly one deploy kind', () => {
    expectIssue(MINIMAL.replace('deploy: { helm: { chart: ./charts/payments, release: payments } }', 'deploy: {}'), 'environments[0].deploy', /exactly one of helm, gitops \(found none\)/);
  });

  test('durations need units and must parse', () => {
    expectIssue(MINIMAL.replace('release: payments', 'release: payments, timeout: 300'), 'environments[0].deploy.helm.timeout', /expected string|duration/);
    expectIssue(MINIMAL.replace('release: payments', 'release: payments, timeout: 5 minutes'), 'environments[0].deploy.helm.timeout', /must be a duration with a unit/);
  });

  const canary = (steps: string, metrics = '') => `${MINIMAL}    canary:
      router: { istio: { virtualService: payments } }
      workloads: { stable: payments, canary: payments-canary }
      steps: ${steps}
${metrics}`;

  test('weights are 0..100 whole numbers and never decrease', () => {
    expectIssue(canary('[ { setWeight: 120 } ]'), 'environments[0].canary.steps[0].setWeight', /0\.\.100/);
    expectIssue(canary('[ { setWeight: 12.5 } ]'), 'environments[0].canary.steps[0].setWeight', /whole number/);
    expectIssue(canary('[ { setWeight: 50 }, { setWeight: 20 } ]'), 'environments[0].canary.steps[1].setWeight', /must not decrease \(50 -> 20\)/);
  });

  test('a step has exactly one action', () => {
    expectIssue(canary('[ { setWeight: 5, pause: 1m } ]'), 'environments[0].canary.steps[0]', /exactly one of setWeight, pause, analysis, approval, fault, judge \(found setWeight, pause\)/);
    expectIssue(canary('[ { experiment: {} } ]'), 'environments[0].canary.steps[0].experiment', /^unknown field$/);
  });

  test('analysis names a metric that exists', () => {
    const metrics = `      metrics:
        - { name: error-rate, prometheus: { query: up }, thresholdRange: { max: 0.01 } }
`;
    expectIssue(canary('[ { analysis: { metrics: [latency] } } ]', metrics), 'environments[0].canary.steps[0].analysis.metrics[0]', /unknown metric 'latency' \(canary.metrics has: error-rate\)/);
  });

  test('metric thresholds and limits', () => {
    const m = (body: string) => canary('[ { setWeight: 5 } ]', `      metrics:\n        - { name: e, prometheus: { query: up }, ${body} }\n`);
    expectIssue(m('thresholdRange: {}'), 'environments[0].canary.metrics[0].thresholdRange', /set min, max or both/);
    expectIssue(m('thresholdRange: { min: 2, max: 1 }'), 'environments[0].canary.metrics[0].thresholdRange', /min must be <= max/);
    expectIssue(m('thresholdRange: { max: 1 }, interval: 10ms'), 'environments[0].canary.metrics[0].interval', /at least 1s/);
    expectIssue(m('thresholdRange: { max: 1 }, failureLimit: -1'), 'environments[0].canary.metrics[0].failureLimit', />=0|too small/i);
  });

  test('approvals need approvers and enough of them', () => {
    expectIssue(canary('[ { approval: {} } ]'), 'environments[0].canary.steps[0].approval.approvers', /needs approvers, here or in the environment approval/);
    expectIssue(MINIMAL.replace('  - name: staging\n', '  - name: staging\n    approval: { approvers: [] }\n'), 'environments[0].approval.approvers', /at least one approver/);
    expectIssue(
      MINIMAL.replace('  - name: staging\n', '  - name: staging\n    approval: { approvers: [alice], required: 2 }\n'),
      'environments[0].approval.required',
      /more approvals than it lists approvers/,
    );
  });

  test('duplicate environments and metrics', () => {
    const two = `${MINIMAL}  - name: staging\n    deploy: { helm: { chart: c, release: r } }\n`;
    expectIssue(two, 'environments[1].name', /duplicate environment 'staging'/);
  });

  test('secrets are referenced by environment variable name, never inlined', () => {
    expectIssue(`${MINIMAL}notify: [ { slack: { webhookEnv: "https://hooks.slack.com/services/T/B/X" } } ]\n`, 'notify[0].slack.webhookEnv', /NAME of an environment variable/);
  });

  test('image platforms must be built', () => {
    expectIssue(
      `${MINIMAL}build: { targets: [linux/amd64] }\nimage: { repository: r, platforms: [linux/arm64] }\n`,
      'image.platforms[0]',
      /linux\/arm64 is not among build.targets/,
    );
    expectIssue(`${MINIMAL}build: { targets: [linux/amd 64] }\n`, 'build.targets[0]', /os\/arch/);
  });

  test('deny window cron must have 5 fields and parse, its time zone must exist', () => {
    expectIssue(`${MINIMAL}policy: { denyWindows: [ { cron: "0 22 * *", duration: 8h } ] }\n`, 'policy.denyWindows[0].cron', /5-field cron/);
    expectIssue(`${MINIMAL}policy: { denyWindows: [ { cron: "0 25 * * *", duration: 8h } ] }\n`, 'policy.denyWindows[0].cron', /invalid cron expression/);
    expectIssue(`${MINIMAL}policy: { denyWindows: [ { cron: "0 22 * * *", duration: 8h, timezone: Mars/Olympus } ] }\n`, 'policy.denyWindows[0].cron', /invalid cron expression or time zone/);
    assert.doesNotThrow(() => parseSpec(`${MINIMAL}policy: { denyWindows: [ { cron: "*/10 * * * * *", duration: 5s } ] }\n`));
  });

  test('environment policies name environments that exist and agree with their approvals', () => {
    expectIssue(`${MINIMAL}policy: { environments: { prod: { allowedRefs: ['refs/tags/*'] } } }\n`, 'policy.environments.prod', /no environment 'prod'/);
    expectIssue(`${MINIMAL}policy: { environments: { staging: { minApprovals: 2 } } }\n`, 'policy.environments.staging.minApprovals', /at least 2 approval\(s\); its approval requires none/);
    expectIssue(`${MINIMAL}policy: { environments: { staging: { allowedTriggers: [cron] } } }\n`, 'policy.environments.staging.allowedTriggers[0]', /Invalid option|expected one of/);
  });

  test('oversized spec is refused before parsing', () => {
    assert.match(issuesOf(`# ${'x'.repeat(MAX_SPEC_BYTES)}\n${MINIMAL}`)[0].message, /larger than/);
  });

  test('a missing file is a SpecError naming the file', () => {
    assert.throws(() => loadSpecFile('/nonexistent/release.yaml'), (err: unknown) => err instanceof SpecError && /\/nonexistent\/release.yaml: \(document\): cannot read: ENOENT/.test(err.message));
  });

  test('every issue is reported at once, each with its path', () => {
    const issues = issuesOf(canary('[ { setWeight: 50 }, { setWeight: 20 }, { pause: 5x } ]').replace('payments-api', 'Bad'));
    assert.ok(issues.length >= 3);
    assert.ok(issues.every((i) => i.path && i.line));
  });
});

describe('durations', () => {
  test('parse and format', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.throws(() => parseDuration('10'), /use a number with a unit/);
    assert.throws(() => parseDuration('m5'), /not a duration/);
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(250), '250ms');
  });
});

describe('JSON Schema', () => {
  test('the committed spec/release-spec.schema.json is up to date (npm run schema)', () => {
    const fresh = readFileSync(JSON_SCHEMA_FILE, 'utf8') === releaseSpecJsonSchema();
    assert.ok(fresh, 'spec/release-spec.schema.json is stale: run `npm run schema` and commit it');
  });

  test('it describes the spec for editors: required fields, step choices, enums', () => {
    const schema = JSON.parse(releaseSpecJsonSchema());
    assert.deepEqual(schema.required.sort(), ['environments', 'service', 'source']);
    assert.equal(schema.additionalProperties, false);
    assert.ok(JSON.stringify(schema).includes('"setWeight"'));
    assert.ok(JSON.stringify(schema).includes('"onDenyWindow"'));
  });
});
