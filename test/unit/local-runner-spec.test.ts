// The local runner's view of a Deployment (scripts/runner-spec.js), the services.json entry
// (scripts/dev-services.js) and the Prometheus jobs of registered services (scripts/prometheus-config.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const script = async (name: string) => (await import(pathToFileURL(join(ROOT, 'scripts', name)).href)) as Record<string, any>;

const deployment = (over: Record<string, any> = {}) => ({
  metadata: { name: 'inventory-canary', namespace: 'inventory' },
  spec: {
    replicas: 2,
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': 'inventory', 'app.kubernetes.io/instance': 'inventory-canary', track: 'canary', job: 'x', '9lives': 'y' } },
      spec: {
        containers: [
          {
            name: 'inventory',
            image: '127.0.0.1:5000/inventory:v2',
            env: [
              { name: 'LISTEN_ADDR', value: ':8080' },
              { name: 'METRICS_ADDR', value: '0.0.0.0:9102' },
              { name: 'PORT', value: '8080' },
              { name: 'UPSTREAM', value: 'db:5432' },
              { name: 'WORKERS', value: '4' },
              { name: 'SELF', value: 'http://$(LISTEN_ADDR)' },
              { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
            ],
            ports: [
              { name: 'http', containerPort: 8080 },
              { name: 'metrics', containerPort: 9102 },
            ],
            ...over,
          },
        ],
      },
    },
  },
});

test('a Deployment becomes one process: ports by name, env with local ports, labels Prometheus can carry', async () => {
  const { deploymentSpec, processEnv, targetLabels, rewritePortValue, commandLine } = await script('runner-spec.js');
  const spec = deploymentSpec(deployment(), { name: 'inventory' });
  assert.equal(spec.key, 'inventory/inventory-canary');
  assert.equal(spec.replicas, 2);
  assert.equal(spec.httpPort, 8080);
  assert.equal(spec.metricsPort, 9102);

  const localPorts = new Map([[8080, 41000], [9102, 41001]]);
  const { env, skipped } = processEnv({ imageEnv: ['PATH=/app', 'WORKERS=1'], containerEnv: spec.container.env, localPorts, podName: 'inventory-canary-local', namespace: 'inventory' });
  assert.deepEqual(
    { LISTEN_ADDR: env.LISTEN_ADDR, METRICS_ADDR: env.METRICS_ADDR, PORT: env.PORT, UPSTREAM: env.UPSTREAM, WORKERS: env.WORKERS, SELF: env.SELF, POD: env.POD, PATH: env.PATH, HOSTNAME: env.HOSTNAME },
    { LISTEN_ADDR: '127.0.0.1:41000', METRICS_ADDR: '0.0.0.0:41001', PORT: '41000', UPSTREAM: 'db:5432', WORKERS: '4', SELF: 'http://127.0.0.1:41000', POD: 'inventory-canary-local', PATH: '/app', HOSTNAME: 'inventory-canary-local' },
  );
  assert.equal(env.TOKEN, undefined);
  assert.deepEqual(skipped, ['TOKEN']);
  assert.equal(rewritePortValue('localhost:9102', localPorts), 'localhost:41001');
  assert.equal(rewritePortValue('8081', localPorts), '8081', 'an undeclared port is left alone');

  assert.deepEqual(targetLabels({ namespace: 'inventory', deployment: 'inventory-canary', service: 'inventory', podLabels: spec.podLabels }), {
    app_kubernetes_io_name: 'inventory',
    app_kubernetes_io_instance: 'inventory-canary',
    track: 'canary',
    _9lives: 'y',
    namespace: 'inventory',
    deployment: 'inventory-canary',
    service: 'inventory',
  });

  // Without a port named metrics, the registered --metrics-port's containerPort is scraped.
  const unnamed = deploymentSpec(deployment({ ports: [{ containerPort: 8080 }, { containerPort: 9102 }] }), { name: 'inventory', metricsPort: 9102 });
  assert.deepEqual([unnamed.httpPort, unnamed.metricsPort], [8080, 9102]);
  assert.equal(deploymentSpec(deployment({ ports: [{ containerPort: 8080 }] }), { name: 'inventory' }).metricsPort, undefined);
  // A label change alone does not restart the process; an image change does.
  const relabelled = deployment();
  relabelled.spec.template.metadata.labels.track = 'stable';
  assert.equal(deploymentSpec(relabelled, { name: 'inventory' }).hash, spec.hash);
  assert.notEqual(deploymentSpec(deployment({ image: '127.0.0.1:5000/inventory:v3' }), { name: 'inventory' }).hash, spec.hash);
  const unset = deployment();
  delete (unset.spec as { replicas?: number }).replicas;
  assert.equal(deploymentSpec(unset, { name: 'inventory' }).replicas, 1, "Kubernetes' default");

  // Kubernetes' command/args over the image's Entrypoint/Cmd.
  const image = { Entrypoint: ['/app/inventory'], Cmd: ['--serve'] };
  assert.deepEqual(commandLine({}, image), ['/app/inventory', '--serve']);
  assert.deepEqual(commandLine({ args: ['--debug'] }, image), ['/app/inventory', '--debug']);
  assert.deepEqual(commandLine({ command: ['/bin/other'] }, image), ['/bin/other']);
});

test('services.json: validated entries, adding again updates, a namespace belongs to one service', async () => {
  const { normalizeService, upsertService, readServices } = await script('dev-services.js');
  assert.deepEqual(normalizeService({ name: 'inventory' }), { name: 'inventory', namespace: 'inventory', metricsPath: '/metrics', trafficPath: '/' });
  assert.throws(() => normalizeService({ name: 'Inv' }), /must be a DNS label/);
  assert.throws(() => normalizeService({ name: 'inv', metricsPort: '70000' }), /--metrics-port '70000' must be a port number/);
  assert.throws(() => normalizeService({ name: 'inv', metricsPath: 'metrics' }), /--metrics-path 'metrics' must start with \//);
  const dir = mkdtempSync(join(tmpdir(), 'services-'));
  try {
    const first = upsertService(dir, { name: 'inventory', metricsPort: '9102' });
    assert.equal(first.previous, undefined);
    const again = upsertService(dir, { name: 'inventory', namespace: 'inv', metricsPath: '/internal/metrics' });
    assert.equal(again.previous.metricsPort, 9102);
    assert.equal(again.service.addedAt, first.service.addedAt);
    assert.deepEqual(readServices(dir).map((s: Record<string, unknown>) => [s.name, s.namespace, s.metricsPath, s.metricsPort]), [['inventory', 'inv', '/internal/metrics', undefined]]);
    assert.throws(() => upsertService(dir, { name: 'orders', namespace: 'inv' }), /namespace inv already belongs to service inventory/);
    assert.equal(readServices(dir).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Prometheus config: one file_sd job per service, the demo jobs kept, a taken job name refused', async () => {
  const { writePrometheusConfig, withServiceJobs } = await script('prometheus-config.js');
  const dir = mkdtempSync(join(tmpdir(), 'promcfg-'));
  try {
    const base = { global: { scrape_interval: '5s' }, scrape_configs: [{ job_name: 'hello-api', static_configs: [{ targets: ['127.0.0.1:18080'] }] }] };
    const file = writePrometheusConfig(dir, [{ name: 'inventory', metricsPath: '/internal/metrics' }], base);
    assert.equal(readFileSync(join(dir, 'demo/runner/targets/inventory.json'), 'utf8'), '[]\n');
    // Without base (dev add-service): the file's other jobs stay, service jobs are regenerated.
    writeFileSync(join(dir, 'demo/runner/targets/inventory.json'), '[{"targets":["127.0.0.1:1"]}]\n');
    writePrometheusConfig(dir, [{ name: 'inventory', metricsPath: '/m' }, { name: 'orders', metricsPath: '/metrics' }]);
    const cfg = parseYaml(readFileSync(file, 'utf8'));
    assert.deepEqual(cfg.scrape_configs.map((j: { job_name: string; metrics_path?: string }) => [j.job_name, j.metrics_path]), [['hello-api', undefined], ['inventory', '/m'], ['orders', '/metrics']]);
    assert.deepEqual(cfg.scrape_configs[2].file_sd_configs, [{ files: [join(dir, 'demo/runner/targets/orders.json')], refresh_interval: '5s' }]);
    assert.equal(readFileSync(join(dir, 'demo/runner/targets/inventory.json'), 'utf8'), '[{"targets":["127.0.0.1:1"]}]\n', "the runner's targets are not reset");
    assert.throws(() => withServiceJobs(cfg, dir, [{ name: 'hello-api' }]), /already has a job named 'hello-api'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
