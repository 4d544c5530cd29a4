#!/usr/bin/env node
// `npm start`: the embedded Shipyard stack on one machine, a development environment.
//   - Temporal dev server + UI (SQLite under .data/, so releases survive a restart), search attributes registered
//   - the all-in-one worker (orchestrator, build and deploy roles) and the webhook gateway
//   - with --local-cluster: the demo's outside world (scripts/demo-infra.js) and the local runner
//     (scripts/local-runner.js), which runs the Deployments of services added with `shipyard dev add-service`
// With TEMPORAL_ADDRESS set, no dev server is started: the worker joins that cluster instead.
// A process that dies is restarted with backoff (scripts/supervise.js); nothing else stops.
// Ctrl-C stops the processes and keeps state (dev server DB, local cluster, registry, Prometheus data);
// `npm run dev:down` deletes it. Writes .data/env.sh (for a shell) and .data/stack.json (pids).
//   SHIPYARD_LOG_FORMAT  text (default here: readable, one `[worker]`/`[gateway]` prefix a line) or json
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { startDevServer, portInUse } from './dev-server.js';
import { supervise } from './supervise.js';
import { relayOutput } from './log-lines.js';
import { cachedToolPathEnv } from './tools.js';
import { alive, readStackState, stackFile, writeEnvFile, writeStackState } from './stack-state.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = process.env.SHIPYARD_DATA_DIR || join(root, '.data');
const port = Number(process.env.SHIPYARD_TEMPORAL_PORT || 7233);
const uiPort = Number(process.env.SHIPYARD_UI_PORT || 8233);
const gatewayPort = process.env.SHIPYARD_GATEWAY_PORT || '8088';
// Payload encryption (config/payload-codec.ts): with keys, the UI decrypts through the gateway's /codec.
const codecKeys = Boolean(process.env.SHIPYARD_CODEC_KEYS || process.env.SHIPYARD_CODEC_KEY);
const logFormat = process.env.SHIPYARD_LOG_FORMAT === 'json' ? 'json' : 'text';
const log = (m, { loud = false } = {}) => (loud ? console.error(`[shipyard] !!! ${m}`) : console.log(`[shipyard] ${m}`));

const children = new Map(); // name -> ChildProcess currently running
const supervisors = [];
const state = { pid: process.pid, startedAt: new Date().toISOString(), dataDir, processes: {} };
let stopping = false;
let server;
let demoInfra;
let demoInfraStarting; // the promise of demoInfra while it starts (a Ctrl-C then waits for it, to stop it)
// --local-cluster (or SHIPYARD_LOCAL_CLUSTER=1): also bring up what the demo releases into.
const localCluster = process.argv.includes('--local-cluster') || process.env.SHIPYARD_LOCAL_CLUSTER === '1';

/** <dataDir>/bin/shipyard -> this checkout's CLI, so a shell that sources env.sh has `shipyard`. */
function shipyardBinDir() {
  const dir = join(dataDir, 'bin');
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, 'shipyard'), { force: true });
  symlinkSync(join(root, 'bin', 'shipyard.js'), join(dir, 'shipyard'));
  return dir;
}

function recordPid(name, pid, extra = {}) {
  const prev = state.processes[name];
  state.processes[name] = { ...prev, ...extra, pid, since: new Date().toISOString(), restarts: prev ? prev.restarts + 1 : 0 };
  writeStackState(dataDir, state);
}

async function main() {
  const previous = readStackState(dataDir);
  if (previous && previous.pid !== process.pid && alive(previous.pid)) {
    throw new Error(`a stack is already running from ${dataDir} (pid ${previous.pid}); stop it first (Ctrl-C there, or kill ${previous.pid})`);
  }
  const external = process.env.TEMPORAL_ADDRESS;
  const env = { ...process.env, SHIPYARD_LOG_FORMAT: logFormat };
  let uiUrl = process.env.SHIPYARD_UI_URL;
  if (external) {
    log(`using the Temporal cluster at ${external} (namespace ${process.env.TEMPORAL_NAMESPACE || 'default'}); no dev server started`);
    log('make sure Shipyard search attributes are registered there (README: "Point Shipyard at a real Temporal")');
    state.temporal = { address: external };
  } else {
    for (const p of [port, uiPort]) {
      if (await portInUse(p)) throw new Error(`port ${p} is in use (another npm start?). Set SHIPYARD_TEMPORAL_PORT / SHIPYARD_UI_PORT, or stop it.`);
    }
    await startTemporal();
    env.TEMPORAL_ADDRESS = server.address;
    uiUrl ??= `http://localhost:${uiPort}`;
    env.SHIPYARD_UI_URL = uiUrl;
    state.temporal = { address: server.address, uiUrl };
  }

  if (localCluster) {
    const { startDemoInfra } = await import('./demo-infra.js');
    demoInfraStarting = startDemoInfra(dataDir);
    demoInfra = await demoInfraStarting;
    Object.assign(env, demoInfra.env);
    // Read by `shipyard dev add-service` (scripts/dev-add-service.js) to reach this stack.
    state.localCluster = { kubeconfig: demoInfra.env.KUBECONFIG, prometheusUrl: demoInfra.env.PROMETHEUS_URL };
    writeStackState(dataDir, state);
  } else {
    log('no local cluster (start with `npm start -- --local-cluster` for the full demo): deploy stages need KUBECONFIG');
  }
  if (stopping) return;
  // The local runner: runs the released code of services added with `shipyard dev add-service`.
  if (demoInfra) startChild('runner', [join(root, 'scripts/local-runner.js')], { ...env, SHIPYARD_DATA_DIR: dataDir });
  startChild('worker', [join(root, 'dist/workers/all-in-one.js')], env);

  // The gateway: signed webhooks and chat approvals. Without a configured generic-webhook secret,
  // generate one for this machine so the curl recipe in README works out of the box.
  const secretFile = join(dataDir, 'webhook-secret');
  if (!process.env.SHIPYARD_WEBHOOK_SECRET && !existsSync(secretFile)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(secretFile, randomBytes(24).toString('hex'), { mode: 0o600 });
    log(`generated a generic-webhook secret in ${secretFile}`);
  }
  const webhookSecret = process.env.SHIPYARD_WEBHOOK_SECRET || readFileSync(secretFile, 'utf8').trim();
  // The dev server's UI cannot send a bearer token: without SHIPYARD_CODEC_TOKEN, the local gateway
  // decodes for callers on this machine (never in production mode).
  const codecEnv = codecKeys && !process.env.SHIPYARD_CODEC_TOKEN ? { SHIPYARD_CODEC_ANONYMOUS_LOOPBACK: '1' } : {};
  startChild('gateway', [join(root, 'dist/client/gateway/main.js')], { ...env, ...codecEnv, SHIPYARD_GATEWAY_PORT: gatewayPort, SHIPYARD_WEBHOOK_SECRET: webhookSecret });

  // For a shell: `shipyard` and the tools on PATH, and the addresses of this stack.
  const envFile = writeEnvFile(dataDir, {
    pathDirs: [shipyardBinDir(), ...cachedToolPathEnv('').split(':').filter(Boolean)],
    vars: {
      SHIPYARD_DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE,
      // The CLI needs the keys too (a path; an inline SHIPYARD_CODEC_KEY is not written to disk).
      SHIPYARD_CODEC_KEYS: process.env.SHIPYARD_CODEC_KEYS,
      SHIPYARD_UI_URL: uiUrl,
      KUBECONFIG: demoInfra?.env.KUBECONFIG,
      PROMETHEUS_URL: demoInfra?.env.PROMETHEUS_URL,
    },
  });

  console.log('');
  log('Shipyard is running.');
  if (uiUrl) log(`  Temporal UI:      ${uiUrl}  (releases are workflows; filter by ShipyardService, ShipyardStage, ...)`);
  log(codecKeys ? `  payloads:         encrypted; the UI decodes through http://127.0.0.1:${gatewayPort}/codec` : '  payloads:         not encrypted (set SHIPYARD_CODEC_KEY or SHIPYARD_CODEC_KEYS to turn it on)');
  log(`  dashboard:        http://127.0.0.1:${gatewayPort}/ui/`);
  log(`  webhook gateway:  http://127.0.0.1:${gatewayPort}/webhooks/{github,gitlab,generic}  (generic secret: ${process.env.SHIPYARD_WEBHOOK_SECRET ? '$SHIPYARD_WEBHOOK_SECRET' : secretFile})`);
  log(`  tools in a shell: source ${envFile}   (temporal, kubectl, helm, ...${demoInfra ? '; KUBECONFIG of the local cluster' : ''})`);
  log(`  start the demo:   npm run demo`);
  if (demoInfra) log(`  your own service: npx shipyard dev add-service NAME [--metrics-port N] (README: "Your own service in the local stack")`);
  log(`  or any release:   npx shipyard release start -f examples/release.yaml --commit <sha> --wait`);
  log(`  list releases:    npx shipyard list`);
  log(`  pids:             ${stackFile(dataDir)}`);
  log('  stop:             Ctrl-C (keeps state; `npm run dev:down` deletes it)');
}

/** The dev server, restarted on its SQLite file when it dies. The first start must succeed. */
async function startTemporal() {
  const dbFile = join(dataDir, 'temporal.db');
  const logFile = join(dataDir, 'temporal.log');
  const opts = { port, uiPort, dbFile, logFile, codecEndpoint: codecKeys ? `http://127.0.0.1:${gatewayPort}/codec` : undefined };
  log(`starting Temporal dev server on 127.0.0.1:${port}, state in ${dbFile}`);
  const started = Date.now();
  let first = await startDevServer(opts);
  log(`Temporal is up in ${((Date.now() - started) / 1000).toFixed(1)}s (log: ${logFile})`);
  const sup = supervise({
    name: 'Temporal dev server',
    log: (m) => log(`${m}. Workflows pause until it is back; their state is in ${dbFile} (log: ${logFile})`, { loud: true }),
    shouldRestart: () => !stopping,
    start: async () => {
      const s = first ?? (await startDevServer(opts));
      if (!first) log(`Temporal dev server is back on ${s.address}`);
      first = undefined;
      if (stopping) {
        await s.stop();
        throw new Error('stopping');
      }
      server = s;
      return { pid: s.process.pid, onExit: (cb) => onChildExit(s.process, cb) };
    },
    onStart: (pid) => {
      log(`Temporal dev server pid ${pid}`);
      recordPid('temporal', pid, { address: `127.0.0.1:${port}` });
    },
  });
  supervisors.push(sup);
  await sup.ready;
}

function startChild(name, args, env) {
  const sup = supervise({
    name,
    log,
    shouldRestart: () => !stopping,
    start: () => {
      const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.set(name, child);
      relayOutput(child, name, logFormat);
      return { pid: child.pid, onExit: (cb) => onChildExit(child, cb) };
    },
    onStart: (pid) => {
      log(`${name} started (pid ${pid})`);
      recordPid(name, pid);
    },
  });
  supervisors.push(sup);
}

// A Ctrl-C in the terminal reaches the children too: give our own SIGINT handler a moment to run
// first, so a child stopping for that reason is not reported (or restarted) as a crash.
function onChildExit(child, cb) {
  child.once('exit', (code, signal) => setTimeout(() => !stopping && cb(code, signal), 300));
}

function stopChild(c) {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', resolve);
    c.kill('SIGINT');
    setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
  });
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping (state is kept; `npm run dev:down` deletes it)...');
  for (const s of supervisors) s.stop();
  await Promise.all([...children.values()].map(stopChild));
  if (!demoInfra && demoInfraStarting) {
    // Stopped while the demo infra starts: let it finish (a failed start cleans up after itself),
    // then stop it, so no cluster or registry is left running without a stack.
    log('waiting for the local cluster and demo infra to finish starting, to stop them');
    demoInfra = await demoInfraStarting.catch(() => undefined);
  }
  if (demoInfra) await demoInfra.stop().catch((err) => log(`demo infra: ${err.message}`));
  if (server) await server.stop();
  if (readStackState(dataDir)?.pid === process.pid) rmSync(stackFile(dataDir), { force: true });
  log('stopped');
  process.exit(code);
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

main().catch((err) => {
  console.error(`[shipyard] ${err.message}`);
  shutdown(1);
});
