// The `server` tier: a real Temporal cluster (temporal-server on PostgreSQL) that scripts/run-tests.js
// starts with scripts/temporal-cluster.js, and extra servers on the same PostgreSQL for tests that
// SIGKILL and restart one or set one up themselves.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/**
 * Points this test process at the tier's real server: every tier runs in one `node --test` with one
 * environment, where TEMPORAL_ADDRESS is the dev server's; each test file has its own process, so a
 * server test switches it before connecting (test/helpers/temporal.ts reads it lazily).
 */
export function useRealServer(): string {
  const address = process.env.SHIPYARD_SERVER_TEMPORAL_ADDRESS;
  if (!address) throw new Error('SHIPYARD_SERVER_TEMPORAL_ADDRESS is not set: run the server tier with scripts/run-tests.js, which starts temporal-server on PostgreSQL');
  process.env.TEMPORAL_ADDRESS = address;
  return address;
}

export interface OwnServer {
  address: string;
  /** The server process's id (changes on restart). */
  readonly pid: number | undefined;
  /** SIGKILL: the process is gone with no graceful shutdown. */
  kill(): Promise<void>;
  /** A new server process on the same databases and ports, once namespace `default` answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TierPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  dir?: string;
}

export interface Databases {
  database: string;
  visibilityDatabase: string;
}

interface ClusterScript {
  setupTemporalSchema(pg: TierPostgres, dbs: Databases): Promise<void>;
  startTemporalServer(pg: TierPostgres, opts: Databases & { logFile: string }): Promise<OwnServer>;
  registerNamespace(address: string): Promise<void>;
}

/** The tier's PostgreSQL (superuser, trust authentication on loopback). */
export function tierPostgres(): TierPostgres {
  const [host, port] = (process.env.SHIPYARD_SERVER_POSTGRES ?? '').split(':');
  if (!port) throw new Error('SHIPYARD_SERVER_POSTGRES is not set: run the server tier with scripts/run-tests.js');
  return { host, port: Number(port), user: 'postgres', password: '', dir: process.env.SHIPYARD_SERVER_POSTGRES_DIR };
}

/** Fresh database names for one more cluster on the tier's PostgreSQL. */
export function freshDatabases(): Databases {
  const id = randomBytes(3).toString('hex');
  return { database: `temporal_${id}`, visibilityDatabase: `temporal_${id}_visibility` };
}

async function clusterScript(): Promise<ClusterScript> {
  // scripts/ is plain JavaScript outside the compiled tree: import it by its path at run time.
  return (await import(new URL('../../../scripts/temporal-cluster.js', import.meta.url).href)) as ClusterScript;
}

/**
 * A temporal-server of this test's own on the tier's PostgreSQL (so killing it disturbs no other
 * test). By default on fresh databases with the schema, namespace and search attributes as the
 * tier's; `{ databases, register: false }` starts it on databases the test set up itself, bare.
 */
export async function startOwnServer(opts: { databases?: Databases; register?: boolean } = {}): Promise<OwnServer> {
  const script = await clusterScript();
  const pg = tierPostgres();
  const dbs = opts.databases ?? freshDatabases();
  if (!opts.databases) await script.setupTemporalSchema(pg, dbs);
  const logFile = fileURLToPath(new URL('../../../.data/test-temporal-server-own.log', import.meta.url));
  const server = await script.startTemporalServer(pg, { ...dbs, logFile });
  if (opts.register === false) return server;
  try {
    await script.registerNamespace(server.address);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
