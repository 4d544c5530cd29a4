// Refused specs: an unknown field suggests the nearest known one, and every issue is reported at
// once in file order (line, then column) as file:line:col: path: message.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec, SpecError, type SpecIssue } from '../../spec/load.js';
import { ReleaseSpecSchema } from '../../spec/schema.js';
import { closest, editDistance, knownKeysAt } from '../../spec/suggest.js';

function refused(text: string): SpecError {
  try {
    parseSpec(text, 't.yaml');
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${err}`);
    return err;
  }
  assert.fail('spec was accepted');
}

const rows = (issues: SpecIssue[]) => issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);

describe('unknown fields suggest the nearest known one', () => {
  test('misspelled keys at several depths, each at its own line:col', () => {
    const err = refused(`service: payments-api
source: { repo: https://git.example.com/team/payments.git, goPackge: ./cmd/server }
enviroments: []
environments:
  - name: production
    deploy:
      helm:
        chart: ./charts/payments
        relase: payments
    canary:
      router:
        istio: { virtualService: payments, stableSubst: stable }
      workloads: { stable: payments, canary: payments-canary }
      steps: [ { setWeight: 10 } ]
`);
    assert.deepEqual(rows(err.issues), [
      '2:60 source.goPackge: unknown field; did you mean goPackage?',
      '3:1 enviroments: unknown field; did you mean environments?',
      '8:9 environments[0].deploy.helm.release: is required',
      '9:9 environments[0].deploy.helm.relase: unknown field; did you mean release?',
      '12:44 environments[0].canary.router.istio.stableSubst: unknown field; did you mean stableSubset?',
    ]);
    assert.equal(
      err.message,
      [
        'invalid release spec (5 issues):',
        '  t.yaml:2:60: source.goPackge: unknown field; did you mean goPackage?',
        '  t.yaml:3:1: enviroments: unknown field; did you mean environments?',
        '  t.yaml:8:9: environments[0].deploy.helm.release: is required',
        '  t.yaml:9:9: environments[0].deploy.helm.relase: unknown field; did you mean release?',
        '  t.yaml:12:44: environments[0].canary.router.istio.stableSubst: unknown field; did you mean stableSubset?',
      ].join('\n'),
    );
  });

  test('several unknown keys in one object each get their own suggestion (or none)', () => {
    const err = refused(`service: payments-api
source: { repo: r }
environments:
  - name: staging
    deploy:
      helm: { chart: ./c, release: payments, namepsace: prod, Timeout: 5m, zzzqqq: 1 }
`);
    assert.deepEqual(rows(err.issues), [
      '6:46 environments[0].deploy.helm.namepsace: unknown field; did you mean namespace?',
      '6:63 environments[0].deploy.helm.Timeout: unknown field; did you mean timeout?',
      '6:76 environments[0].deploy.helm.zzzqqq: unknown field',
    ]);
  });

  test('a key with no close match gets no suggestion; a present key is suggested only when no absent one is close', () => {
    const err = refused(`service: payments-api
source: { repo: r }
sv: x
environments:
  - name: staging
    deploy: { helm: { chart: ./c, release: payments, relase: other } }
    canary:
      router: { istio: { virtualService: vs } }
      workloads: { stable: a, canary: b }
      steps: [ { experiment: {} }, { pause: { durtion: 1m } } ]
      metrics:
        - { name: m, prometheus: { query: up }, thresholdRange: { min: 1, mix: 2 } }
`);
    assert.deepEqual(rows(err.issues), [
      '3:1 sv: unknown field',
      '6:54 environments[0].deploy.helm.relase: unknown field; did you mean release?',
      '10:16 environments[0].canary.steps[0]: a step has exactly one of setWeight, pause, analysis, approval, fault, judge (found none)',
      '10:18 environments[0].canary.steps[0].experiment: unknown field',
      '10:47 environments[0].canary.steps[1].pause.durtion: unknown field; did you mean duration?',
      // mix is one edit from min and from max: max, which the object lacks, is the likelier intent.
      '12:75 environments[0].canary.metrics[0].thresholdRange.mix: unknown field; did you mean max?',
    ]);
  });

  test('known keys are found through optional, default, pipe (transform), union, array and record', () => {
    assert.deepEqual(knownKeysAt(ReleaseSpecSchema, ['environments', 0, 'canary', 'steps', 3, 'pause']), ['duration']);
    assert.deepEqual(knownKeysAt(ReleaseSpecSchema, ['environments', 0, 'canary', 'steps', 0]), ['setWeight', 'pause', 'analysis', 'approval', 'fault', 'judge']);
    assert.deepEqual(knownKeysAt(ReleaseSpecSchema, ['policy', 'environments', 'prod']), ['allowedRefs', 'allowedTriggers', 'minApprovals']);
    assert.deepEqual(knownKeysAt(ReleaseSpecSchema, ['environments', 0, 'deploy', 'helm', 'imageValues']), ['repository', 'tag', 'digest']);
    assert.deepEqual(knownKeysAt(ReleaseSpecSchema, ['service']), []);
    assert.deepEqual(knownKeysAt(ReleaseSpecSchema, ['nope', 'deeper']), []);
  });

  test('edit distance and the closeness rule', () => {
    assert.equal(editDistance('relase', 'release'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(closest('NAMESPACE', ['name', 'namespace']), 'namespace');
    assert.equal(closest('to', ['on', 'from']), undefined, 'two edits on a two-letter key is a guess, not a typo');
    assert.equal(closest('tag', ['tab', 'tags']), 'tab', 'ties go to the first declared');
    assert.equal(closest('experiment', ['setWeight', 'pause', 'analysis', 'approval', 'fault']), undefined);
    assert.equal(closest('imagevals', ['imageValues']), 'imageValues');
    assert.equal(closest('imgvals', ['imageValues']), undefined);
  });
});

describe('issues come in file order', () => {
  test('schema order is not file order: the later field in the schema but earlier in the file comes first', () => {
    // zod checks service before environments; the file has environments first.
    const err = refused(`environments:
  - name: Staging!
    deploy: { helm: { chart: ./c, release: payments } }
source: { repo: r }
service: Bad_Name
`);
    assert.deepEqual(rows(err.issues).map((r) => r.split(' ')[0] + ' ' + r.split(' ')[1]), ['2:11 environments[0].name:', '5:10 service:']);
  });

  test('SpecError sorts what it is given by line, then column; positionless issues last, in their order', () => {
    const err = new SpecError('s.yaml', [
      { path: 'c', message: 'third', line: 9, column: 2 },
      { path: 'x', message: 'no position 1' },
      { path: 'b', message: 'second', line: 4, column: 7 },
      { path: 'a', message: 'first', line: 4, column: 3 },
      { path: 'y', message: 'no position 2' },
    ]);
    assert.deepEqual(err.issues.map((i) => i.message), ['first', 'second', 'third', 'no position 1', 'no position 2']);
    assert.deepEqual(err.message.split('\n').slice(1), [
      '  s.yaml:4:3: a: first',
      '  s.yaml:4:7: b: second',
      '  s.yaml:9:2: c: third',
      '  s.yaml: x: no position 1',
      '  s.yaml: y: no position 2',
    ]);
  });
});
