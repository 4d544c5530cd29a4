// Services registered with the local stack (`shipyard dev add-service`), kept in
// <dataDir>/demo/services.json so they survive restarts of `npm start -- --local-cluster`:
//
//   { "services": [ { "name": "inventory", "namespace": "inventory", "metricsPort": 9102,
//                     "metricsPath": "/internal/metrics", "trafficPath": "/",
//                     "addedAt": "...", "updatedAt": "..." } ] }
//
// metricsPort is a containerPort of the service's Deployments (used when no port is named
// `metrics`); the local runner (scripts/local-runner.js) maps it to a local port per process.
// Each service has a Prometheus job reading <dataDir>/demo/runner/targets/<name>.json
// (file_sd, rewritten by the runner).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const demoDir = (dataDir) => join(dataDir, 'demo');
export const servicesFile = (dataDir) => join(demoDir(dataDir), 'services.json');
export const runnerDir = (dataDir) => join(demoDir(dataDir), 'runner');
export const targetsDir = (dataDir) => join(runnerDir(dataDir), 'targets');
export const targetsFile = (dataDir, name) => join(targetsDir(dataDir), `${name}.json`);
/** What the runner runs right now: pids, images, ports (scripts/local-runner.js writes it). */
export const runnerStateFile = (dataDir) => join(runnerDir(dataDir), 'processes.json');

/** Writes a file atomically (Prometheus' file_sd and concurrent readers never see half a file). */
export function writeAtomic(file, text) {
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function readJson(file, fallback) {
  if (!existsSync(file)) return fallback;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${err.message}); fix or delete it`);
  }
}

/** The registered services, in the order they were first added. */
export function readServices(dataDir) {
  const doc = readJson(servicesFile(dataDir), { services: [] });
  return Array.isArray(doc.services) ? doc.services : [];
}

/**
 * Checks and completes a service entry: name and namespace are DNS labels, the metrics port a
 * port number, the paths absolute. Throws an Error saying which option is wrong.
 */
export function normalizeService({ name, namespace, metricsPort, metricsPath, trafficPath }) {
  if (!name || !DNS_LABEL.test(name)) throw new Error(`service name '${name ?? ''}' must be a DNS label (lower-case letters, digits, '-')`);
  const ns = namespace || name;
  if (!DNS_LABEL.test(ns)) throw new Error(`--namespace '${ns}' must be a DNS label`);
  let port;
  if (metricsPort !== undefined && metricsPort !== null && metricsPort !== '') {
    port = Number(metricsPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--metrics-port '${metricsPort}' must be a port number (1-65535)`);
  }
  for (const [flag, p] of [['--metrics-path', metricsPath], ['--traffic-path', trafficPath]]) {
    if (p !== undefined && !String(p).startsWith('/')) throw new Error(`${flag} '${p}' must start with /`);
  }
  return { name, namespace: ns, ...(port ? { metricsPort: port } : {}), metricsPath: metricsPath || '/metrics', trafficPath: trafficPath || '/' };
}

/**
 * Adds a service to services.json, or updates it when a service of that name exists (idempotent).
 * Returns { service, services, previous } (previous: the entry before, if any).
 */
export function upsertService(dataDir, entry) {
  const service = normalizeService(entry);
  const services = readServices(dataDir);
  const taken = services.find((s) => s.name !== service.name && s.namespace === service.namespace);
  if (taken) throw new Error(`namespace ${service.namespace} already belongs to service ${taken.name}; pick another --namespace`);
  const i = services.findIndex((s) => s.name === service.name);
  const previous = i >= 0 ? services[i] : undefined;
  const now = new Date().toISOString();
  const next = { ...service, addedAt: previous?.addedAt ?? now, updatedAt: now };
  if (i >= 0) services[i] = next;
  else services.push(next);
  writeAtomic(servicesFile(dataDir), `${JSON.stringify({ services }, null, 2)}\n`);
  return { service: next, services, previous };
}
