// The train spec (spec/train-schema.ts, spec/train-load.ts): services with release specs from files
// (relative to the train file) or inline, dependencies checked (unknown names, cycles), gates, and
// every issue named with its place, the services' own issues prefixed with the service.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainFile, parseTrainSpec, TrainSpecError } from '../../spec/train-load.js';
import { dependencyOrder, findCycle } from '../../spec/train-schema.js';
import { parseCommitArgs, trainId } from '../../client/train.js';
import { readFileSync } from 'node:fs';
import { TRAIN_JSON_SCHEMA_FILE, trainSpecJsonSchema } from '../../spec/write-json-schema.js';

const spec = (service: string) => `
    spec:
      service: ${service}
      source: { repo: https://git.example.com/team/${service}.git }
      environments:
        - name: staging
          deploy: { helm: { chart: oci://registry.local/charts/${service}, release: ${service} } }`;

function issues(text: string): string {
  try {
    parseTrainSpec(text, 'train.yaml');
  } catch (err) {
    assert.ok(err instanceof TrainSpecError, String(err));
    return err.message;
  }
  assert.fail('the train spec was accepted');
}

describe('train spec', () => {
  test('inline specs, defaults applied, dependency order', () => {
    const train = parseTrainSpec(`
name: shop
services:
  - name: db${spec('db')}
  - name: api
    dependsOn: [db]${spec('api')}
  - name: web
    dependsOn: [api, db]
    environments: [staging]${spec('web')}
gates:
  - after: api
    approval: { approvers: [alice] }
`);
    assert.equal(train.maxParallel, 2);
    assert.equal(train.rollback, 'train');
    assert.deepEqual(train.services.map((s) => [s.name, s.spec.service, s.dependsOn]), [['db', 'db', []], ['api', 'api', ['db']], ['web', 'web', ['api', 'db']]]);
    assert.equal(train.services[0].spec.rollback.scope, 'environment', 'the release spec got its defaults');
    assert.deepEqual(train.gates[0].approval, { approvers: ['alice'], required: 1, timeout: '24h', fourEyes: false });
    assert.deepEqual(dependencyOrder(train.services), ['db', 'api', 'web']);
  });

  test('a gate may ask for four eyes (the trigger may not approve); anything but a boolean is refused with its line', () => {
    const text = (fourEyes: string) => `
name: shop
services:
  - name: db${spec('db')}
gates:
  - after: db
    approval: { approvers: [alice, group:sre], required: 2, fourEyes: ${fourEyes} }
`;
    assert.deepEqual(parseTrainSpec(text('true'), 'train.yaml').gates[0].approval, { approvers: ['alice', 'group:sre'], required: 2, timeout: '24h', fourEyes: true });
    assert.match(issues(text('"yes"')), /train\.yaml:\d+:\d+: gates\[0\]\.approval\.fourEyes: /);
  });

  test('a cycle is refused and named', () => {
    const message = issues(`
name: shop
services:
  - name: a
    dependsOn: [c]${spec('a')}
  - name: b
    dependsOn: [a]${spec('b')}
  - name: c
    dependsOn: [b]${spec('c')}
`);
    assert.match(message, /^invalid train spec \(1 issue\)/);
    assert.match(message, /train\.yaml:4:3: services: dependency cycle: a -> c -> b -> a/);
    assert.deepEqual(findCycle([{ name: 'x', dependsOn: ['y'] }, { name: 'y', dependsOn: [] }]), undefined);
  });

  test('unknown dependsOn, duplicate names, self-dependency, unknown gate, unknown environment: each with its line', () => {
    const message = issues(`
name: shop
services:
  - name: a
    dependsOn: [nope]${spec('a')}
  - name: a${spec('a')}
  - name: b
    dependsOn: [b]${spec('b')}
gates:
  - after: ghost
`);
    assert.match(message, /train\.yaml:5:17: services\[0\]\.dependsOn\[0\]: unknown service 'nope'; the train has a, b/);
    assert.match(message, /train\.yaml:\d+:\d+: services\[1\]\.name: duplicate service 'a'/);
    assert.match(message, /services\[2\]\.dependsOn\[0\]: 'b' depends on itself/);
    assert.match(message, /gates\[0\]\.after: unknown service 'ghost'/);
    const envs = issues(`
name: shop
services:
  - name: a
    environments: [prod]${spec('a')}
`);
    assert.match(envs, /services\[0\] \(a\)\.environments: unknown environment\(s\) prod; the spec has staging/);
  });

  test("a service's own spec issues are prefixed with the service; an inline spec's carry their line in the train file", () => {
    const message = issues(`
name: shop
services:
  - name: a
    spec:
      service: a
      source: { repo: https://git.example.com/a.git }
      environments:
        - name: staging
          deploy: { helm: { chart: x, release: a, timeot: 1m } }
`);
    assert.match(message, /train\.yaml:10:\d+: services\[0\] \(a\)\.spec\.environments\[0\]\.deploy\.helm\.timeot: unknown field; did you mean timeout\?/);
    assert.match(issues(`name: shop\nservices:\n  - name: b${spec('a')}\n`), /services\[0\] \(b\)\.name: the spec releases service 'a'/);
  });

  test('spec files relative to the train file; their issues name the file, line and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'train-'));
    mkdirSync(join(dir, 'svc'));
    writeFileSync(join(dir, 'svc', 'a.yaml'), `service: a\nsource: { repo: https://git.example.com/a.git }\nenvironments:\n  - name: staging\n    deploy: { helm: { chart: oci://r/c, release: a } }\n`);
    writeFileSync(join(dir, 'svc', 'b.yaml'), `service: b\nsource: { repo: https://git.example.com/b.git }\nenvironments:\n  - name: staging\n    deploy: { helm: { chart: oci://r/c, release: b, timeout: soon } }\n`);
    writeFileSync(join(dir, 'train.yaml'), `name: shop\nservices:\n  - name: a\n    spec: svc/a.yaml\n  - name: b\n    spec: svc/b.yaml\n    dependsOn: [a]\nrollback: service\nmaxParallel: 1\n`);
    let err: unknown;
    try {
      loadTrainFile(join(dir, 'train.yaml'));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof TrainSpecError);
    assert.match(err.message, /train\.yaml:6:11: services\[1\] \(b\)\.spec: svc\/b\.yaml:5:\d+: environments\[0\]\.deploy\.helm\.timeout: must be a duration/);
    writeFileSync(join(dir, 'svc', 'b.yaml'), `service: b\nsource: { repo: https://git.example.com/b.git }\nenvironments:\n  - name: staging\n    deploy: { helm: { chart: oci://r/c, release: b } }\n`);
    const train = loadTrainFile(join(dir, 'train.yaml'));
    assert.deepEqual(train.services.map((s) => s.specFile), ['svc/a.yaml', 'svc/b.yaml']);
    assert.equal(train.rollback, 'service');
    assert.equal(train.maxParallel, 1);
  });

  test('commits: every service needs one; the train ID does not depend on their order', () => {
    const train = parseTrainSpec(`name: shop\nservices:\n  - name: a${spec('a')}\n  - name: b${spec('b')}\n`);
    assert.throws(() => parseCommitArgs(train, ['a=abc1234']), /no --commit for b: every service of train shop needs one/);
    assert.throws(() => parseCommitArgs(train, ['a=abc1234', 'b=abc1234', 'z=abc1234']), /--commit for z: not a service of train shop/);
    assert.deepEqual(parseCommitArgs(train, ['a=abc1234', 'b=def5678']), { a: 'abc1234', b: 'def5678' });
    const id = trainId('shop', { a: '1'.repeat(40), b: '2'.repeat(40) });
    assert.match(id, /^train\/shop\/[0-9a-f]{16}$/);
    assert.equal(trainId('shop', { b: '2'.repeat(40), a: '1'.repeat(40) }), id);
    assert.notEqual(trainId('shop', { a: '1'.repeat(40), b: '3'.repeat(40) }), id);
  });

  test('the committed JSON Schema (spec/train-spec.schema.json) is the current one', () => {
    const schema = JSON.parse(trainSpecJsonSchema());
    assert.deepEqual(schema.required, ['name', 'services']);
    assert.deepEqual(schema.properties.rollback.enum, ['train', 'service']);
    assert.equal(readFileSync(TRAIN_JSON_SCHEMA_FILE, 'utf8'), trainSpecJsonSchema(), 'regenerate: npm run build && node dist/spec/write-json-schema.js');
  });
});
