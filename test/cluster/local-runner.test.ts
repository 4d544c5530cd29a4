// `shipyard dev add-service` and the local runner (scripts/local-runner.js) against real parts: the
// kwok control plane of the cluster tier, a real registry holding the inventory example built and
// published the way releases publish images (publishImage: crane, scratch base, an index), a real
// Prometheus (with the lifecycle API, like the stack's) and the inventory chart installed with helm.
// The stack itself (start.js) is not started: stack.json names this test process as its pid.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { publishImage } from '../../activities/build/image.js';
import { createArtifacts } from '../../activities/build/artifacts.js';
import { sha256File } from '../../activities/build/artifact-store.js';
import { kube } from '../../activities/kube.js';
import { runCli } from '../helpers/cli.js';
import { kubeconfig, namespace } from '../helpers/cluster.js';
import { freePort } from '../helpers/net.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { eventually } from '../helpers/temporal.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INVENTORY = join(ROOT, 'examples/inventory');
const CHART = join(INVENTORY, 'charts/inventory');
const script = async <T>(name: string): Promise<T> => (await import(pathToFileURL(join(ROOT, 'scripts', name)).href)) as T;

interface Runner {
  stop(): Promise<void>;
  processes(): { deployment: string; pid: number; image: string; ports: Record<string, number>; metrics?: string; http?: string }[];
}

const goArch = arch() === 'x64' ? 'amd64' : arch();
const dataDir = mkdtempSync(join(tmpdir(), 'devsvc-'));
const work = mkdtempSync(join(tmpdir(), 'devsvc-work-'));
let registry: Registry;
let prometheus: ChildProcess;
let promUrl: string;
let ns: string;
let runner: Runner | undefined;
const images: Record<string, string> = {};
const lines: string[] = [];

async function query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return res.data.result;
}

const helm = (...args: string[]) => execFileSync('helm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The runner's start line for a Deployment and image: its port and pid. */
function started(deployment: string, image: string): { port: number; pid: number } | undefined {
  const re = new RegExp(`^${ns}/${deployment}: image ${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on :(\\d+) \\(pid (\\d+)\\)`);
  for (const l of lines) {
    const m = re.exec(l);
    if (m) return { port: Number(m[1]), pid: Number(m[2]) };
  }
  return undefined;
}

before(async () => {
  registry = await startRegistry();
  const repository = `${registry.host}/inventory`;
  for (const version of ['v1', 'v2']) {
    const bin = join(work, `inventory-${version}`);
    execFileSync('go', ['build', '-o', bin, '-ldflags', `-X main.version=${version}`, './cmd/inventory'], { cwd: INVENTORY, env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOARCH: goArch } });
    const ref = await publishImage(
      {
        releaseId: 'test',
        service: 'inventory',
        version,
        commit: 'c'.repeat(40),
        repository,
        platforms: [`linux/${goArch}`],
        base: 'scratch',
        source: 'examples/inventory',
        artifacts: [{ target: `linux/${goArch}`, uri: pathToFileURL(bin).href, sha256: await sha256File(bin), size: 0, cacheHit: false }],
      },
      { workDir: work, artifactDir: work, insecureRegistries: [registry.host] },
      { crane: 'crane' },
      createArtifacts({ workDir: work, artifactDir: work, insecureRegistries: [registry.host] }, { crane: 'crane' }),
    );
    images[version] = `${repository}:${ref.tag}`;
  }

  // The stack's Prometheus, as demo-infra starts it: its config file in the data dir, lifecycle API on.
  const { writePrometheusConfig } = await script<{ writePrometheusConfig: (d: string, s: unknown[], base: unknown) => string }>('prometheus-config.js');
  const config = writePrometheusConfig(dataDir, [], { global: { scrape_interval: '1s', evaluation_interval: '1s' }, scrape_configs: [{ job_name: 'demo', static_configs: [{ targets: ['127.0.0.1:9'] }] }] });
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(work, 'prom')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-lifecycle', '--log.level=error'], { stdio: 'ignore' });
  await eventually(async () => (await fetch(`${promUrl}/-/ready`)).ok, 30_000, 'prometheus ready');

  ns = await namespace('inv');
  // The stack's stack.json: alive (this process) and with its local cluster.
  const { writeStackState } = await script<{ writeStackState: (d: string, s: unknown) => void }>('stack-state.js');
  writeStackState(dataDir, { pid: process.pid, dataDir, processes: {}, localCluster: { kubeconfig: kubeconfig(), prometheusUrl: promUrl } });
});

after(async () => {
  await runner?.stop();
  prometheus?.kill('SIGTERM');
  await registry?.stop();
  if (ns) await kube().core.deleteNamespace({ name: ns }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local stack: your own service', { timeout: 240_000 }, () => {
  test('dev add-service: namespace, services.json, Prometheus job reloaded in place; again updates; clear errors', async () => {
    const env = { SHIPYARD_DATA_DIR: dataDir };
    const elsewhere = mkdtempSync(join(tmpdir(), 'devsvc-none-'));
    const down = await runCli(['dev', 'add-service', 'inventory'], { SHIPYARD_DATA_DIR: elsewhere });
    assert.equal(down.code, 1, down.stderr);
    assert.match(down.stderr, /the local stack is not running .*npm start -- --local-cluster/);
    rmSync(elsewhere, { recursive: true, force: true });
    const bad = await runCli(['dev', 'add-service', 'Inventory_1'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /service name 'Inventory_1' must be a DNS label/);
    const taken = await runCli(['dev', 'add-service', 'demo'], env);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /Prometheus already has a job named 'demo'/);

    const before = Number(((await (await fetch(`${promUrl}/metrics`)).text()).match(/^prometheus_config_last_reload_success_timestamp_seconds (\S+)$/m) ?? [])[1]);
    const added = await runCli(['dev', 'add-service', 'inventory', '--namespace', ns, '--metrics-path', '/internal/metrics', '--traffic-path', '/items'], env);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^added service inventory/m);
    assert.match(added.stdout, new RegExp(`namespace: +${ns} \\(already there\\)`));
    const services = JSON.parse(readFileSync(join(dataDir, 'demo/services.json'), 'utf8')).services;
    assert.deepEqual(services.map((s: Record<string, unknown>) => [s.name, s.namespace, s.metricsPath, s.trafficPath, s.metricsPort]), [['inventory', ns, '/internal/metrics', '/items', undefined]]);
    // The running Prometheus loaded the job (read back from its API), after a reload it reports.
    const loaded = parseYaml(((await (await fetch(`${promUrl}/api/v1/status/config`)).json()) as { data: { yaml: string } }).data.yaml);
    const job = loaded.scrape_configs.find((j: { job_name: string }) => j.job_name === 'inventory');
    assert.equal(job.metrics_path, '/internal/metrics');
    assert.deepEqual(job.file_sd_configs[0].files, [join(dataDir, 'demo/runner/targets/inventory.json')]);
    assert.ok(loaded.scrape_configs.some((j: { job_name: string }) => j.job_name === 'demo'), 'the demo job is kept');
    const reloadedAt = Number(((await (await fetch(`${promUrl}/metrics`)).text()).match(/^prometheus_config_last_reload_success_timestamp_seconds (\S+)$/m) ?? [])[1]);
    assert.ok(reloadedAt > before, `a reload happened (${before} -> ${reloadedAt})`);
    assert.equal(readFileSync(join(dataDir, 'demo/runner/targets/inventory.json'), 'utf8').trim(), '[]');

    // A new namespace is created; adding again updates the entry (one entry, new fields).
    const other = `${ns}-b`;
    const second = await runCli(['dev', 'add-service', 'inventory', '--namespace', other, '--metrics-port', '9102', '--metrics-path', '/internal/metrics', '--traffic-path', '/items'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^updated service inventory/m);
    assert.match(second.stdout, new RegExp(`namespace: +${other} created`));
    assert.equal((await kube().core.readNamespace({ name: other })).metadata?.name, other);
    await kube().core.deleteNamespace({ name: other });
    const back = await runCli(['dev', 'add-service', 'inventory', '--namespace', ns, '--metrics-port', '9102', '--metrics-path', '/internal/metrics', '--traffic-path', '/items', '--json'], env);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(JSON.parse(back.stdout).service.metricsPort, 9102);
    const list = JSON.parse((await runCli(['dev', 'services', '--json'], env)).stdout);
    assert.equal(list.stackRunning, true);
    assert.deepEqual(list.services.map((s: { name: string; namespace: string; metricsPort: number }) => [s.name, s.namespace, s.metricsPort]), [['inventory', ns, 9102]]);
  });

  test('the local runner runs each Deployment\'s image, Prometheus scrapes it with the pod labels, an image change replaces it, scale 0 and delete stop it', async () => {
    const { startLocalRunner } = await script<{ startLocalRunner: (o: object) => Runner }>('local-runner.js');
    runner = startLocalRunner({ dataDir, kubeconfig: kubeconfig(), pollMs: 500, log: (m: string) => lines.push(m) });
    const repo = images.v1.replace(/:v1$/, '');
    const install = (release: string, tag: string, extra: string[] = []) =>
      helm('upgrade', '--install', release, CHART, '-n', ns, '--set', `image.repository=${repo}`, '--set', `image.tag=${tag}`, ...extra);
    install('inventory', 'v1');
    install('inventory-canary', 'v1', ['--set', 'podLabels.track=canary', '--set', 'replicaCount=1']);

    const stable = await eventually(async () => started('inventory', images.v1), 60_000, `the stable process; runner log:\n${lines.join('\n')}`);
    const canary = await eventually(async () => started('inventory-canary', images.v1), 60_000, `the canary process; runner log:\n${lines.join('\n')}`);
    assert.notEqual(stable.port, canary.port, 'stable and canary listen on different local ports');
    const items = (await (await fetch(`http://127.0.0.1:${canary.port}/items`)).json()) as { items: unknown[] };
    assert.equal(items.items.length, 4, 'the released code answers on the port LISTEN_ADDR was rewritten to');

    // The service's own metrics, scraped from METRICS_ADDR's local port, carry the pod labels.
    const series = await eventually(async () => {
      const r = await query(`inventory_http_requests_total{track="canary",handler="list_items",status="200",namespace="${ns}"}`);
      return r.length && Number(r[0].value[1]) > 0 ? r : undefined;
    }, 60_000, 'canary metrics in Prometheus');
    assert.equal(series[0].metric.deployment, 'inventory-canary');
    assert.equal(series[0].metric.service, 'inventory');
    assert.equal(series[0].metric.job, 'inventory');
    assert.equal(series[0].metric.app_kubernetes_io_name, 'inventory');
    assert.equal(series[0].metric.app_kubernetes_io_instance, 'inventory-canary');
    await eventually(async () => (await query(`inventory_build_info{namespace="${ns}",deployment="inventory",version="v1"}`)).length === 1 || undefined, 30_000, 'stable scraped too');
    assert.equal((await query(`inventory_build_info{namespace="${ns}",deployment="inventory",track="canary"}`)).length, 0, 'stable has no track label');
    const rate = await eventually(async () => {
      const r = await query(`sum(rate(inventory_http_requests_total{namespace="${ns}",deployment="inventory-canary"}[5s]))`);
      return r.length && Number(r[0].value[1]) > 2 ? Number(r[0].value[1]) : undefined;
    }, 30_000, 'the runner\'s trickle of traffic as a rate');
    assert.ok(rate > 2);

    // An image the registry does not have: said once, and the running process is kept (like a rollout whose new pods fail).
    install('inventory-canary', 'nope', ['--set', 'podLabels.track=canary', '--set', 'replicaCount=1']);
    const missing = `${ns}/inventory-canary: cannot run image ${repo}:nope: `;
    const note = await eventually(async () => lines.find((l) => l.startsWith(missing)), 30_000, `the pull failure; runner log:\n${lines.join('\n')}`);
    assert.match(note, new RegExp(`\\(pid ${canary.pid} keeps running ${images.v1.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\); retrying every 30s$`));
    assert.ok(alive(canary.pid));
    assert.equal(runner.processes().find((p) => p.deployment === 'inventory-canary')?.pid, canary.pid);

    // New image on the canary: the process is replaced (new pid, same local port), the old one is gone.
    install('inventory-canary', 'v2', ['--set', 'podLabels.track=canary', '--set', 'replicaCount=1']);
    const replaced = await eventually(async () => started('inventory-canary', images.v2), 60_000, `the v2 canary; runner log:\n${lines.join('\n')}`);
    assert.notEqual(replaced.pid, canary.pid);
    assert.equal(replaced.port, canary.port);
    assert.ok(lines.some((l) => l === `${ns}/inventory-canary: stopped (pid ${canary.pid}): replaced: image ${images.v1} -> ${images.v2}`), lines.join('\n'));
    await eventually(async () => !alive(canary.pid) || undefined, 10_000, 'the v1 canary process gone');
    const proc = runner.processes().find((p) => p.deployment === 'inventory-canary')!;
    assert.equal(proc.pid, replaced.pid);
    assert.match(await (await fetch(proc.metrics!)).text(), /inventory_build_info\{version="v2"\} 1/);
    assert.ok(alive(stable.pid), 'the stable process was left alone');

    // Scaled to 0: stopped. Deleted: stopped, and no target left.
    execFileSync('kubectl', ['-n', ns, 'scale', 'deployment/inventory', '--replicas=0']);
    await eventually(async () => lines.some((l) => l.startsWith(`${ns}/inventory: stopped (pid ${stable.pid}): its Deployment is gone or scaled to 0`)) || undefined, 20_000, 'stable stopped');
    assert.ok(!alive(stable.pid));
    helm('uninstall', 'inventory-canary', '-n', ns);
    await eventually(async () => lines.some((l) => l.startsWith(`${ns}/inventory-canary: stopped (pid ${replaced.pid})`)) || undefined, 20_000, 'canary stopped');
    await eventually(async () => !alive(replaced.pid) || undefined, 10_000, 'the canary process gone');
    await eventually(async () => readFileSync(join(dataDir, 'demo/runner/targets/inventory.json'), 'utf8').trim() === '[]' || undefined, 10_000, 'no targets left');
    assert.deepEqual(runner.processes(), []);
  });
});
