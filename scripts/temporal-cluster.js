// A real Temporal cluster on this machine: PostgreSQL (Debian's package) on loopback with a
// temporary data directory, the server's own schema set up with temporal-sql-tool, and
// temporal-server (all services in one process) started from deploy/temporal/config.yaml, the same
// configuration docker-compose.yml mounts. Used by the `server` test tier (scripts/run-tests.js) and
// by tests that SIGKILL and restart a server on the same database and ports.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { freePort, portInUse } from './dev-server.js';
import { run, toolPath } from './tools.js';
import { SEARCH_ATTRIBUTE_REGISTRATION } from '../dist/workflows/search-attributes.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The server configuration shared with docker-compose.yml. */
export const SERVER_CONFIG = join(root, 'deploy', 'temporal', 'config.yaml');
const { IndexedValueType } = proto.temporal.api.enums.v1;

const log = (m) => console.log(`[temporal cluster] ${m}`);
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** initdb/pg_ctl/postgres: Debian keeps them in /usr/lib/postgresql/<major>/bin (newest major wins). */
export function postgresBinDir() {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))) : [];
  majors.sort((a, b) => Number(b) - Number(a));
  if (majors.length) return join(base, majors[0], 'bin');
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return dirname(which.stdout.trim());
  throw new Error('PostgreSQL server binaries (initdb, postgres) not found: install Debian\'s postgresql (node scripts/tools.js ensure postgresql)');
}

/**
 * PostgreSQL refuses to run as root: as root, run it as the `postgres` user Debian's package creates
 * (spawn with its uid/gid); otherwise as ourselves.
 */
function postgresUser() {
  if (process.getuid?.() !== 0) return {};
  const id = (flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root and there is no `postgres` user to run PostgreSQL as (Debian\'s postgresql package creates it)');
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

/**
 * Starts PostgreSQL on 127.0.0.1:<free port> with a fresh data directory (superuser `postgres`,
 * trust authentication on loopback, durability off: it is thrown away). stop() removes it all.
 */
export async function startPostgres(opts = {}) {
  const started = Date.now();
  const bin = postgresBinDir();
  const user = postgresUser();
  const base = mkdtempSync(join(opts.parentDir ?? tmpdir(), 'shipyard-pg-'));
  const data = join(base, 'data');
  if (user.uid !== undefined) chownSync(base, user.uid, user.gid);
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], { ...user, env, cwd: base });
  const port = opts.port ?? (await freePort());
  const logFd = openSync(join(base, 'postgres.log'), 'a');
  if (user.uid !== undefined) chownSync(join(base, 'postgres.log'), user.uid, user.gid);
  const args = ['-D', data, '-k', base, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'];
  const child = spawn(join(bin, 'postgres'), args, { ...user, env, cwd: base, stdio: ['ignore', logFd, logFd] });
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`postgres exited during start (${JSON.stringify(exited)}); see ${join(base, 'postgres.log')}`);
    const ready = spawnSync(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], { timeout: 5000 });
    if (ready.status === 0) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`postgres did not accept connections on 127.0.0.1:${port}; see ${join(base, 'postgres.log')}`);
    }
    await sleep(200);
  }
  log(`PostgreSQL (${bin}) on 127.0.0.1:${port}, data in ${data}${user.uid !== undefined ? ', as user postgres' : ''} (${seconds(started)})`);
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: '',
    dir: base,
    async stop() {
      if (!exited) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT'); // fast shutdown
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(timer);
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/**
 * temporal-sql-tool steps that create a database and bring it to the server's schema: the tool embeds
 * the schema of its server version (--schema-name), so no schema files are needed. docker-compose.yml's
 * temporal-schema service runs the same steps (test/unit/compose.test.ts compares them).
 */
export const SCHEMA_STEPS = [
  ['create-database'],
  ['setup-schema', '-v', '0.0'],
  ['update-schema', '--schema-name', '<schema>'],
];
/** Database -> embedded schema name. */
export const SCHEMAS = { temporal: 'postgresql/v12/temporal', temporal_visibility: 'postgresql/v12/visibility' };

/** Creates the two databases of one Temporal cluster and sets up the server's schema in them. */
export async function setupTemporalSchema(pg, { database = 'temporal', visibilityDatabase = 'temporal_visibility' } = {}) {
  const started = Date.now();
  const sqlTool = await toolPath('temporal-server', 'temporal-sql-tool');
  const conn = ['--plugin', 'postgres12', '--ep', pg.host, '-p', String(pg.port), '-u', pg.user, ...(pg.password ? ['--pw', pg.password] : [])];
  const one = async (db, schemaName) => {
    for (const step of SCHEMA_STEPS) await run(sqlTool, [...conn, '--db', db, ...step.map((a) => (a === '<schema>' ? schemaName : a))]);
  };
  await Promise.all([one(database, SCHEMAS.temporal), one(visibilityDatabase, SCHEMAS.temporal_visibility)]);
  log(`schema of ${database} and ${visibilityDatabase} set up with temporal-sql-tool (${seconds(started)})`);
}

/** A free loopback port in 20000-32767. */
async function freeLowPort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12768);
    if (!(await portInUse(port))) return port;
  }
}

/** The frontend answers and the namespace is known to it. */
async function frontendReady(address, namespace) {
  let connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.getSystemInfo({});
    if (namespace) await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/**
 * Registers the namespace (idempotent) and Shipyard's search attributes through the operator API,
 * and waits until the frontend lists them.
 */
export async function registerNamespace(address, namespace = 'default', timeoutMs = 120_000) {
  const started = Date.now();
  const connection = await Connection.connect({ address });
  const deadline = Date.now() + timeoutMs;
  let lastError;
  const retry = async (what, fn) => {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (err?.code === 6) return undefined; // ALREADY_EXISTS
        lastError = err;
        if (Date.now() > deadline) throw new Error(`${what} on ${address} failed: ${lastError?.message ?? lastError}`);
        await sleep(500);
      }
    }
  };
  try {
    await retry(`registering namespace ${namespace}`, () =>
      connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: 7 * 24 * 3600 } }),
    );
    await retry(`describing namespace ${namespace}`, () => connection.workflowService.describeNamespace({ namespace }));
    const searchAttributes = Object.fromEntries(
      Object.entries(SEARCH_ATTRIBUTE_REGISTRATION).map(([name, type]) => [name, type === 'Int' ? IndexedValueType.INDEXED_VALUE_TYPE_INT : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    );
    const missing = async () => {
      const res = await connection.operatorService.listSearchAttributes({ namespace });
      const have = Object.keys(res.customAttributes ?? {});
      return Object.keys(searchAttributes).filter((n) => !have.includes(n));
    };
    await retry('registering search attributes', async () => {
      const todo = await missing();
      if (todo.length) await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(todo.map((n) => [n, searchAttributes[n]])) });
      const still = await missing();
      if (still.length) throw new Error(`search attributes not listed yet: ${still.join(', ')}`);
    });
    // Listed is not yet usable: the frontend checks starts and queries against its namespace cache,
    // refreshed every few seconds. A visibility query naming every attribute passes once it knows them.
    const query = Object.entries(SEARCH_ATTRIBUTE_REGISTRATION)
      .map(([name, type]) => (type === 'Int' ? `${name} = 0` : `${name} = 'probe'`))
      .join(' OR ');
    await retry('using the search attributes in a query', () => connection.workflowService.countWorkflowExecutions({ namespace, query }));
  } finally {
    await connection.close();
  }
  log(`namespace ${namespace} with ${Object.keys(SEARCH_ATTRIBUTE_REGISTRATION).length} Shipyard search attributes on ${address} (${seconds(started)})`);
}

/**
 * Starts temporal-server on free loopback ports against `pg` (databases already set up). The handle
 * can kill (SIGKILL by default) and restart the server on the same database and ports.
 */
export async function startTemporalServer(pg, opts = {}) {
  const server = await toolPath('temporal-server', 'temporal-server');
  const names = ['FRONTEND_GRPC_PORT', 'FRONTEND_HTTP_PORT', 'FRONTEND_MEMBERSHIP_PORT', 'HISTORY_GRPC_PORT', 'HISTORY_MEMBERSHIP_PORT', 'MATCHING_GRPC_PORT', 'MATCHING_MEMBERSHIP_PORT', 'WORKER_GRPC_PORT', 'WORKER_MEMBERSHIP_PORT'];
  const ports = {};
  for (const name of names) {
    let port;
    // Below Linux's ephemeral range (where freePort() draws from): the SQL stores keep a membership
    // port in a smallint column (< 32768), and after a kill no outgoing connection can take a port
    // the restarted server needs again.
    do port = await freeLowPort();
    while (Object.values(ports).includes(String(port)));
    ports[name] = String(port);
  }
  const env = {
    ...process.env,
    ...ports,
    BIND_ON_IP: '127.0.0.1',
    POSTGRES_SEEDS: pg.host,
    DB_PORT: String(pg.port),
    POSTGRES_USER: pg.user,
    POSTGRES_PWD: pg.password,
    DBNAME: opts.database ?? 'temporal',
    VISIBILITY_DBNAME: opts.visibilityDatabase ?? 'temporal_visibility',
    LOG_LEVEL: opts.logLevel ?? 'warn',
    TEMPORAL_ALLOW_NO_AUTH: 'true', // loopback only; as docker-compose.yml
  };
  const address = `127.0.0.1:${ports.FRONTEND_GRPC_PORT}`;
  const logFile = opts.logFile ?? join(pg.dir, `temporal-server-${ports.FRONTEND_GRPC_PORT}.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  let child;
  let exited = null;

  const launch = async (namespace) => {
    const started = Date.now();
    const fd = openSync(logFile, 'a');
    exited = null;
    child = spawn(server, ['--config-file', SERVER_CONFIG, 'start'], { env, stdio: ['ignore', fd, fd] });
    const self = child;
    self.on('exit', (code, signal) => {
      if (child === self) exited = { code, signal };
    });
    const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
    for (;;) {
      if (exited) throw new Error(`temporal-server exited during start (${JSON.stringify(exited)}); see ${logFile}`);
      if (await frontendReady(address, namespace)) break;
      if (Date.now() > deadline) {
        self.kill('SIGKILL');
        throw new Error(`temporal-server did not answer on ${address}; see ${logFile}`);
      }
      await sleep(250);
    }
    log(`temporal-server (pid ${self.pid}) on ${address}, databases ${env.DBNAME}/${env.VISIBILITY_DBNAME} (${seconds(started)})`);
  };

  const stopChild = async (signal) => {
    if (!child || exited) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await done;
    clearTimeout(timer);
  };

  await launch();
  return {
    address,
    ports,
    logFile,
    get pid() {
      return child?.pid;
    },
    /** Kills the server process (SIGKILL: no graceful shutdown) and waits for it to be gone. */
    async kill(signal = 'SIGKILL') {
      await stopChild(signal);
    },
    /** Starts the server again on the same database and ports; resolves once `namespace` answers. */
    async restart(namespace = 'default') {
      await stopChild('SIGKILL');
      await launch(namespace);
    },
    async stop() {
      await stopChild('SIGTERM');
    },
  };
}

/**
 * The whole cluster: PostgreSQL, schema, server, namespace `default` with Shipyard's search
 * attributes. stop() ends the server and PostgreSQL and removes the data.
 */
export async function startTemporalCluster(opts = {}) {
  const started = Date.now();
  const pg = await startPostgres(opts);
  try {
    await setupTemporalSchema(pg);
    const server = await startTemporalServer(pg, { logFile: opts.logFile });
    try {
      await registerNamespace(server.address);
    } catch (err) {
      await server.stop();
      throw err;
    }
    log(`ready on ${server.address} (${seconds(started)})`);
    return {
      address: server.address,
      namespace: 'default',
      postgres: pg,
      server,
      async stop() {
        await server.stop();
        await pg.stop();
      },
    };
  } catch (err) {
    await pg.stop();
    throw err;
  }
}

// `node scripts/temporal-cluster.js`: run one until Ctrl-C (to poke at it with the temporal CLI).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cluster = await startTemporalCluster();
  log(`TEMPORAL_ADDRESS=${cluster.address}; Ctrl-C stops it`);
  const stop = async () => {
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
