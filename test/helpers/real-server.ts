// The `server` tier: a real Temporal cluster (temporal-server on PostgreSQL) that scripts/run-tests.js
// starts with scripts/temporal-cluster.js, and extra servers on the same PostgreSQL for tests that
// SIGKILL and restart one.
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

interface ClusterScript {
  setupTemporalSchema(pg: object, dbs: { database: string; visibilityDatabase: string }): Promise<void>;
  startTemporalServer(pg: object, opts: { database: string; visibilityDatabase: string; logFile: string }): Promise<OwnServer>;
  registerNamespace(address: string): Promise<void>;
}

/**
 * A temporal-server of this test's own, on the tier's PostgreSQL with fresh databases (so killing it
 * disturbs no other test): schema, server, namespace and search attributes as the tier's.
 */
export async function startOwnServer(): Promise<OwnServer> {
  const [host, port] = (process.env.SHIPYARD_SERVER_POSTGRES ?? '').split(':');
  if (!port) throw new Error('SHIPYARD_SERVER_POSTGRES is not set: run the server tier with scripts/run-tests.js');
  // scripts/ is plain JavaScript outside the compiled tree: import it by its path at run time.
  const script = (await import(new URL('../../../scripts/temporal-cluster.js', import.meta.url).href)) as ClusterScript;
  const pg = { host, port: Number(port), user: 'postgres', password: '', dir: process.env.SHIPYARD_SERVER_POSTGRES_DIR };
  const id = randomBytes(3).toString('hex');
  const dbs = { database: `temporal_${id}`, visibilityDatabase: `temporal_${id}_visibility` };
  await script.setupTemporalSchema(pg, dbs);
  const logFile = fileURLToPath(new URL('../../../.data/test-temporal-server-own.log', import.meta.url));
  const server = await script.startTemporalServer(pg, { ...dbs, logFile });
  try {
    await script.registerNamespace(server.address);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
