// docker-compose.yml cannot run here (no Docker engine), so check its structure: every referenced
// service exists, workers point at the Temporal service, their entries exist, and the search
// attribute setup registers exactly Shipyard's attributes. Its Temporal server must be the one the
// real-server test tier runs: the version scripts/tools.js pins, the configuration file
// (deploy/temporal/config.yaml) and the schema steps of scripts/temporal-cluster.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_REGISTRATION } from '../../workflows/search-attributes.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
const services: Record<string, any> = compose.services;
// scripts/ is plain JavaScript outside the compiled tree: import it by its path at run time.
const tools = (await import(new URL('../../../scripts/tools.js', import.meta.url).href)) as { TEMPORAL_SERVER: string };
const cluster = (await import(new URL('../../../scripts/temporal-cluster.js', import.meta.url).href)) as {
  SERVER_CONFIG: string;
  SCHEMA_STEPS: string[][];
  SCHEMAS: Record<string, string>;
};

test('every depends_on names a service of the file', () => {
  for (const [name, svc] of Object.entries(services)) {
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const dep of deps) assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
  }
});

test('Temporal runs on PostgreSQL and the UI is exposed', () => {
  assert.equal(services.temporal.environment.POSTGRES_SEEDS, 'postgresql');
  assert.ok(services.postgresql.image.startsWith('postgres:'));
  assert.ok(services['temporal-ui'].ports.some((p: string) => p.startsWith('8233:')));
});

test('the server and admin tools are the version scripts/tools.js pins for the real-server tier', () => {
  const version = tools.TEMPORAL_SERVER.replace(/^v/, '');
  assert.match(version, /^\d+\.\d+\.\d+$/);
  assert.equal(services.temporal.image, `temporalio/server:${version}`);
  assert.equal(services['temporal-schema'].image, `temporalio/admin-tools:${version}`);
  assert.equal(services['temporal-setup'].image, `temporalio/admin-tools:${version}`);
});

test('the server runs deploy/temporal/config.yaml, the file the tier starts temporal-server with, and sets only what it reads', () => {
  const env = services.temporal.environment;
  const mount = services.temporal.volumes.map((v: string) => v.split(':')).find(([, target]: string[]) => target === env.TEMPORAL_SERVER_CONFIG_FILE_PATH);
  assert.ok(mount, 'the config file is mounted where TEMPORAL_SERVER_CONFIG_FILE_PATH points');
  assert.equal(resolve(root, mount[0]), cluster.SERVER_CONFIG);
  const config = readFileSync(cluster.SERVER_CONFIG, 'utf8');
  assert.match(config.slice(0, 1024), /# enable-template/, 'the server renders it as a template only with this marker in its first 1 KiB');
  const read = new Set([...config.matchAll(/\(env "(\w+)"\)/g)].map((m) => m[1]));
  const serverLevel = ['TEMPORAL_SERVER_CONFIG_FILE_PATH', 'TEMPORAL_ALLOW_NO_AUTH']; // read by temporal-server itself
  for (const name of Object.keys(env)) assert.ok(serverLevel.includes(name) || read.has(name), `docker-compose sets ${name}, which config.yaml does not read`);
  assert.equal(services.temporal.depends_on['temporal-schema'].condition, 'service_completed_successfully');
});

test('the schema service runs the tier\'s schema steps for both databases', () => {
  const command = String(services['temporal-schema'].command);
  const steps = command
    .split(';')
    .map((s) => s.replace(/\|\| true/, '').trim())
    .filter((s) => s.startsWith('temporal-sql-tool'))
    .map((s) => s.split(/\s+/).slice(1));
  const expected = Object.entries(cluster.SCHEMAS).flatMap(([db, schema]) =>
    cluster.SCHEMA_STEPS.map((step) => ['--db', db, ...step.map((a) => (a === '<schema>' ? schema : a))]),
  );
  assert.deepEqual(steps, expected);
  assert.equal(services['temporal-schema'].environment.SQL_PLUGIN, 'postgres12');
  assert.equal(services['temporal-schema'].environment.SQL_HOST, 'postgresql');
});

test('each worker role points at the Temporal service and runs an entry that exists', () => {
  const roles = { 'shipyard-orchestrator': 'orchestrator', 'shipyard-build': 'build', 'shipyard-deploy': 'deploy' };
  for (const [svcName, role] of Object.entries(roles)) {
    const svc = services[svcName];
    assert.ok(svc, `${svcName} missing`);
    const [host] = String(svc.environment.TEMPORAL_ADDRESS).split(':');
    assert.ok(services[host], `${svcName} TEMPORAL_ADDRESS host ${host} is not a service`);
    assert.deepEqual(svc.command, [`dist/workers/${role}.js`]);
    assert.ok(existsSync(join(root, 'workers', `${role}.ts`)), `workers/${role}.ts missing`);
    assert.ok(existsSync(join(root, 'dist', 'workers', `${role}.js`)), `dist/workers/${role}.js missing`);
  }
  const built = Object.values(services).find((s: any) => s.build);
  assert.ok(existsSync(join(root, built.build.dockerfile)), 'the Dockerfile the workers build from exists');
});

test('the setup service registers exactly Shipyard\'s search attributes with their types', () => {
  const command = String(services['temporal-setup'].command);
  const registered = [...command.matchAll(/--name (\w+) --type (\w+)/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(Object.fromEntries(registered), SEARCH_ATTRIBUTE_REGISTRATION);
});
