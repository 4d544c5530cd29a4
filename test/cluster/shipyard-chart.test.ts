// The Helm chart for Shipyard itself (deploy/chart), with the real helm and the local cluster.
// These tests live in the cluster tier because the unit tier has no helm on PATH.
//  - `helm lint --strict` and `helm template` with the default values against the committed golden
//    file deploy/chart/tests/golden.yaml. After an intended chart change, regenerate it with
//      SHIPYARD_UPDATE_GOLDEN=1 node scripts/run-tests.js test/cluster/shipyard-chart.test.ts
//    and review the diff.
//  - `helm install` into a fresh namespace (kwok makes the pods Ready): the four Deployments, the
//    service accounts and RBAC (checked with `kubectl auth can-i`), the PDBs, the env from values and
//    the Secret references; then `helm uninstall` removes everything, cluster-scoped objects too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { loadGatewayConfig } from '../../client/gateway/config.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const CHART = join(root, 'deploy/chart');
const GOLDEN = join(CHART, 'tests/golden.yaml');
const KUBE_VERSION = 'v1.34.4'; // helm template's default (v1.20) is below the chart's kubeVersion

const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 32 * 1024 * 1024 });
const helm = (...args: string[]) => sh('helm', args);
const kubectl = (...args: string[]) => sh('kubectl', args);
const getJson = (...args: string[]) => JSON.parse(kubectl('get', ...args, '-o', 'json'));
const kinds = (manifest: string) => parseAllDocuments(manifest).map((d) => d.toJS()).filter(Boolean).map((o: any) => `${o.kind}/${o.metadata.name}`);

test('helm lint --strict passes and helm template with default values matches deploy/chart/tests/golden.yaml', () => {
  helm('lint', '--strict', CHART);
  const rendered = helm('template', 'shipyard', CHART, '--namespace', 'shipyard', '--kube-version', KUBE_VERSION);
  if (process.env.SHIPYARD_UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, rendered);
  assert.equal(rendered, readFileSync(GOLDEN, 'utf8'), 'chart output changed: review, then regenerate with SHIPYARD_UPDATE_GOLDEN=1');
  const objects = kinds(rendered);
  for (const c of ['orchestrator', 'build', 'deploy', 'gateway']) {
    assert.ok(objects.includes(`Deployment/shipyard-${c}`), `Deployment ${c}`);
    assert.ok(objects.includes(`PodDisruptionBudget/shipyard-${c}`), `PDB ${c}`);
  }
  // No Prometheus operator in the default capabilities: no ServiceMonitor.
  assert.ok(!objects.some((o) => o.startsWith('ServiceMonitor/')));
  // Secrets are references only: the chart renders no Secret objects.
  assert.ok(!objects.some((o) => o.startsWith('Secret/')));
});

test('helm template renders the ServiceMonitor only when enabled and monitoring.coreos.com/v1 exists', () => {
  const withCrd = ['template', 'shipyard', CHART, '--kube-version', KUBE_VERSION, '--api-versions', 'monitoring.coreos.com/v1'];
  assert.ok(kinds(helm(...withCrd)).includes('ServiceMonitor/shipyard'));
  assert.ok(!kinds(helm(...withCrd, '--set', 'serviceMonitor.enabled=false')).some((o) => o.startsWith('ServiceMonitor/')));
  // Bad input is refused with a clear message.
  assert.throws(() => helm('template', 'shipyard', CHART, '--kube-version', KUBE_VERSION, '--set', 'temporal.address='), /temporal\.address is required/);
});

test('helm install into a fresh namespace: Deployments, service accounts, RBAC, PDBs and Secret references; helm uninstall removes them', () => {
  const ns = `shipyard-chart-${process.pid}`;
  const apps = `${ns}-apps`; // a second namespace the deploy worker releases to
  const dir = mkdtempSync(join(tmpdir(), 'shipyard-chart-'));
  const values = {
    temporal: {
      address: 'payments.a1b2c.tmprl.cloud:7233',
      namespace: 'payments.a1b2c',
      uiUrl: 'https://cloud.temporal.io',
      apiKeySecret: { name: 'temporal-cloud', key: 'api-key' },
      tls: { secretName: 'temporal-mtls', certKey: 'tls.crt', keyKey: 'tls.key', caKey: 'ca.crt', serverName: 'payments.a1b2c.tmprl.cloud' },
    },
    taskQueues: { build: 'payments-build' },
    build: { envFromSecrets: ['registry-creds'], concurrency: 2 },
    rbac: { targetNamespaces: [ns, apps] },
    gateway: { webhookSecrets: ['shipyard-webhooks'] },
  };
  writeFileSync(join(dir, 'values.yaml'), stringify(values));
  try {
    for (const n of [ns, apps]) kubectl('create', 'namespace', n);
    // The operator's existing Secrets, which the chart references (values are never chart values).
    kubectl('-n', ns, 'create', 'secret', 'generic', 'temporal-cloud', '--from-literal=api-key=k');
    kubectl('-n', ns, 'create', 'secret', 'generic', 'temporal-mtls', '--from-literal=tls.crt=c', '--from-literal=tls.key=k', '--from-literal=ca.crt=a');
    kubectl('-n', ns, 'create', 'secret', 'generic', 'shipyard-webhooks', '--from-literal=GITHUB_WEBHOOK_SECRET=s');
    kubectl('-n', ns, 'create', 'secret', 'generic', 'registry-creds', '--from-literal=DOCKER_CONFIG=/x');
    helm('install', 'shipyard', CHART, '-n', ns, '-f', join(dir, 'values.yaml'), '--wait', '--timeout', '120s');

    const deployments = Object.fromEntries(getJson('deployments', '-n', ns).items.map((d: any) => [d.metadata.name, d]));
    assert.deepEqual(Object.keys(deployments).sort(), ['shipyard-build', 'shipyard-deploy', 'shipyard-gateway', 'shipyard-orchestrator']);
    const entries: Record<string, string> = {
      orchestrator: 'dist/workers/orchestrator.js',
      build: 'dist/workers/build.js',
      deploy: 'dist/workers/deploy.js',
      gateway: 'dist/client/gateway/main.js',
    };
    for (const [component, entry] of Object.entries(entries)) {
      const d = deployments[`shipyard-${component}`];
      assert.equal(d.status.readyReplicas, 2, `${component} ready (kwok)`);
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      assert.deepEqual(c.args, [entry]);
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
      assert.equal(env.TEMPORAL_ADDRESS, 'payments.a1b2c.tmprl.cloud:7233');
      assert.equal(env.TEMPORAL_NAMESPACE, 'payments.a1b2c');
      assert.equal(env.SHIPYARD_UI_URL, 'https://cloud.temporal.io');
      assert.deepEqual(env.TEMPORAL_API_KEY, { secretKeyRef: { name: 'temporal-cloud', key: 'api-key' } });
      assert.equal(env.TEMPORAL_TLS_CERT, '/etc/shipyard/temporal-tls/tls.crt');
      assert.equal(env.TEMPORAL_TLS_KEY, '/etc/shipyard/temporal-tls/tls.key');
      assert.equal(env.TEMPORAL_TLS_CA, '/etc/shipyard/temporal-tls/ca.crt');
      assert.equal(env.TEMPORAL_TLS_SERVER_NAME, 'payments.a1b2c.tmprl.cloud');
      assert.equal(env.SHIPYARD_BUILD_QUEUE, 'payments-build', 'every component agrees on the task queues');
      assert.equal(pod.volumes.find((v: any) => v.name === 'temporal-tls').secret.secretName, 'temporal-mtls');
      assert.ok(c.volumeMounts.some((m: any) => m.name === 'temporal-tls' && m.readOnly));
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      if (component === 'gateway') {
        assert.equal(c.readinessProbe.httpGet.path, '/readyz');
        assert.equal(c.livenessProbe.httpGet.path, '/healthz');
        assert.deepEqual(c.envFrom, [{ secretRef: { name: 'shipyard-webhooks' } }]);
      } else {
        assert.equal(env.SHIPYARD_METRICS_ADDRESS, '0.0.0.0:9464', 'metrics reachable by the probes and Prometheus');
        for (const probe of [c.livenessProbe, c.readinessProbe]) assert.deepEqual(probe.httpGet, { path: '/metrics', port: 'metrics', scheme: 'HTTP' });
      }
      assert.equal(pod.serviceAccountName, component === 'deploy' ? 'shipyard-deploy' : 'shipyard');
      assert.equal(pod.automountServiceAccountToken, component === 'deploy', `${component}: API token only for the deploy worker`);
    }
    const build = deployments['shipyard-build'].spec.template.spec.containers[0];
    assert.deepEqual(build.envFrom, [{ secretRef: { name: 'registry-creds' } }]);
    assert.equal(build.env.find((e: any) => e.name === 'SHIPYARD_BUILD_CONCURRENCY').value, '2');

    // The gateway's ConfigMap holds a config the gateway itself accepts.
    const cm = getJson('configmap', 'shipyard-gateway', '-n', ns);
    writeFileSync(join(dir, 'gateway.yaml'), cm.data['gateway.yaml']);
    assert.deepEqual(loadGatewayConfig(join(dir, 'gateway.yaml')).secrets.github, [{ env: 'GITHUB_WEBHOOK_SECRET' }]);

    // Service accounts and RBAC, by what the API server allows.
    for (const sa of ['shipyard', 'shipyard-deploy']) getJson('serviceaccount', sa, '-n', ns);
    for (const n of [ns, apps]) {
      const binding = getJson('rolebinding', 'shipyard-deploy', '-n', n);
      assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'shipyard-deploy' });
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'shipyard-deploy', namespace: ns }]);
      getJson('role', 'shipyard-deploy', '-n', n);
    }
    const can = (as: string, verb: string, resource: string, n: string) => {
      try {
        return kubectl('auth', 'can-i', verb, resource, '-n', n, '--as', `system:serviceaccount:${ns}:${as}`).trim() === 'yes';
      } catch {
        return false; // exit 1 means "no"
      }
    };
    assert.equal(can('shipyard-deploy', 'patch', 'deployments', apps), true);
    assert.equal(can('shipyard-deploy', 'patch', 'virtualservices.networking.istio.io', apps), true);
    assert.equal(can('shipyard-deploy', 'delete', 'virtualservices.networking.istio.io', apps), true, 'a generated canary removes the VirtualService it created');
    assert.equal(can('shipyard-deploy', 'list', 'pods', 'kube-system'), true, 'reads rollout health anywhere');
    assert.equal(can('shipyard-deploy', 'create', 'deployments', 'kube-system'), false);
    assert.equal(can('shipyard', 'list', 'pods', apps), false, 'the other components have no API access');

    const pdbs = getJson('pdb', '-n', ns).items;
    assert.deepEqual(pdbs.map((p: any) => p.metadata.name).sort(), ['shipyard-build', 'shipyard-deploy', 'shipyard-gateway', 'shipyard-orchestrator']);
    for (const p of pdbs) {
      assert.equal(p.spec.minAvailable, 1);
      const component = p.metadata.name.replace(/^shipyard-/, '');
      assert.equal(p.spec.selector.matchLabels['app.kubernetes.io/component'], component);
      assert.equal(p.status.expectedPods, 2, `${p.metadata.name} selects its Deployment's pods`);
    }

    helm('uninstall', 'shipyard', '-n', ns, '--wait', '--timeout', '120s');
    assert.deepEqual(getJson('deployments,pdb,rolebinding', '-n', ns).items, []);
    assert.deepEqual(getJson('rolebinding', '-n', apps).items, []);
    assert.throws(() => kubectl('get', 'clusterrole', `shipyard-deploy-read-${ns}`), /NotFound/);
  } finally {
    // After a failure, still remove the release's cluster-scoped objects (ClusterRole/-Binding).
    try {
      helm('uninstall', 'shipyard', '-n', ns, '--ignore-not-found');
    } catch {
      // never installed
    }
    for (const n of [ns, apps]) {
      try {
        kubectl('delete', 'namespace', n, '--wait=false');
      } catch {
        // not created
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
