// `shipyard dev add-service` and `shipyard dev services` (client/dev.ts calls these): onboard a
// service into the RUNNING local stack (`npm start -- --local-cluster`):
//   1. its namespace in the local cluster (kubeconfig from the stack's stack.json)
//   2. its entry in <dataDir>/demo/services.json (the stack reads it at start; the runner every tick)
//   3. its job in the stack's Prometheus config, then POST /-/reload (never a restart)
// Every step is idempotent: adding a service again updates it.
import { apiRequest } from './cluster.js';
import { readJson, readServices, runnerStateFile, servicesFile, targetsFile, upsertService, normalizeService } from './dev-services.js';
import { prometheusConfigFile, reloadPrometheus, withServiceJobs, writePrometheusConfig } from './prometheus-config.js';
import { alive, readStackState, stackFile } from './stack-state.js';
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/**
 * The local cluster of the running stack: { kubeconfig, prometheusUrl }. Throws a message that
 * says what to start when the stack is down or runs without --local-cluster.
 */
export function localStack(dataDir) {
  const state = readStackState(dataDir);
  if (!state || !alive(state.pid)) {
    throw new Error(`the local stack is not running (no live ${stackFile(dataDir)}); start it: npm start -- --local-cluster${process.env.SHIPYARD_DATA_DIR ? '' : ' (or set SHIPYARD_DATA_DIR to its data dir)'}`);
  }
  if (!state.localCluster?.kubeconfig) {
    throw new Error(`the local stack (pid ${state.pid}) runs without a local cluster; restart it with: npm start -- --local-cluster`);
  }
  return state.localCluster;
}

async function clusterReady(kubeconfig) {
  try {
    const res = await apiRequest(kubeconfig, 'GET', '/readyz', { timeoutMs: 5000 });
    if (res.status === 200) return;
    throw new Error(`HTTP ${res.status} ${String(typeof res.body === 'string' ? res.body : JSON.stringify(res.body)).slice(0, 200)}`);
  } catch (err) {
    throw new Error(`the local cluster is not answering (kubeconfig ${kubeconfig}): ${err.message}; is the stack still starting? (npm start -- --local-cluster)`);
  }
}

/** Creates the namespace unless it exists; returns whether this call created it. */
async function ensureNamespace(kubeconfig, name) {
  const body = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'shipyard-dev' } } };
  const res = await apiRequest(kubeconfig, 'POST', '/api/v1/namespaces', { body });
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating namespace ${name} failed: HTTP ${res.status} ${res.body?.message ?? ''}`);
  const check = await apiRequest(kubeconfig, 'GET', `/api/v1/namespaces/${name}`);
  if (check.status !== 200) throw new Error(`namespace ${name} is not there after creating it: HTTP ${check.status}`);
  if (check.body.status?.phase === 'Terminating') throw new Error(`namespace ${name} is being deleted; wait until it is gone and add the service again`);
  return res.status === 201;
}

/**
 * Registers (or updates) a service in the running local stack. Returns what was done:
 * { service, previous, namespace: { name, created }, prometheus: { url, config, jobs }, targets }.
 */
export async function addService(dataDir, options) {
  const service = normalizeService(options);
  const { kubeconfig, prometheusUrl } = localStack(dataDir);
  // Refuse a name the demo's own jobs use before anything changes.
  const configFile = prometheusConfigFile(dataDir);
  if (existsSync(configFile)) withServiceJobs(parseYaml(readFileSync(configFile, 'utf8')) ?? {}, dataDir, [service]);
  await clusterReady(kubeconfig);
  const created = await ensureNamespace(kubeconfig, service.namespace);
  const { service: saved, services, previous } = upsertService(dataDir, service);
  writePrometheusConfig(dataDir, services);
  const jobs = await reloadPrometheus(prometheusUrl, services.map((s) => s.name));
  return {
    service: saved,
    previous,
    servicesFile: servicesFile(dataDir),
    namespace: { name: saved.namespace, created },
    prometheus: { url: prometheusUrl, config: configFile, jobs },
    targets: targetsFile(dataDir, saved.name),
  };
}

/**
 * The registered services, each with the processes the local runner says it runs for it (only
 * those whose pid is alive) and whether a stack is running.
 */
export function listServices(dataDir) {
  const services = readServices(dataDir);
  const state = readStackState(dataDir);
  const running = Boolean(state && alive(state.pid));
  const runner = running ? readJson(runnerStateFile(dataDir), { processes: [] }) : { processes: [] };
  return {
    stackRunning: running,
    servicesFile: servicesFile(dataDir),
    services: services.map((s) => ({
      ...s,
      targets: targetsFile(dataDir, s.name),
      processes: (runner.processes ?? []).filter((p) => p.service === s.name && alive(p.pid)),
    })),
  };
}
