#!/usr/bin/env node
// A local Kubernetes control plane for cluster tests: etcd, kube-apiserver, kube-controller-manager
// and kube-scheduler built from their Go modules (scripts/tools.js), started by kwokctl with the
// binary runtime, plus kwok-managed fake nodes whose pods turn Ready without a container runtime.
// Every listener is on 127.0.0.1; all state lives under one directory.
//
//   node scripts/cluster.js up [--name N] [--dir D] [--nodes 2]   start (or reuse) a cluster
//   node scripts/cluster.js down [--name N] [--dir D]             delete it; safe to repeat
//
// From code: `const c = await startCluster({ name, dir }); ...; await c.stop();` (c.pause() stops the
// processes but keeps the cluster's state: the next startCluster with the same name and dir resumes it).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ensureTool, TOOLS } from './tools.js';

const DEFAULT_NAME = 'shipyard';

function log(msg) {
  process.stderr.write(`[shipyard cluster] ${msg}\n`);
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Runs fn, logging how long the phase took. */
async function phase(label, fn) {
  const started = Date.now();
  log(`${label}...`);
  const result = await fn();
  log(`${label}: done in ${seconds(Date.now() - started)}`);
  return result;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Where a cluster keeps its state when no dir is given (the same for `up` and `down`). */
export function defaultDir(name = DEFAULT_NAME) {
  return join(tmpdir(), `shipyard-cluster-${name}`);
}

function layout(name, dir) {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new Error(`cluster name '${name}' must be a DNS label`);
  const root = resolve(dir ?? defaultDir(name));
  const kwokWorkdir = join(root, 'kwok'); // KWOK_WORKDIR: kwokctl's config, clusters and download cache
  return {
    root,
    kwokWorkdir,
    clusterDir: join(kwokWorkdir, 'clusters', name),
    kwokctlConfig: join(root, 'kwokctl.yaml'),
    kubeconfig: join(root, 'kubeconfig'),
  };
}

function runKwokctl(kwokctl, args, env, { stream = true } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(kwokctl, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (d) => {
      output += d;
      if (stream) for (const line of String(d).split('\n')) if (line.trim()) log(`  kwokctl: ${readable(line.trim())}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolvePromise(output)
        : reject(new Error(`kwokctl ${args.join(' ')} exited ${code}\n${output.slice(-4000)}`)),
    );
  });
}

/** kwokctl logs JSON lines when not on a terminal; keep the message, the error and the elapsed time. */
function readable(line) {
  try {
    const { level, msg, err, elapsed } = JSON.parse(line);
    return `${level === 'INFO' ? '' : `${level} `}${msg}${err ? `: ${err}` : ''}${elapsed?.human ? ` (${elapsed.human})` : ''}`;
  } catch {
    return line;
  }
}

/**
 * The environment kwokctl runs in: all its state under the cluster dir, and our kubectl first on
 * PATH (kwokctl shells out to `kubectl get --raw /version` while starting and would otherwise try
 * to download one).
 */
function kwokctlEnv(l, kubectl) {
  const env = { ...process.env, KWOK_WORKDIR: l.kwokWorkdir };
  for (const key of Object.keys(env)) if (key.startsWith('KWOK_') && key !== 'KWOK_WORKDIR') delete env[key];
  if (kubectl) {
    env.PATH = `${dirname(kubectl)}:${env.PATH ?? ''}`;
    env.KWOK_KUBECTL_BINARY = kubectl;
  }
  return env;
}

/** Whether port is free on 127.0.0.1 and on the wildcard address (what kwokctl checks too). */
function portFree(port) {
  const tryListen = (host) =>
    new Promise((resolvePromise) => {
      const srv = createServer();
      srv.once('error', () => resolvePromise(false));
      srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolvePromise(true)));
    });
  return tryListen('127.0.0.1').then((ok) => ok && tryListen('0.0.0.0'));
}

/**
 * Ports for the cluster's listeners. kwokctl's own choice counts down from 32765 and only avoids
 * clusters in the same KWOK_WORKDIR, so two clusters created at once get the same ports; random
 * free ports below the ephemeral range (32768+) make that practically impossible.
 */
async function pickPorts(names) {
  const ports = {};
  const taken = new Set();
  for (const name of names) {
    for (let attempt = 0; ; attempt++) {
      const port = 20000 + Math.floor(Math.random() * 12000);
      if (!taken.has(port) && (await portFree(port))) {
        ports[name] = port;
        taken.add(port);
        break;
      }
      if (attempt > 100) throw new Error('no free port found in 20000-31999');
    }
  }
  return ports;
}

/** Reads a kubeconfig (current context) into what an HTTPS request needs. */
export function readKubeconfig(path) {
  const kc = parseYaml(readFileSync(path, 'utf8'));
  const ctxName = kc['current-context'];
  const ctx = kc.contexts.find((c) => c.name === ctxName)?.context ?? kc.contexts[0].context;
  const cluster = kc.clusters.find((c) => c.name === ctx.cluster).cluster;
  const user = kc.users.find((u) => u.name === ctx.user).user;
  const pem = (data, file) => (data ? Buffer.from(data, 'base64') : file ? readFileSync(file) : undefined);
  return {
    server: cluster.server,
    ca: pem(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: pem(user['client-certificate-data'], user['client-certificate']),
    key: pem(user['client-key-data'], user['client-key']),
  };
}

/**
 * One request to the API server with the kubeconfig's client certificate.
 * Returns { status, body } (body parsed as JSON when it is JSON).
 */
export function apiRequest(kubeconfig, method, path, { body, contentType = 'application/json', timeoutMs = 10_000 } = {}) {
  const kc = typeof kubeconfig === 'string' ? readKubeconfig(kubeconfig) : kubeconfig;
  const url = new URL(path, kc.server);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method,
        ca: kc.ca,
        cert: kc.cert,
        key: kc.key,
        timeout: timeoutMs,
        headers: {
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain text (e.g. /readyz)
          }
          resolvePromise({ status: res.statusCode, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Polls check() until it returns true; any other value (or a throw) is the reason, kept for the timeout error. */
async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const res = await check();
      if (res === true) return;
      last = res || last;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds(timeoutMs)} waiting for ${what}: ${last}`);
    await sleep(250);
  }
}

/** Writes a self-contained kubeconfig (certificates embedded) for the cluster kwokctl made. */
function writeKubeconfig(l, name) {
  const source = join(l.clusterDir, 'kubeconfig.yaml');
  const kc = readKubeconfig(source);
  const ctx = `kwok-${name}`;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: ctx, cluster: { server: kc.server, 'certificate-authority-data': kc.ca.toString('base64') } }],
    users: [
      {
        name: ctx,
        user: { 'client-certificate-data': kc.cert.toString('base64'), 'client-key-data': kc.key.toString('base64') },
      },
    ],
    contexts: [{ name: ctx, context: { cluster: ctx, user: ctx } }],
    'current-context': ctx,
    preferences: {},
  };
  writeFileSync(l.kubeconfig, stringifyYaml(doc), { mode: 0o600 });
  return kc;
}

async function healthy(kubeconfig) {
  try {
    const res = await apiRequest(kubeconfig, 'GET', '/readyz', { timeoutMs: 2000 });
    return res.status === 200 && res.body === 'ok';
  } catch {
    return false;
  }
}

/**
 * Starts a cluster (or reuses a healthy one of the same name and dir) and returns
 * { name, dir, kubeconfig, apiServer, stop() } once the API answers, `nodes` fake nodes are Ready
 * and the default service account exists.
 */
export async function startCluster({ name = DEFAULT_NAME, dir, nodes = 2, timeoutMs = 180_000 } = {}) {
  const started = Date.now();
  const l = layout(name, dir);
  const handle = (apiServer) => ({
    name,
    dir: l.root,
    kubeconfig: l.kubeconfig,
    apiServer,
    stop: () => stopCluster({ name, dir: l.root }),
    pause: () => pauseCluster({ name, dir: l.root }),
  });

  // Build (first run only) one tool at a time: each build uses every core.
  const bins = await phase('tools', async () => {
    const paths = {};
    for (const tool of ['kubernetes', 'etcd', 'kwok', 'kubectl']) Object.assign(paths, await ensureTool(tool));
    return paths;
  });
  const env = kwokctlEnv(l, bins.kubectl);

  if (existsSync(l.clusterDir)) {
    if (existsSync(l.kubeconfig) && (await healthy(l.kubeconfig))) {
      log(`cluster '${name}' is already running (${l.root}); reusing it`);
      await phase(`waiting for ${nodes} Ready nodes`, () => ensureNodes(l, name, bins.kwokctl, env, nodes, timeoutMs));
      return handle(readKubeconfig(l.kubeconfig).server);
    }
    // A cluster paused by an earlier run (kwokctl stop cluster): start its processes again on the
    // same etcd data. If that fails (a port taken meanwhile, a broken state), start from scratch.
    if (existsSync(l.kubeconfig)) {
      try {
        await phase(`kwokctl start cluster ${name} (resuming its state)`, () =>
          runKwokctl(bins.kwokctl, ['start', 'cluster', `--name=${name}`, `--timeout=${Math.ceil(timeoutMs / 1000)}s`], env),
        );
        const kc = readKubeconfig(l.kubeconfig);
        await waitFor('/readyz', 60_000, async () => (await healthy(kc)) || 'not ready');
        await phase(`waiting for ${nodes} Ready nodes`, () => ensureNodes(l, name, bins.kwokctl, env, nodes, timeoutMs));
        log(`cluster '${name}' resumed in ${seconds(Date.now() - started)}`);
        return handle(kc.server);
      } catch (err) {
        log(`resuming cluster '${name}' failed (${err.message.split('\n')[0]})`);
      }
    }
    log(`cluster '${name}' in ${l.root} is left over from an earlier run; deleting it first`);
    await stopCluster({ name, dir: l.root });
  }

  mkdirSync(l.kwokWorkdir, { recursive: true });
  const ports = await pickPorts([
    'kubeApiserverPort',
    'etcdPort',
    'etcdPeerPort',
    'kubeControllerManagerPort',
    'kubeSchedulerPort',
    'kwokControllerPort',
  ]);
  // bindAddress and etcdPeerPort have no command-line flags; kwokctl binds every component to
  // 0.0.0.0 by default.
  writeFileSync(
    l.kwokctlConfig,
    stringifyYaml({
      apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
      kind: 'KwokctlConfiguration',
      options: { bindAddress: '127.0.0.1', kubeVersion: TOOLS.kubernetes.version, ...ports },
    }),
  );

  try {
    await phase(`kwokctl create cluster ${name}`, () =>
      runKwokctl(
        bins.kwokctl,
        [
          'create',
          'cluster',
          `--config=${l.kwokctlConfig}`,
          `--name=${name}`,
          '--runtime=binary',
          `--kube-apiserver-binary=${bins['kube-apiserver']}`,
          `--kube-controller-manager-binary=${bins['kube-controller-manager']}`,
          `--kube-scheduler-binary=${bins['kube-scheduler']}`,
          `--etcd-binary=${bins.etcd}`,
          `--kwok-controller-binary=${bins.kwok}`,
          // Keep the user's ~/.kube/config untouched; we write <dir>/kubeconfig ourselves.
          '--kubeconfig=',
          '--quiet-pull',
          `--timeout=${Math.ceil(timeoutMs / 1000)}s`,
        ],
        env,
      ),
    );
    const kc = writeKubeconfig(l, name);
    await phase(`waiting for the API server at ${kc.server}`, () =>
      waitFor('/readyz', timeoutMs, async () => (await healthy(kc)) || 'not ready'),
    );
    await phase(`${nodes} fake nodes Ready`, () => ensureNodes(l, name, bins.kwokctl, env, nodes, timeoutMs));
    await phase('default service account', () =>
      waitFor('serviceaccount default/default', timeoutMs, async () => {
        const res = await apiRequest(kc, 'GET', '/api/v1/namespaces/default/serviceaccounts/default');
        return res.status === 200 || `HTTP ${res.status}`;
      }),
    );
    log(`cluster '${name}' is up in ${seconds(Date.now() - started)}; kubeconfig ${l.kubeconfig}`);
    return handle(kc.server);
  } catch (err) {
    log(`starting cluster '${name}' failed; cleaning up`);
    err.message += componentLogTails(l);
    await stopCluster({ name, dir: l.root }).catch((e) => log(`cleanup failed: ${e.message}`));
    throw err;
  }
}

/** The last lines of each component's log (kwokctl keeps them in <cluster>/logs), for an error. */
function componentLogTails(l, lines = 8) {
  const dir = join(l.clusterDir, 'logs');
  if (!existsSync(dir)) return '';
  let out = '';
  for (const file of readdirSync(dir).sort()) {
    const text = readFileSync(join(dir, file), 'utf8').trimEnd();
    const tail = text.split('\n').slice(-lines).map((line) => (line.length > 400 ? `${line.slice(0, 400)}...` : line));
    if (text) out += `\n--- ${file} (last ${lines} lines)\n${tail.join('\n')}`;
  }
  return out;
}

/** Creates the kwok nodes if fewer exist, then waits until `count` nodes are Ready. */
async function ensureNodes(l, name, kwokctl, env, count, timeoutMs) {
  const list = async () => (await apiRequest(l.kubeconfig, 'GET', '/api/v1/nodes')).body.items ?? [];
  if ((await list()).length < count) {
    await runKwokctl(kwokctl, ['scale', 'node', `--name=${name}`, `--replicas=${count}`], env, { stream: false });
  }
  await waitFor(`${count} Ready nodes`, timeoutMs, async () => {
    const ready = (await list()).filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    return ready.length >= count || `${ready.length}/${count} Ready`;
  });
}

/** Processes whose command line mentions dir (the cluster's components all do). */
function processesUnder(dir) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(dir)) pids.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return pids;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends SIGTERM to the processes, then SIGKILL to those still running after 10 s. */
async function endProcesses(pids) {
  let leftovers = pids;
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while ((leftovers = leftovers.filter(alive)).length > 0 && Date.now() < deadline) await sleep(200);
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Stops the cluster's processes (`kwokctl stop cluster`) but keeps its state (etcd data, certificates,
 * kubeconfig), so startCluster resumes it. Safe to call when it is stopped or gone already.
 */
export async function pauseCluster({ name = DEFAULT_NAME, dir } = {}) {
  const started = Date.now();
  const l = layout(name, dir);
  if (!existsSync(l.clusterDir)) return;
  const { kwokctl } = await ensureTool('kwok');
  await runKwokctl(kwokctl, ['stop', 'cluster', `--name=${name}`], kwokctlEnv(l), { stream: false }).catch(
    (err) => log(`kwokctl stop failed (${err.message.split('\n')[0]}); ending the processes directly`),
  );
  const leftovers = processesUnder(`${l.clusterDir}/`);
  if (leftovers.length > 0) {
    log(`ending leftover processes ${leftovers.join(' ')}`);
    await endProcesses(leftovers);
  }
  log(`cluster '${name}' is stopped, state kept in ${l.root} (${seconds(Date.now() - started)})`);
}

/**
 * Deletes the cluster (`kwokctl delete cluster`), then ends any of its processes still running and
 * removes its state and kubeconfig. Safe to call when the cluster is already gone.
 */
export async function stopCluster({ name = DEFAULT_NAME, dir } = {}) {
  const started = Date.now();
  const l = layout(name, dir);
  if (existsSync(l.clusterDir)) {
    const { kwokctl } = await ensureTool('kwok');
    // `--kubeconfig=` is refused here ("empty path"); name kwokctl's own copy so ~/.kube/config is left alone.
    const args = ['delete', 'cluster', `--name=${name}`, `--kubeconfig=${join(l.clusterDir, 'kubeconfig.yaml')}`];
    await runKwokctl(kwokctl, args, kwokctlEnv(l)).catch(
      (err) => log(`kwokctl delete failed (${err.message.split('\n')[0]}); ending the processes directly`),
    );
  }
  const leftovers = processesUnder(`${l.clusterDir}/`);
  if (leftovers.length > 0) {
    log(`ending leftover processes ${leftovers.join(' ')}`);
    await endProcesses(leftovers);
  }
  rmSync(l.clusterDir, { recursive: true, force: true });
  rmSync(l.kubeconfig, { force: true });
  log(`cluster '${name}' is down (${seconds(Date.now() - started)})`);
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const m = argv[i].match(/^--(name|dir|nodes)(?:=(.*))?$/);
    if (!m) throw new Error(`unknown argument '${argv[i]}'`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${m[1]} needs a value`);
    opts[m[1]] = m[1] === 'nodes' ? Number(value) : value;
  }
  return opts;
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  const opts = parseArgs(rest);
  if (cmd === 'up') {
    const cluster = await startCluster(opts);
    console.log(cluster.kubeconfig);
    console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
    return;
  }
  if (cmd === 'down') {
    await stopCluster(opts);
    return;
  }
  throw new Error(`usage: cluster.js up|down [--name N] [--dir D] [--nodes N]`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    log(`error: ${err.message}`);
    process.exit(1);
  });
}
