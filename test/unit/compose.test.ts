// docker-compose.yml cannot run here (no Docker engine), so check its structure: every referenced
// service exists, workers point at the Temporal service, their entries exist, and the search
// attribute setup registers exactly Shipyard's attributes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_REGISTRATION } from '../../workflows/search-attributes.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
const services: Record<string, any> = compose.services;

test('every depends_on names a service of the file', () => {
  for (const [name, svc] of Object.entries(services)) {
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const dep of deps) assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
  }
});

test('Temporal runs on PostgreSQL and the UI is exposed', () => {
  assert.equal(services.temporal.environment.DB, 'postgres12');
  assert.equal(services.temporal.environment.POSTGRES_SEEDS, 'postgresql');
  assert.ok(services['temporal-ui'].ports.some((p: string) => p.startsWith('8233:')));
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
