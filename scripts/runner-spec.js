// What the local runner (scripts/local-runner.js) makes of a Deployment: pure functions, no I/O.
//   - which container runs, with which ports (the one named `metrics` is scraped, the one named
//     `http` gets the traffic)
//   - its environment, with every value that carries a declared containerPort (`8080`, `:8080`,
//     `host:8080`) pointed at the local port allocated for it (12-factor services take their
//     listen addresses from env vars the chart sets)
//   - its command line (Kubernetes rules: command replaces the image's Entrypoint, args its Cmd)
//   - the Prometheus target labels: namespace, deployment, service and every pod-template label
import { createHash } from 'node:crypto';

/** A pod label as a Prometheus label name: `app.kubernetes.io/name` -> `app_kubernetes_io_name`. */
export function promLabelName(key) {
  let name = String(key).replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(name)) name = `_${name}`;
  return name;
}

// Set by Prometheus itself, or by the runner; pod labels never override them.
const RESERVED = new Set(['job', 'instance', 'namespace', 'deployment', 'service']);

/** The labels of a process's scrape target. */
export function targetLabels({ namespace, deployment, service, podLabels = {} }) {
  const labels = {};
  for (const [k, v] of Object.entries(podLabels)) {
    const name = promLabelName(k);
    if (name.startsWith('__') || RESERVED.has(name)) continue;
    labels[name] = String(v);
  }
  return { ...labels, namespace, deployment, service };
}

/**
 * The runnable view of a Deployment for a registered service, or undefined when it has no
 * container. `replicas` is spec.replicas (Kubernetes' default 1 when unset).
 */
export function deploymentSpec(deployment, service) {
  const template = deployment.spec?.template ?? {};
  const container = template.spec?.containers?.[0];
  if (!container) return undefined;
  const ports = (container.ports ?? []).filter((p) => Number.isInteger(p.containerPort)).map((p) => ({ name: p.name, containerPort: p.containerPort }));
  const metrics = ports.find((p) => p.name === 'metrics') ?? ports.find((p) => p.containerPort === service.metricsPort);
  const http = ports.find((p) => p.name === 'http') ?? ports.find((p) => p !== metrics);
  // What a restart depends on; labels are not in it (they only change the scrape target).
  const hash = createHash('sha256')
    .update(JSON.stringify({ image: container.image, command: container.command, args: container.args, env: container.env, ports, workingDir: container.workingDir }))
    .digest('hex')
    .slice(0, 16);
  return {
    key: `${deployment.metadata.namespace}/${deployment.metadata.name}`,
    namespace: deployment.metadata.namespace,
    deployment: deployment.metadata.name,
    service: service.name,
    replicas: deployment.spec?.replicas ?? 1,
    container,
    image: container.image,
    ports,
    metricsPort: metrics?.containerPort,
    httpPort: http?.containerPort,
    podLabels: template.metadata?.labels ?? {},
    hash,
  };
}

/**
 * The value with a declared containerPort replaced by its local port: `8080` -> `51234`,
 * `:8080` -> `127.0.0.1:51234`, `host:8080` -> `host:51234`. Other values are returned unchanged.
 */
export function rewritePortValue(value, localPorts) {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(value);
  if (!m) return value;
  const local = localPorts.get(Number(m[2]));
  if (local === undefined) return value;
  if (m[1] === undefined) return String(local);
  return `${m[1] === '' ? '127.0.0.1' : m[1]}:${local}`;
}

/**
 * The process environment: the image's Env, then the container's env (literal values and the
 * pod's own name/namespace from fieldRef) with ports rewritten. Returns { env, skipped } where
 * skipped names env vars whose source the runner cannot resolve (secrets, config maps).
 */
export function processEnv({ imageEnv = [], containerEnv = [], localPorts, podName, namespace }) {
  const env = {};
  for (const kv of imageEnv) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const skipped = [];
  const fields = { 'metadata.name': podName, 'metadata.namespace': namespace, 'status.podIP': '127.0.0.1', 'spec.nodeName': 'localhost' };
  for (const e of containerEnv) {
    if (e.value !== undefined) env[e.name] = rewritePortValue(expand(e.value, env), localPorts);
    else if (e.valueFrom?.fieldRef && fields[e.valueFrom.fieldRef.fieldPath] !== undefined) env[e.name] = fields[e.valueFrom.fieldRef.fieldPath];
    else if (e.valueFrom) skipped.push(e.name);
    else env[e.name] = '';
  }
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  env.HOSTNAME = podName;
  return { env, skipped };
}

/** Kubernetes' $(VAR) expansion of earlier variables ($$ escapes). */
function expand(value, env) {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name) => (all === '$$' ? '$' : name in env ? env[name] : all));
}

/** The command line: container command/args over the image's Entrypoint/Cmd, as Kubernetes does. */
export function commandLine(container, imageConfig = {}) {
  const entrypoint = container.command?.length ? container.command : imageConfig.Entrypoint ?? [];
  const args = container.args?.length ? container.args : container.command?.length ? [] : imageConfig.Cmd ?? [];
  return [...entrypoint, ...args];
}
