// Generated canary plumbing (canary.generate): the spec combinations that cannot work are refused at
// load with a message saying why, and the canary labels keep the stable Service and Deployment from
// selecting the canary pods (the Istio traffic split is only right if they do not).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { parseSpec } from '../../spec/load.js';
import { canaryDeployment, canaryLabels, canaryService, withImage } from '../../activities/traffic/plumbing-objects.js';
import { issueLines } from '../helpers/spec-issues.js';

const HELM = { helm: { chart: 'oci://registry.local/charts/payments', release: 'payments' } };
const GITOPS = { gitops: { repo: 'https://git.example.com/ops/config.git', valuesFile: 'payments/values.yaml' } };
const generated = (over: Record<string, unknown> = {}) => ({ generate: true, router: { istio: { virtualService: 'payments' } }, steps: [{ setWeight: 50 }], ...over });

function doc(env: Record<string, unknown>, top: Record<string, unknown> = { build: { targets: ['linux/amd64'] }, image: { repository: 'registry.local/payments' } }): string {
  return stringify({ service: 'payments-api', source: { repo: 'https://git.example.com/team/payments.git' }, ...top, environments: [{ name: 'production', deploy: HELM, ...env }] });
}

const issues = issueLines;

describe('canary.generate spec rules', () => {
  test('helm deploy, an image and a router are enough: no workloads, no promote', () => {
    assert.deepEqual(issues(doc({ canary: generated() })), []);
    const spec = parseSpec(doc({ canary: generated() }), 't.yaml');
    assert.equal(spec.environments[0].canary?.generate, true);
  });

  test('without generate nothing changes: the field stays absent and a canary still needs a way to promote', () => {
    const spec = parseSpec(doc({ canary: { ...generated(), generate: undefined, workloads: { stable: 'payments', canary: 'payments-canary' } } }), 't.yaml');
    assert.equal('generate' in spec.environments[0].canary!, false);
    const { generate: _g, ...plain } = generated();
    assert.match(issues(doc({ canary: plain })).join('\n'), /environments\[0\]\.canary: a canary needs a way to promote/);
  });

  test('each inconsistent combination is refused with its path and reason', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ deploy: GITOPS, canary: generated() }, 'environments[0].canary.generate', /needs deploy\.helm/],
      [{ canary: generated({ workloads: { stable: 'payments', canary: 'payments-canary' } }) }, 'environments[0].canary.workloads', /cannot be combined with canary\.generate: the canary Deployment is generated/],
      [{ canary: generated({ scaling: { mode: 'fixed', replicas: 1 } }) }, 'environments[0].canary.scaling', /cannot be combined with canary\.generate/],
      [{ canary: generated({ promote: { helm: { imageValues: { repository: 'image.repository', tag: 'image.tag' } } } }) }, 'environments[0].canary.promote', /promotion upgrades the stable release of deploy\.helm/],
      [{ canary: generated({ scaleDownAfterPromotion: true }) }, 'environments[0].canary.scaleDownAfterPromotion', /deleted after promotion/],
      [{ canary: generated({ router: { istio: { virtualService: 'payments', destinationRule: 'payments' } } }) }, 'environments[0].canary.router.istio.destinationRule', /routes by Service/],
    ];
    for (const [env, path, message] of cases) {
      const found = issues(doc(env));
      assert.ok(found.some((i) => i.startsWith(`${path}: `) && message.test(i)), `no issue at ${path} matching ${message}; got:\n${found.join('\n')}`);
    }
  });

  test('a generated canary needs the release image', () => {
    const found = issues(doc({ canary: generated() }, {}));
    assert.ok(found.includes('environments[0].canary.generate: canary.generate needs the top-level image section: the generated canary runs the release image'), found.join('\n'));
  });
});

const stable: V1Deployment = {
  metadata: { name: 'web', namespace: 'prod', labels: { 'app.kubernetes.io/managed-by': 'Helm' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { 'app.kubernetes.io/instance': 'web' } },
    progressDeadlineSeconds: 120,
    template: {
      metadata: { labels: { 'app.kubernetes.io/instance': 'web', app: 'web', version: 'stable' }, annotations: { note: 'kept' } },
      spec: { containers: [{ name: 'app', image: 'registry.local/web:v1' }, { name: 'proxy', image: 'envoy:1.30' }] },
    },
  },
};
const service: V1Service = { metadata: { name: 'web', namespace: 'prod' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' as never, nodePort: 30080 }] } };
const ref = { releaseId: 'release/web/production/abc', attempt: 'run-1', service: 'web', version: 'v2', commit: 'abc' };
const image = { repository: 'registry.local/web', tag: 'v2', digest: 'sha256:' + 'b'.repeat(64), platforms: ['linux/amd64'] };
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('generated canary objects', () => {
  test('the stable Service and Deployment do not select the canary pods; the canary Service and Deployment select only them', () => {
    const labels = canaryLabels(stable, service);
    const stablePods = stable.spec!.template.metadata!.labels!;
    assert.deepEqual(labels.pod, { 'app.kubernetes.io/instance': 'web-canary', app: 'web-canary', version: 'stable', track: 'canary' });
    assert.equal(selects(service.spec!.selector!, labels.pod), false, 'stable Service would select canary pods');
    assert.equal(selects(stable.spec!.selector.matchLabels!, labels.pod), false, 'stable Deployment would select canary pods');
    assert.equal(selects(labels.serviceSelector, labels.pod), true);
    assert.equal(selects(labels.serviceSelector, stablePods), false, 'canary Service would select stable pods');
    assert.equal(selects(labels.deploymentSelector, labels.pod), true);
    assert.equal(selects(labels.deploymentSelector, stablePods), false);
  });

  test('the canary Deployment: stable template, release image on the matching container, Shipyard labels and annotations', () => {
    const d = canaryDeployment(stable, canaryLabels(stable, service), image, ref);
    assert.equal(d.metadata!.name, 'web-canary');
    assert.deepEqual(d.metadata!.labels, { 'app.kubernetes.io/managed-by': 'shipyard', track: 'canary' });
    assert.deepEqual(d.metadata!.annotations, { 'shipyard.dev/release': ref.releaseId, 'shipyard.dev/attempt': 'run-1', 'shipyard.dev/canary-of': 'web' });
    assert.equal(d.spec!.replicas, 3);
    assert.equal(d.spec!.progressDeadlineSeconds, 120);
    assert.deepEqual(d.spec!.template.spec!.containers.map((c) => c.image), [`registry.local/web:v2@${image.digest}`, 'envoy:1.30']);
    assert.deepEqual(d.spec!.template.metadata!.annotations, { note: 'kept' });
    assert.equal(stable.spec!.template.spec!.containers[0].image, 'registry.local/web:v1', 'the stable object is not modified');
    const svc = canaryService(service, canaryLabels(stable, service), ref);
    assert.equal(svc.metadata!.name, 'web-canary');
    assert.deepEqual(svc.spec!.selector, { app: 'web-canary', track: 'canary' });
    assert.deepEqual(svc.spec!.ports, [{ name: 'http', port: 80, targetPort: 'http', protocol: undefined, appProtocol: undefined }], 'no nodePort copied');
  });

  test('refused: a Service that does not select the stable pods, matchExpressions, and an image no container can take', () => {
    assert.throws(() => canaryLabels(stable, { ...service, spec: { selector: { app: 'other' } } }), /does not select the pods of Deployment prod\/web/);
    assert.throws(() => canaryLabels({ ...stable, spec: { ...stable.spec!, selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] } } }, service), /matchExpressions/);
    assert.throws(() => withImage([{ name: 'a', image: 'x/a:1' }, { name: 'b', image: 'x/b:1' }], image, 'Deployment prod/web'), (err: { type?: string; message: string }) => err.type === 'WorkloadMismatch' && /no container runs registry\.local\/web/.test(err.message));
    assert.deepEqual(withImage([{ name: 'a', image: 'mirror/web:v1' }], image, 'd').map((c) => c.image), [`registry.local/web:v2@${image.digest}`], 'the only container takes it');
  });
});
