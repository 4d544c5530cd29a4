// Starting and stopping the Temporal dev server (temporal server start-dev) with Shipyard's search
// attributes registered. Used by `npm start`, the test runner and the benches.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { toolPath } from './tools.js';
import { SEARCH_ATTRIBUTE_REGISTRATION } from '../dist/workflows/search-attributes.js';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function portInUse(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, host, () => srv.close(() => resolve(false)));
  });
}

/**
 * Starts `temporal server start-dev`. Options: port, uiPort (0 = headless), dbFile (omit for
 * in-memory), logFile, namespaces, codecEndpoint (the UI's remote payload codec). Resolves once the frontend answers and the search attributes exist.
 */
export async function startDevServer(opts = {}) {
  // A port found free can be taken before the server binds it (an outgoing connection's ephemeral
  // port, on a busy machine): without a port of the caller's, try again on another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (opts.port || attempt >= 3 || !err.exitedDuringStart) throw err;
    }
  }
}

async function startOnce(opts) {
  const temporal = await toolPath('temporal');
  const port = opts.port ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  // The UI decrypts payloads through this endpoint (the gateway's /codec, config/payload-codec.ts).
  if (opts.uiPort && opts.codecEndpoint) args.push('--ui-codec-endpoint', opts.codecEndpoint);
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  for (const ns of opts.namespaces ?? []) args.push('--namespace', ns);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_REGISTRATION)) args.push('--search-attribute', `${name}=${type}`);

  let stdio = ['ignore', 'inherit', 'inherit'];
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    const fd = openSync(opts.logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  const child = spawn(temporal, args, { stdio, detached: false });
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const address = `127.0.0.1:${port}`;
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 120_000);
  for (;;) {
    if (exited) {
      throw Object.assign(new Error(`temporal dev server exited during start (${JSON.stringify(exited)}); see ${opts.logFile ?? 'its output'}`), { exitedDuringStart: true });
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not come up on ${address} within ${(deadline - started) / 1000}s`);
    }
    if (await ready(address)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    address,
    port,
    uiPort: opts.uiPort,
    process: child,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}

async function ready(address) {
  let connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    const have = Object.keys(res.customAttributes ?? {});
    return Object.keys(SEARCH_ATTRIBUTE_REGISTRATION).every((name) => have.includes(name));
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
