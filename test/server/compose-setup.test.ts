// docker-compose.yml's own setup commands, run here against the real server instead of in containers
// (no Docker engine): the temporal-schema service's script on the tier's PostgreSQL (twice: it must
// be safe to run again), temporal-server on the result with deploy/temporal/config.yaml, then the
// temporal-setup service's script with the temporal CLI (twice). The namespace and Shipyard's search
// attributes must then be there, with their types.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_REGISTRATION } from '../../workflows/search-attributes.js';
import { freshDatabases, startOwnServer, tierPostgres, type OwnServer } from '../helpers/real-server.js';
import { eventually } from '../helpers/temporal.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const services = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }).services;
const { IndexedValueType } = proto.temporal.api.enums.v1;

let server: OwnServer | undefined;
after(async () => {
  await server?.stop();
});

/** Runs a compose service's `sh -c` script here with its environment, plus overrides. */
async function runService(name: string, script: string, env: Record<string, string>) {
  assert.deepEqual(services[name].entrypoint, ['/bin/sh', '-c']);
  return run('sh', ['-c', script], { env: { ...process.env, ...services[name].environment, ...env }, timeout: 180_000 });
}

describe('docker-compose setup scripts against temporal-server + PostgreSQL', () => {
  test('temporal-schema sets up both databases, and again without harm; temporal-setup registers the namespace and search attributes, and again', async () => {
    const pg = tierPostgres();
    const dbs = freshDatabases();
    // The compose databases are temporal / temporal_visibility; here fresh names on the tier's PostgreSQL.
    const schemaScript = String(services['temporal-schema'].command)
      .replace(/--db temporal_visibility\b/g, `--db ${dbs.visibilityDatabase}`)
      .replace(/--db temporal\b/g, `--db ${dbs.database}`);
    assert.ok(schemaScript.includes(dbs.visibilityDatabase) && schemaScript.includes(`--db ${dbs.database} `));
    const pgEnv = { SQL_HOST: pg.host, SQL_PORT: String(pg.port), SQL_USER: pg.user, SQL_PASSWORD: pg.password };
    await runService('temporal-schema', schemaScript, pgEnv);
    await runService('temporal-schema', schemaScript, pgEnv); // create-database fails (|| true), the rest are no-ops

    server = await startOwnServer({ databases: dbs, register: false });
    const setupScript = String(services['temporal-setup'].command);
    await runService('temporal-setup', setupScript, { TEMPORAL_ADDRESS: server.address });
    await runService('temporal-setup', setupScript, { TEMPORAL_ADDRESS: server.address });

    const connection = await Connection.connect({ address: server.address });
    try {
      // The script ends once the frontend takes queries (and starts) naming the attributes: no retry here.
      const query = Object.entries(SEARCH_ATTRIBUTE_REGISTRATION)
        .map(([name, type]) => (type === 'Int' ? `${name} = 0` : `${name} = 'probe'`))
        .join(' OR ');
      const count = await connection.workflowService.countWorkflowExecutions({ namespace: 'default', query });
      assert.equal(Number(count.count), 0);
      const ns = await connection.workflowService.describeNamespace({ namespace: 'default' });
      assert.equal(ns.namespaceInfo?.name, 'default');
      // The frontend's namespace cache catches up with a new namespace within seconds.
      const listed = await eventually(() => connection.operatorService.listSearchAttributes({ namespace: 'default' }), 60_000, 'search attributes listed');
      const custom = Object.fromEntries(
        Object.entries(listed.customAttributes ?? {})
          .filter(([name]) => name.startsWith('Shipyard'))
          .map(([name, type]) => [name, type === IndexedValueType.INDEXED_VALUE_TYPE_INT ? 'Int' : type === IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD ? 'Keyword' : String(type)]),
      );
      assert.deepEqual(custom, SEARCH_ATTRIBUTE_REGISTRATION);
    } finally {
      await connection.close();
    }
  });
});
