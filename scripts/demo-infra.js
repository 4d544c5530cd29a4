// The demo's outside world, for `npm start -- --local-cluster`: everything examples/release.yaml
// releases into, on this machine.
//   - an OCI registry on 127.0.0.1:5000 (Debian docker-registry)
//   - a local Kubernetes control plane (kwok) with Istio's CRDs, namespaces staging and production,
//     the stable and canary Deployments of hello-api in production, its DestinationRule and VirtualService
//   - the GitOps config repository .data/demo/config.git (branch prod) and a stand-in for Argo CD that
//     applies its image tags to the production Deployments
//   - the example service running twice (stable, canary) and a Prometheus scraping them (and the
//     services registered with `shipyard dev add-service`, which scripts/local-runner.js runs)
//   - a notification sink printing what Shipyard sends
// Returns the environment the workers need and a stop(). stop() ends the processes but keeps the
// state under <dataDir>/demo (cluster, registry, Prometheus data, config repo): the next start reuses
// it; `npm run dev:down` (scripts/dev-down.js) deletes it. The demo's objects are created only when
// missing: a restarted stack finds its cluster as the last release left it (image tags, traffic
// weights), not reset to the demo's initial state. A start that fails midway ends what it started.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTool, toolPathEnv, toolPath } from './tools.js';
import { startCluster } from './cluster.js';
import { readServices } from './dev-services.js';
import { writePrometheusConfig } from './prometheus-config.js';
import { portInUse } from './dev-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (m) => console.log(`[shipyard demo] ${m}`);

async function waitFor(url, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} did not come up (${url})`);
}

function git(args, cwd) {
  return execFileSync('git', ['-c', 'user.name=Shipyard Demo', '-c', 'user.email=demo@localhost', ...args], { cwd, encoding: 'utf8' });
}

// The fixed ports of the demo (examples/release.yaml names the registry and Prometheus by address).
export const DEMO_PORTS = { registry: 5000, prometheus: 9090, stable: 18080, canary: 18081, notifications: 8099 };

export async function startDemoInfra(dataDir) {
  // Another stack's registry or Prometheus on these ports would be used silently: refuse instead.
  const taken = [];
  for (const [what, port] of Object.entries(DEMO_PORTS)) if (await portInUse(port)) taken.push(`${port} (${what})`);
  if (taken.length) throw new Error(`the demo's port(s) ${taken.join(', ')} are in use: another \`npm start -- --local-cluster\` (or a system registry/Prometheus) is running; stop it first`);
  // What has been started so far, for stop() and for the cleanup of a failed start.
  const started = { children: [], timers: [], sink: undefined, cluster: undefined };
  const stop = async () => {
    for (const timer of started.timers) clearInterval(timer);
    started.sink?.close();
    for (const c of started.children) c.kill('SIGTERM');
    await started.cluster?.pause();
  };
  try {
    return { ...(await startParts(dataDir, started)), stop };
  } catch (err) {
    // Nothing half-started is left running (the cluster is paused, its state kept).
    await stop().catch((e) => log(`cleanup after the failed start: ${e.message}`));
    throw err;
  }
}

async function startParts(dataDir, started) {
  const dir = join(dataDir, 'demo');
  mkdirSync(dir, { recursive: true });
  const { children } = started;
  const tools = ['kubernetes', 'etcd', 'kwok', 'kubectl', 'helm', 'crane', 'docker-registry', 'prometheus', 'istio-crds'];
  log('making sure the tools are there (the first run builds Kubernetes from source: ~15 minutes)');
  for (const t of tools) await ensureTool(t);
  const PATH = await toolPathEnv(tools);
  const env = { ...process.env, PATH };

  // Registry
  writeFileSync(join(dir, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: 127.0.0.1:5000\n`);
  children.push(spawn('docker-registry', ['serve', join(dir, 'registry.yml')], { env, stdio: 'ignore' }));
  await waitFor('http://127.0.0.1:5000/v2/', 'registry');
  log('registry on 127.0.0.1:5000');

  // Cluster
  const cluster = await startCluster({ name: 'shipyard-demo', dir: join(dir, 'cluster') });
  started.cluster = cluster;
  env.KUBECONFIG = cluster.kubeconfig;
  const kubectl = (...args) => execFileSync('kubectl', args, { env, encoding: 'utf8' });
  const apply = (yaml) => execFileSync('kubectl', ['apply', '--server-side', '-f', '-'], { env, input: yaml, encoding: 'utf8' });
  kubectl('apply', '--server-side', '-f', await toolPath('istio-crds'));
  kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s');
  for (const ns of ['staging', 'production']) apply(`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }\n`);
  const chart = join(root, 'examples/charts/hello-api');
  // Only what is missing: a resumed cluster keeps what releases made of it (tags, weights).
  const exists = (kind, name) => kubectl('-n', 'production', 'get', kind, name, '--ignore-not-found', '-o', 'name').trim() !== '';
  for (const [release, track] of [['hello-api', 'stable'], ['hello-api-canary', 'canary']]) {
    if (exists('deployment', release)) continue;
    execFileSync('helm', ['upgrade', '--install', release, chart, '-n', 'production', '--wait', '--set', `track=${track}`, '--set', 'image.tag=0.0.1'], { env, stdio: 'ignore' });
  }
  if (!exists('destinationrule', 'hello-api') || !exists('virtualservice', 'hello-api')) apply(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: hello-api, namespace: production }
spec:
  host: hello-api
  subsets:
    - { name: stable, labels: { version: stable } }
    - { name: canary, labels: { version: canary } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: hello-api, namespace: production }
spec:
  hosts: [hello-api]
  http:
    - name: primary
      route:
        - { destination: { host: hello-api, subset: stable }, weight: 100 }
`);
  log(`Kubernetes (kwok) at ${cluster.apiServer}; kubeconfig ${cluster.kubeconfig}`);

  // GitOps config repository: one values file per production Deployment (the canary gets each
  // release first; promotion commits the stable tag).
  const config = join(dir, 'config.git');
  const files = {
    'hello-api/values.yaml': '# hello-api (stable) in production (Argo CD would apply this)\nimage:\n  repository: 127.0.0.1:5000/demo/hello-api\n  tag: "0.0.1"\nreplicaCount: 2\n',
    'hello-api-canary/values.yaml': '# hello-api-canary in production (Argo CD would apply this)\nimage:\n  repository: 127.0.0.1:5000/demo/hello-api\n  tag: "0.0.1"\nreplicaCount: 1\n',
  };
  const work = join(dir, 'config-work');
  rmSync(work, { recursive: true, force: true });
  if (!existsSync(config)) {
    mkdirSync(work, { recursive: true });
    git(['init', '--quiet', '--initial-branch', 'prod'], work);
    git(['commit', '--quiet', '--allow-empty', '-m', 'initial config'], work);
    git(['clone', '--quiet', '--bare', work, config], dir);
    rmSync(work, { recursive: true, force: true });
  }
  // A config repo from an older demo may lack a file: add what is missing (never overwrite).
  git(['clone', '--quiet', '--branch', 'prod', config, work], dir);
  const missing = Object.entries(files).filter(([f]) => !existsSync(join(work, f)));
  for (const [f, text] of missing) {
    mkdirSync(join(work, f, '..'), { recursive: true });
    writeFileSync(join(work, f), text);
    git(['add', f], work);
  }
  if (missing.length) {
    git(['commit', '--quiet', '-m', `config for ${missing.map(([f]) => f).join(', ')}`], work);
    git(['push', '--quiet', 'origin', 'prod'], work);
  }
  rmSync(work, { recursive: true, force: true });
  // The Argo CD stand-in: applies each file's image tag to its Deployment when it changes.
  const applied = {};
  const applyConfig = setInterval(() => {
    for (const f of Object.keys(files)) {
      try {
        const text = execFileSync('git', ['--git-dir', config, 'show', `prod:${f}`], { encoding: 'utf8' });
        const tag = /tag: "?([^"\s]+)"?/.exec(text)?.[1];
        const deployment = f.split('/')[0];
        if (!tag || applied[deployment] === tag) continue;
        execFileSync('kubectl', ['-n', 'production', 'set', 'image', `deployment/${deployment}`, `*=127.0.0.1:5000/demo/hello-api:${tag}`], { env, stdio: 'ignore' });
        applied[deployment] = tag;
        log(`config applied: ${deployment} runs ${tag}`);
      } catch {
        // the cluster or repo is busy; the next tick tries again
      }
    }
  }, 1000);
  started.timers.push(applyConfig);
  log(`GitOps config repo ${config} (branch prod)`);

  // The example service as stable and canary, with a trickle of traffic, and Prometheus.
  const service = join(root, 'examples/service');
  const ports = { stable: DEMO_PORTS.stable, canary: DEMO_PORTS.canary };
  for (const [version, port] of Object.entries(ports)) {
    const bin = join(dir, `hello-${version}`);
    execFileSync('go', ['build', '-o', bin, '-ldflags', `-X main.version=${version}`, './cmd/hello'], { cwd: service, env: { ...env, CGO_ENABLED: '0' } });
    children.push(spawn(bin, [], { env: { ADDR: `127.0.0.1:${port}` }, stdio: 'ignore' }));
  }
  const load = setInterval(() => {
    for (const port of Object.values(ports)) fetch(`http://127.0.0.1:${port}/`).then((r) => r.arrayBuffer()).catch(() => undefined);
  }, 100);
  started.timers.push(load);
  // Its config: the demo's job plus one job per service registered with `shipyard dev add-service`
  // (scripts/prometheus-config.js); the lifecycle API lets `dev add-service` reload it in place.
  const services = readServices(dataDir);
  const base = { global: { scrape_interval: '5s' }, scrape_configs: [{ job_name: 'hello-api', static_configs: [{ targets: [`127.0.0.1:${ports.stable}`, `127.0.0.1:${ports.canary}`] }] }] };
  const promConfig = writePrometheusConfig(dataDir, services, base);
  children.push(spawn('prometheus', [`--config.file=${promConfig}`, `--storage.tsdb.path=${join(dir, 'prometheus')}`, '--web.listen-address=127.0.0.1:9090', '--web.enable-lifecycle', '--log.level=error'], { env, stdio: 'ignore' }));
  await waitFor('http://127.0.0.1:9090/-/ready', 'prometheus');
  log(`Prometheus on http://127.0.0.1:9090 scraping hello-api stable (:${ports.stable}) and canary (:${ports.canary})${services.length ? ` and ${services.map((x) => x.name).join(', ')} (local runner)` : ''}; make the canary fail: curl -X POST '127.0.0.1:${ports.canary}/admin/fault?errorRate=0.5'`);

  // Notification sink
  const sink = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      try {
        const m = JSON.parse(body);
        console.log(`[notification] ${m.title}${m.text ? ` - ${m.text}` : ''}`);
      } catch {
        // not ours
      }
      res.end('ok');
    });
  });
  started.sink = sink;
  await new Promise((r) => sink.listen(DEMO_PORTS.notifications, '127.0.0.1', r));

  return {
    env: { KUBECONFIG: cluster.kubeconfig, PATH, PROMETHEUS_URL: 'http://127.0.0.1:9090', SHIPYARD_DEMO_WEBHOOK_URL: 'http://127.0.0.1:8099/notify' },
  };
}
