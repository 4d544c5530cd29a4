#!/usr/bin/env node
// `npm start`: the embedded Shipyard stack on one machine.
//   - Temporal dev server + UI (SQLite under .data/, so releases survive a restart), search attributes registered
//   - the all-in-one worker (orchestrator, build and deploy roles)
// With TEMPORAL_ADDRESS set, no dev server is started: the worker joins that cluster instead.
// Ctrl-C stops everything.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { startDevServer, portInUse } from './dev-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = process.env.SHIPYARD_DATA_DIR || join(root, '.data');
const port = Number(process.env.SHIPYARD_TEMPORAL_PORT || 7233);
const uiPort = Number(process.env.SHIPYARD_UI_PORT || 8233);
const log = (m) => console.log(`[shipyard] ${m}`);

const children = [];
let stopping = false;
let server;
let demoInfra;
// --local-cluster (or SHIPYARD_LOCAL_CLUSTER=1): also bring up what the demo releases into.
const localCluster = process.argv.includes('--local-cluster') || process.env.SHIPYARD_LOCAL_CLUSTER === '1';

async function main() {
  const external = process.env.TEMPORAL_ADDRESS;
  const env = { ...process.env };
  let uiUrl = process.env.SHIPYARD_UI_URL;
  if (external) {
    log(`using the Temporal cluster at ${external} (namespace ${process.env.TEMPORAL_NAMESPACE || 'default'}); no dev server started`);
    log('make sure Shipyard search attributes are registered there (README: "Point Shipyard at a real Temporal")');
  } else {
    for (const p of [port, uiPort]) {
      if (await portInUse(p)) throw new Error(`port ${p} is in use (another npm start?). Set SHIPYARD_TEMPORAL_PORT / SHIPYARD_UI_PORT, or stop it.`);
    }
    const dbFile = join(dataDir, 'temporal.db');
    log(`starting Temporal dev server on 127.0.0.1:${port}, state in ${dbFile}`);
    const started = Date.now();
    server = await startDevServer({ port, uiPort, dbFile, logFile: join(dataDir, 'temporal.log') });
    log(`Temporal is up in ${((Date.now() - started) / 1000).toFixed(1)}s (log: ${join(dataDir, 'temporal.log')})`);
    env.TEMPORAL_ADDRESS = server.address;
    uiUrl ??= `http://localhost:${uiPort}`;
    env.SHIPYARD_UI_URL = uiUrl;
    server.process.on('exit', (code, signal) => {
      if (!stopping) {
        log(`Temporal dev server exited unexpectedly (${signal ?? code}); stopping`);
        shutdown(1);
      }
    });
  }

  if (localCluster) {
    const { startDemoInfra } = await import('./demo-infra.js');
    demoInfra = await startDemoInfra(dataDir);
    Object.assign(env, demoInfra.env);
  } else {
    log('no local cluster (start with `npm start -- --local-cluster` for the full demo): deploy stages need KUBECONFIG');
  }
  startChild('worker', [join(root, 'dist/workers/all-in-one.js')], env);

  // The gateway: signed webhooks and chat approvals. Without a configured generic-webhook secret,
  // generate one for this machine so the curl recipe in README works out of the box.
  const secretFile = join(dataDir, 'webhook-secret');
  if (!process.env.SHIPYARD_WEBHOOK_SECRET && !existsSync(secretFile)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(secretFile, randomBytes(24).toString('hex'), { mode: 0o600 });
    log(`generated a generic-webhook secret in ${secretFile}`);
  }
  const gatewayPort = process.env.SHIPYARD_GATEWAY_PORT || '8088';
  const webhookSecret = process.env.SHIPYARD_WEBHOOK_SECRET || readFileSync(secretFile, 'utf8').trim();
  startChild('gateway', [join(root, 'dist/client/gateway/main.js')], { ...env, SHIPYARD_GATEWAY_PORT: gatewayPort, SHIPYARD_WEBHOOK_SECRET: webhookSecret });

  console.log('');
  log('Shipyard is running.');
  if (uiUrl) log(`  Temporal UI:      ${uiUrl}  (releases are workflows; filter by ShipyardService, ShipyardStage, ...)`);
  log(`  webhook gateway:  http://127.0.0.1:${gatewayPort}/webhooks/{github,gitlab,generic}  (generic secret: ${process.env.SHIPYARD_WEBHOOK_SECRET ? '$SHIPYARD_WEBHOOK_SECRET' : secretFile})`);
  log(`  start the demo:   npm run demo`);
  log(`  or any release:   npx shipyard release start -f examples/release.yaml --commit <sha> --wait`);
  log(`  list releases:    npx shipyard list`);
  log('  stop:             Ctrl-C');
}

function startChild(name, args, env) {
  const child = spawn(process.execPath, args, { env, stdio: 'inherit' });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} exited unexpectedly (${signal ?? code}); stopping`);
      shutdown(1);
    }
  });
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping...');
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', resolve);
          c.kill('SIGINT');
          setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
  if (demoInfra) await demoInfra.stop().catch((err) => log(`demo infra: ${err.message}`));
  if (server) await server.stop();
  log('stopped');
  process.exit(code);
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

main().catch((err) => {
  console.error(`[shipyard] ${err.message}`);
  shutdown(1);
});
