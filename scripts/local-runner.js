#!/usr/bin/env node
// The local runner: "pods that run" for the local stack. kwok marks pods Ready but never runs them,
// so for each service registered with `shipyard dev add-service` (<dataDir>/demo/services.json) this
// watches the Deployments in the service's namespace (every 2 s) and runs ONE local process per
// Deployment with replicas > 0: its first container's image, pulled from the registry and unpacked
// (scripts/image-cache.js), with the container's env, where values carrying a declared
// containerPort point at a free local port (scripts/runner-spec.js), so stable and canary never
// collide. A changed image (or command, env, ports) replaces the process; a deleted or scaled-to-0
// Deployment stops it; a process that dies is restarted with backoff (scripts/supervise.js).
// Prometheus finds the processes through file_sd files the runner rewrites
// (<dataDir>/demo/runner/targets/<service>.json), labelled with namespace, deployment, service and
// the pod-template labels; each process gets a GET every 100 ms on its http port so rates exist.
//
//   node scripts/local-runner.js      (KUBECONFIG and SHIPYARD_DATA_DIR from the environment;
//                                      scripts/start.js runs it with --local-cluster)
import { spawn } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { join, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiRequest } from './cluster.js';
import { readJson, readServices, runnerDir, runnerStateFile, targetsFile, writeAtomic } from './dev-services.js';
import { hostPlatform, pullImage } from './image-cache.js';
import { commandLine, deploymentSpec, processEnv, targetLabels } from './runner-spec.js';
import { supervise } from './supervise.js';
import { alive } from './stack-state.js';

const PULL_RETRY_MS = 30_000;
const STOP_GRACE_MS = 10_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}


/** Sends a signal to the process group a runner process leads (it was spawned detached). */
function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

async function listDeployments(kubeconfig, namespace) {
  const res = await apiRequest(kubeconfig, 'GET', `/apis/apps/v1/namespaces/${namespace}/deployments`);
  if (res.status !== 200) throw new Error(`HTTP ${res.status} ${res.body?.message ?? ''}`.trim());
  return res.body.items ?? [];
}

/**
 * Starts the runner; returns { stop(), processes(), tick() }. `log` receives one line per event
 * (`NS/DEPLOY: image X on :PORT (pid N)`, stops, pull failures, the processes' own output).
 */
export function startLocalRunner({ dataDir, kubeconfig, pollMs = 2000, trafficMs = 100, platform = hostPlatform(), env = process.env, log = (m) => console.log(m) }) {
  if (!kubeconfig) throw new Error('the local runner needs the kubeconfig of the local cluster (KUBECONFIG)');
  const imagesDir = join(runnerDir(dataDir), 'images');
  const procs = new Map(); // NS/DEPLOY -> the process the runner keeps running for it
  const portsByKey = new Map(); // NS/DEPLOY -> Map(containerPort -> local port), kept across replacements
  const failures = new Map(); // NS/DEPLOY -> { hash, retryAt, message } of a start that could not happen
  const notes = new Map(); // one-time messages (listing errors, unscraped processes), by topic
  const written = new Map(); // targets file -> the text last written
  let stopping = false;
  let timer;

  const noteOnce = (topic, message) => {
    if (notes.get(topic) === message) return;
    notes.set(topic, message);
    if (message) log(message);
  };

  const describe = (p) => ({
    service: p.service,
    namespace: p.namespace,
    deployment: p.deployment,
    image: p.image,
    digest: p.digest,
    pid: p.pid,
    ports: Object.fromEntries(p.localPorts),
    ...(p.metricsPort ? { metrics: `http://127.0.0.1:${p.localPorts.get(p.metricsPort)}${p.metricsPath}` } : {}),
    ...(p.httpPort ? { http: `http://127.0.0.1:${p.localPorts.get(p.httpPort)}` } : {}),
    labels: p.labels,
    since: p.since,
  });

  const writeState = () => {
    if (stopping) return;
    writeAtomic(runnerStateFile(dataDir), `${JSON.stringify({ runnerPid: process.pid, updatedAt: new Date().toISOString(), processes: [...procs.values()].filter((p) => p.pid).map(describe) }, null, 2)}\n`);
  };

  const writeTargets = (services) => {
    for (const s of services) {
      const groups = [...procs.values()]
        .filter((p) => p.service === s.name && p.metricsPort)
        .sort((a, b) => a.key.localeCompare(b.key))
        .map((p) => ({ targets: [`127.0.0.1:${p.localPorts.get(p.metricsPort)}`], labels: p.labels }));
      const file = targetsFile(dataDir, s.name);
      const text = `${JSON.stringify(groups, null, 2)}\n`;
      if (written.get(file) !== text || !existsSync(file)) {
        writeAtomic(file, text);
        written.set(file, text);
      }
    }
  };

  // Processes a runner that died without stopping them left behind (they hold ports): end them.
  for (const p of readJson(runnerStateFile(dataDir), { processes: [] }).processes ?? []) {
    if (!p.pid || !alive(p.pid)) continue;
    let exe = '';
    try {
      exe = readlinkSync(`/proc/${p.pid}/exe`);
    } catch {
      continue;
    }
    if (!exe.startsWith(`${imagesDir}/`)) continue;
    log(`${p.namespace}/${p.deployment}: ending pid ${p.pid} left by an earlier runner`);
    signalGroup(p.pid, 'SIGKILL');
  }

  async function stopProc(p, why) {
    p.stopped = true;
    p.sup?.stop();
    clearInterval(p.traffic);
    procs.delete(p.key);
    const child = p.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      signalGroup(child.pid, 'SIGTERM');
      const killer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(killer);
    }
    log(`${p.key}: stopped${p.pid ? ` (pid ${p.pid})` : ''}: ${why}`);
  }

  async function start(spec, service, pulled) {
    const localPorts = portsByKey.get(spec.key) ?? new Map();
    for (const { containerPort } of spec.ports) if (!localPorts.has(containerPort)) localPorts.set(containerPort, await freePort());
    portsByKey.set(spec.key, localPorts);
    const argv = commandLine(spec.container, pulled.config);
    if (!argv.length) throw new Error(`image ${spec.image} has no Entrypoint or Cmd and the container no command`);
    if (!isAbsolute(argv[0])) throw new Error(`command '${argv[0]}' is not an absolute path in the image (the runner does not search the image's PATH)`);
    const exe = join(pulled.rootfs, argv[0]);
    if (!existsSync(exe)) throw new Error(`${argv[0]} is not in image ${spec.image}`);
    const podName = `${spec.deployment}-local`;
    const { env: processEnvironment, skipped } = processEnv({ imageEnv: pulled.config.Env, containerEnv: spec.container.env, localPorts, podName, namespace: spec.namespace });
    if (skipped.length) log(`${spec.key}: env ${skipped.join(', ')} left unset (secrets and config maps are not resolved locally)`);
    const cwd = join(pulled.rootfs, spec.container.workingDir || pulled.config.WorkingDir || '/');
    const p = {
      ...spec,
      digest: pulled.digest,
      metricsPath: service.metricsPath || '/metrics',
      localPorts,
      labels: targetLabels({ namespace: spec.namespace, deployment: spec.deployment, service: service.name, podLabels: spec.podLabels }),
      since: new Date().toISOString(),
    };
    procs.set(spec.key, p);
    if (!p.metricsPort) noteOnce(`scrape:${spec.key}`, `${spec.key}: no containerPort named metrics${service.metricsPort ? ` or ${service.metricsPort}` : ' and no --metrics-port'}; its metrics are not scraped`);
    const portText = spec.ports.map((x) => `${x.name ?? x.containerPort}${x.name ? ` ${x.containerPort}` : ''}->:${localPorts.get(x.containerPort)}`).join(', ');
    p.sup = supervise({
      name: `${spec.key} (${spec.image})`,
      log: (m) => log(m),
      shouldRestart: () => !stopping && !p.stopped,
      start: () => {
        const child = spawn(exe, argv.slice(1), { argv0: argv[0], cwd, env: processEnvironment, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        child.on('error', () => undefined); // a failed exec shows as no pid below, or as the exit
        if (!child.pid) throw new Error(`could not execute ${argv[0]} from ${spec.image}`);
        p.child = child;
        for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => log(`[${spec.key}] ${line}`));
        return { pid: child.pid, onExit: (cb) => child.once('exit', (code, signal) => setTimeout(() => cb(code, signal), 100)) };
      },
      onStart: (pid) => {
        p.pid = pid;
        const port = spec.httpPort ? localPorts.get(spec.httpPort) : localPorts.values().next().value;
        log(`${spec.key}: image ${spec.image} on :${port ?? '-'} (pid ${pid})${portText ? `; ports ${portText}` : ''}`);
        writeState();
      },
    });
    if (spec.httpPort) {
      const url = `http://127.0.0.1:${localPorts.get(spec.httpPort)}${service.trafficPath || '/'}`;
      p.traffic = setInterval(() => {
        fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.arrayBuffer()).catch(() => undefined);
      }, trafficMs);
    }
  }

  /** Brings the process of one Deployment in line with its spec. */
  async function reconcile(spec, service) {
    const current = procs.get(spec.key);
    if (current && current.hash === spec.hash) {
      current.labels = targetLabels({ namespace: spec.namespace, deployment: spec.deployment, service: service.name, podLabels: spec.podLabels });
      return;
    }
    const failed = failures.get(spec.key);
    if (failed && failed.hash === spec.hash && Date.now() < failed.retryAt) return;
    let pulled;
    try {
      pulled = await pullImage(spec.image, { cacheDir: imagesDir, platform, env });
    } catch (err) {
      failures.set(spec.key, { hash: spec.hash, retryAt: Date.now() + PULL_RETRY_MS });
      noteOnce(`pull:${spec.key}`, `${spec.key}: cannot run image ${spec.image}: ${err.message}${current ? ` (pid ${current.pid} keeps running ${current.image})` : ''}; retrying every ${PULL_RETRY_MS / 1000}s`);
      return;
    }
    if (stopping) return;
    if (current) await stopProc(current, current.image === spec.image ? 'its container spec changed' : `replaced: image ${current.image} -> ${spec.image}`);
    try {
      await start(spec, service, pulled);
      failures.delete(spec.key);
      notes.delete(`pull:${spec.key}`);
    } catch (err) {
      procs.delete(spec.key);
      failures.set(spec.key, { hash: spec.hash, retryAt: Date.now() + PULL_RETRY_MS });
      noteOnce(`pull:${spec.key}`, `${spec.key}: cannot run image ${spec.image}: ${err.message}`);
    }
  }

  async function tick() {
    const services = readServices(dataDir);
    const wanted = new Set();
    const listed = new Set();
    for (const service of services) {
      let items;
      try {
        items = await listDeployments(kubeconfig, service.namespace);
        noteOnce(`list:${service.namespace}`, '');
      } catch (err) {
        noteOnce(`list:${service.namespace}`, `${service.namespace}: cannot list Deployments (${err.message}); processes keep running`);
        continue;
      }
      listed.add(service.name);
      for (const d of items) {
        const spec = deploymentSpec(d, service);
        if (!spec || spec.replicas < 1 || d.metadata.deletionTimestamp) continue;
        wanted.add(spec.key);
        if (stopping) return;
        await reconcile(spec, service);
      }
    }
    for (const p of [...procs.values()]) {
      const registered = services.some((s) => s.name === p.service);
      if (wanted.has(p.key) || (registered && !listed.has(p.service))) continue;
      await stopProc(p, registered ? 'its Deployment is gone or scaled to 0' : `service ${p.service} is no longer registered`);
      // A Deployment that comes back gets fresh ports (these may be someone else's by then).
      portsByKey.delete(p.key);
    }
    // Failures of Deployments that are gone are forgotten: one that comes back is tried (and reported) anew.
    for (const key of [...failures.keys()]) {
      if (wanted.has(key)) continue;
      failures.delete(key);
      notes.delete(`pull:${key}`);
    }
    if (stopping) return;
    writeTargets(services);
    writeState();
  }

  let running = Promise.resolve();
  const loop = () => {
    if (stopping) return;
    running = tick()
      .catch((err) => log(`tick failed: ${err.message}`))
      .finally(() => {
        if (!stopping) timer = setTimeout(loop, pollMs);
      });
  };
  loop();

  return {
    processes: () => [...procs.values()].filter((p) => p.pid).map(describe),
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await running;
      await Promise.all([...procs.values()].map((p) => stopProc(p, 'the runner is stopping')));
      const services = readServices(dataDir);
      for (const s of services) writeAtomic(targetsFile(dataDir, s.name), '[]\n');
      writeAtomic(runnerStateFile(dataDir), `${JSON.stringify({ runnerPid: null, updatedAt: new Date().toISOString(), processes: [] }, null, 2)}\n`);
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const runner = startLocalRunner({ dataDir: process.env.SHIPYARD_DATA_DIR || join(root, '.data'), kubeconfig: process.env.KUBECONFIG });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await runner.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
