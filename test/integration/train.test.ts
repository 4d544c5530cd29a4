// Release trains (workflows/train.ts) on the real dev server with MOCKED activities (FakeWorld, and
// the ledger-backed ones in a separate worker process for the crash case): dependency order and
// parallelism, rollback of the whole train in reverse order or of the failed service only, a gate
// between services, and a SIGKILLed worker mid-train. Each service deploys to its own environment
// (stg-<service>) so an injected failure and each compensation can be told apart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decideTrainGate, startTrain, trainStatus } from '../../client/train.js';
import { validateTrainSpec } from '../../spec/train-load.js';
import type { TrainSpec } from '../../spec/train-schema.js';
import { SA } from '../../workflows/search-attributes.js';
import type { TrainStatus } from '../../workflows/train-types.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { startCrashWorker } from '../helpers/crash-process.js';
import { readLedger } from '../helpers/ledger-activities.js';
import { historyOf } from '../helpers/release.js';
import { queueEnv, runCli } from '../helpers/cli.js';
import { gatewayConfig, startGateway } from '../helpers/gateway.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { ShipyardClient } from '../../client/index.js';
import { settings } from '../helpers/temporal.js';
import { connectClient, eventually, randomCommit, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext, type TestQueues } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

/** a -> b, a -> c (b and c depend on a), each a one-environment helm release. */
function abcTrain(prefix: string, extra: (names: { a: string; b: string; c: string }) => Record<string, unknown> = () => ({})): { train: TrainSpec; names: { a: string; b: string; c: string } } {
  const names = { a: uniqueName(`${prefix}a`), b: uniqueName(`${prefix}b`), c: uniqueName(`${prefix}c`) };
  const spec = (service: string, env: string) => ({
    service,
    source: { repo: 'https://git.example.com/team/app.git' },
    environments: [{ name: env, deploy: { helm: { chart: 'oci://registry.local/charts/app', release: service, namespace: 'staging', timeout: '1m' } } }],
  });
  const doc = {
    name: uniqueName(prefix),
    services: [
      { name: names.a, spec: spec(names.a, 'stg-a') },
      { name: names.b, dependsOn: [names.a], spec: spec(names.b, 'stg-b') },
      { name: names.c, dependsOn: [names.a], spec: spec(names.c, 'stg-c') },
    ],
    ...extra(names),
  };
  // Through the same validator as a train file (the YAML round trip keeps it honest).
  return { train: validateTrainSpec(JSON.parse(JSON.stringify(doc)), `${prefix}.yaml`), names };
}

const commitsOf = (train: TrainSpec) => Object.fromEntries(train.services.map((s) => [s.name, randomCommit()]));

async function start(queues: TestQueues, train: TrainSpec) {
  return startTrain(ctx.shipyard, { train, commits: commitsOf(train), trigger: { kind: 'cli', by: 'carol' }, taskQueues: queues });
}

/** Waits for the train to end; its final status (the result, or the failure's details). */
async function finalOf(id: string): Promise<{ status: TrainStatus; error?: Error & { cause?: Error & { type?: string } } }> {
  try {
    await ctx.client.workflow.getHandle(id).result();
  } catch (err) {
    return { status: await trainStatus(ctx.shipyard, id, false), error: err as Error & { cause?: Error & { type?: string } } };
  }
  return { status: await trainStatus(ctx.shipyard, id, false) };
}

const rollbacks = (world: FakeWorld) => world.names((c) => c.name === 'helmRollback');

describe('release trains (mocked activities)', () => {
  test('a, then b and c in parallel; all released, then committed: every release succeeded', async () => {
    const world = new FakeWorld().delay('helmDeploy', 600);
    const queues = uniqueQueues('train');
    const { train, names } = abcTrain('ok');
    await withWorkers(queues, world.activities(), async () => {
      const started = await start(queues, train);
      assert.ok(started.started);
      assert.match(started.trainId, new RegExp(`^train/${train.name}/[0-9a-f]{16}$`));
      // The same train again attaches.
      const again = await startTrain(ctx.shipyard, { train, commits: started.commits, trigger: { kind: 'cli', by: 'carol' }, taskQueues: queues });
      assert.equal(again.started, false);
      assert.equal(again.trainId, started.trainId);
      const { status, error } = await finalOf(started.trainId);
      assert.equal(error, undefined, error?.message);
      assert.equal(status.outcome, 'succeeded');
      assert.deepEqual(status.services.map((s) => [s.name, s.state, s.outcome]), [
        [names.a, 'succeeded', 'succeeded'],
        [names.b, 'succeeded', 'succeeded'],
        [names.c, 'succeeded', 'succeeded'],
      ]);
      // History: a's release started first; b and c only once a was released, both before either ended.
      const events = await historyOf(ctx.shipyard, started.trainId);
      const childStarts = events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId!);
      assert.deepEqual(childStarts, [`${started.trainId}/${names.a}`, `${started.trainId}/${names.b}`, `${started.trainId}/${names.c}`]);
      const idx = (pred: (e: (typeof events)[number]) => boolean) => events.findIndex(pred);
      const aReleased = idx((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'trainReleased');
      const bStart = idx((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId?.endsWith(names.b) === true);
      const cStart = idx((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId?.endsWith(names.c) === true);
      const firstEnd = idx((e) => !!e.childWorkflowExecutionCompletedEventAttributes);
      assert.ok(aReleased < bStart && bStart < firstEnd && cStart < firstEnd, 'b and c started after a was released and ran side by side');
      // helm deploys: a before b and c; no rollback anywhere.
      assert.deepEqual(world.names((c) => c.name === 'helmDeploy')[0], 'helmDeploy@stg-a');
      assert.deepEqual(rollbacks(world), []);
      // Each release carries the train as a search attribute and held for the verdict before finishing.
      const child = await ctx.shipyard.status(`${started.trainId}/${names.b}`);
      assert.equal(child.outcome, 'succeeded');
      assert.ok(child.stages.some((s) => s.stage === 'train' && s.result === 'ok' && /committed by/.test(s.detail ?? '')), JSON.stringify(child.stages));
      const d = await ctx.client.workflow.getHandle(`${started.trainId}/${names.c}`).describe();
      assert.equal(d.typedSearchAttributes.get(SA.train), started.trainId);
      await eventually(async () => {
        const n = await ctx.client.workflow.count(`ShipyardTrain = '${started.trainId}'`);
        return n.count === 4; // the train and its three releases
      }, 15_000, 'visibility to list the train and its releases');
    });
  });

  test('rollback train: c fails; b then a are rolled back by their own compensation, the train names c', async () => {
    const world = new FakeWorld().fail('helmDeploy', 'helm: injected failure', { environment: 'stg-c' }).delay('helmDeploy', 300);
    const queues = uniqueQueues('train');
    const { train, names } = abcTrain('rb');
    await withWorkers(queues, world.activities(), async () => {
      const started = await start(queues, train);
      const { status, error } = await finalOf(started.trainId);
      assert.equal(status.outcome, 'rolled-back');
      assert.equal((error?.cause as { type?: string }).type, 'TrainRolledBack');
      assert.match(error!.cause!.message, new RegExp(`train ${train.name} rolled-back: ${names.c} failed: .*helm: injected failure`));
      assert.deepEqual(status.services.map((s) => [s.name, s.state]), [
        [names.a, 'rolled-back'],
        [names.b, 'rolled-back'],
        [names.c, 'rolled-back'],
      ]);
      // c undid its own deploy attempt first; then b, then a (reverse dependency order), one at a time.
      assert.deepEqual(rollbacks(world), ['helmRollback@stg-c', 'helmRollback@stg-b', 'helmRollback@stg-a']);
      assert.equal(world.helm.size, 0, 'a and b were uninstalled (nothing was installed before)');
      for (const n of [names.a, names.b]) {
        const s = await ctx.shipyard.status(`${started.trainId}/${n}`);
        assert.equal(s.outcome, 'rolled-back');
        assert.equal(s.error?.message, `train ${train.name} rolled back: ${names.c} failed`);
      }
    });
  });

  test('rollback service: c fails and rolls itself back; a and b are committed and succeed', async () => {
    const world = new FakeWorld().fail('helmDeploy', 'helm: injected failure', { environment: 'stg-c' });
    const queues = uniqueQueues('train');
    const { train, names } = abcTrain('rs', () => ({ rollback: 'service' }));
    await withWorkers(queues, world.activities(), async () => {
      const started = await start(queues, train);
      const { status, error } = await finalOf(started.trainId);
      assert.equal(status.outcome, 'failed');
      assert.equal((error?.cause as { type?: string }).type, 'TrainFailed');
      assert.deepEqual(status.services.map((s) => [s.name, s.state]), [
        [names.a, 'succeeded'],
        [names.b, 'succeeded'],
        [names.c, 'rolled-back'],
      ]);
      assert.deepEqual(rollbacks(world), ['helmRollback@stg-c']);
      assert.deepEqual([...world.helm.keys()].sort(), [`staging/${names.a}`, `staging/${names.b}`].sort());
    });
  });

  test('a gate after a: b and c wait until it is approved by a listed approver', async () => {
    const world = new FakeWorld();
    const queues = uniqueQueues('train');
    const { train: gated, names } = abcTrain('gate', (n) => ({ gates: [{ after: n.a, approval: { approvers: ['alice'], timeout: '1h' } }] }));
    await withWorkers(queues, world.activities(), async () => {
      const started = await start(queues, gated);
      const pending = await eventually(async () => {
        const s = await trainStatus(ctx.shipyard, started.trainId);
        return s.gates[0].state === 'pending' ? s : undefined;
      }, 20_000, 'the gate after a to open');
      assert.deepEqual(pending.services.map((s) => s.state), ['released', 'pending', 'pending']);
      assert.equal(pending.stages?.[names.a], 'train in stg-a', 'a holds for the verdict');
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(world.names((c) => c.name === 'helmDeploy'), ['helmDeploy@stg-a'], 'nothing after a deployed while the gate is closed');
      await assert.rejects(decideTrainGate(ctx.shipyard, started.trainId, 'approve', { gate: names.a, approver: 'mallory' }), /'mallory' is not an approver/);
      const reply = await decideTrainGate(ctx.shipyard, started.trainId, 'approve', { gate: names.a, approver: 'alice', comment: 'go' });
      assert.deepEqual(reply, { gate: names.a, decision: 'approved', approvals: 1, required: 1, closed: true });
      const { status, error } = await finalOf(started.trainId);
      assert.equal(error, undefined, error?.message);
      assert.equal(status.outcome, 'succeeded');
      assert.equal(status.gates[0].state, 'approved');
      assert.deepEqual(status.gates[0].decisions.map((d) => [d.decision, d.by, d.comment]), [['approved', 'alice', 'go']]);
    });
  });
});

describe('release trains: cancelled from Temporal (mocked activities)', () => {
  test('cancelling the train while a holds at the gate: a is rolled back by its compensation, b and c never start', async () => {
    const world = new FakeWorld();
    const queues = uniqueQueues('train');
    const { train, names } = abcTrain('cancel', (n) => ({ gates: [{ after: n.a, approval: { approvers: ['alice'], timeout: '1h' } }] }));
    await withWorkers(queues, world.activities(), async () => {
      const started = await start(queues, train);
      await eventually(async () => (await trainStatus(ctx.shipyard, started.trainId, false)).gates[0].state === 'pending', 20_000, 'the gate after a to open');
      await ctx.client.workflow.getHandle(started.trainId).cancel();
      const d = await eventually(async () => {
        const x = await ctx.client.workflow.getHandle(started.trainId).describe();
        return x.status.name !== 'RUNNING' ? x : undefined;
      }, 20_000, 'the train to end');
      assert.equal(d.status.name, 'CANCELLED');
      const status = await trainStatus(ctx.shipyard, started.trainId, false);
      assert.equal(status.outcome, 'aborted');
      assert.deepEqual(status.services.map((s) => [s.name, s.state]), [
        [names.a, 'rolled-back'],
        [names.b, 'skipped'],
        [names.c, 'skipped'],
      ]);
      assert.deepEqual(rollbacks(world), ['helmRollback@stg-a']);
      assert.deepEqual(world.names((c) => c.name === 'helmDeploy'), ['helmDeploy@stg-a']);
      const a = await ctx.shipyard.status(`${started.trainId}/${names.a}`);
      assert.equal(a.outcome, 'rolled-back');
      assert.equal(a.error?.message, `train ${train.name} cancelled`);
    });
  });
});

describe('shipyard train (the CLI as a child process)', () => {
  test('start from a train file (every service needs a commit), status, approve the gate, list', async () => {
    const world = new FakeWorld();
    const queues = uniqueQueues('trcli');
    const dir = mkdtempSync(join(tmpdir(), 'train-cli-'));
    const a = uniqueName('clia');
    const b = uniqueName('clib');
    const specFile = (service: string) =>
      `service: ${service}\nsource: { repo: https://git.example.com/team/app.git }\nenvironments:\n  - name: staging\n    deploy: { helm: { chart: oci://registry.local/charts/app, release: ${service}, namespace: staging } }\n`;
    writeFileSync(join(dir, 'a.yaml'), specFile(a));
    writeFileSync(join(dir, 'b.yaml'), specFile(b));
    const name = uniqueName('cli');
    writeFileSync(join(dir, 'train.yaml'), `name: ${name}\nservices:\n  - { name: ${a}, spec: a.yaml }\n  - { name: ${b}, spec: b.yaml, dependsOn: [${a}] }\ngates:\n  - after: ${a}\n    approval: { approvers: [alice], timeout: 1h }\n`);
    const env = queueEnv(queues);
    const missing = await runCli(['train', 'start', '-f', join(dir, 'train.yaml'), '--commit', `${a}=${randomCommit()}`], env);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, new RegExp(`no --commit for ${b}: every service of train ${name} needs one`));
    await withWorkers(queues, world.activities(), async () => {
      const started = await runCli(['train', 'start', '-f', join(dir, 'train.yaml'), '--commit', `${a}=${randomCommit()}`, '--commit', `${b}=${randomCommit()}`, '--json'], env);
      assert.equal(started.code, 0, started.stderr);
      const { trainId } = JSON.parse(started.stdout) as { trainId: string };
      await eventually(async () => (await trainStatus(ctx.shipyard, trainId, false)).gates[0].state === 'pending', 20_000, 'the gate to open');
      const shown = await runCli(['train', 'status', trainId], env);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`${a}\\s+released\\s+\\[train in staging\\]`));
      assert.match(shown.stdout, new RegExp(`${b}\\s+pending\\s+after ${a}`));
      assert.match(shown.stdout, new RegExp(`after ${a}: pending approvers alice \\(0/1\\)`));
      const refused = await runCli(['train', 'approve', trainId, '--gate', a, '--as', 'bob'], env);
      assert.equal(refused.code, 4, refused.stderr);
      assert.match(refused.stderr, /'bob' is not an approver/);
      const approved = await runCli(['train', 'approve', trainId, '--gate', a, '--as', 'alice'], env);
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stdout, new RegExp(`gate after ${a} approved by alice`));
      const { status } = await finalOf(trainId);
      assert.equal(status.outcome, 'succeeded');
      const listed = await eventually(async () => {
        const r = await runCli(['train', 'list', '--json', '--limit', '100'], env);
        const rows = JSON.parse(r.stdout) as { trainId: string; outcome: string }[];
        return rows.find((x) => x.trainId === trainId && x.outcome === 'succeeded');
      }, 15_000, 'the train listed');
      assert.equal(listed.outcome, 'succeeded');
    });
  });
});

describe('POST /api/trains (the gateway, development mode)', () => {
  test('a train spec body plus commits starts the train; again attaches; bad input is refused with the reason; its gate approved through /api/trains/<id>/approve', async () => {
    const world = new FakeWorld();
    const queues = uniqueQueues('trgw');
    const { train: parsed, names } = abcTrain('gw');
    // The body carries the train as written (inline specs), not the parsed one.
    const specOf = (service: string, env: string) => ({ service, source: { repo: 'https://git.example.com/team/app.git' }, environments: [{ name: env, deploy: { helm: { chart: 'oci://registry.local/charts/app', release: service, namespace: 'staging' } } }] });
    const body = { name: parsed.name, services: [{ name: names.a, spec: specOf(names.a, 'stg-a') }, { name: names.b, dependsOn: [names.a], spec: specOf(names.b, 'stg-b') }, { name: names.c, dependsOn: [names.a], spec: specOf(names.c, 'stg-c') }], gates: [{ after: names.a, approval: { approvers: ['alice'], timeout: '1h' } }] };
    const commits = { [names.a]: randomCommit(), [names.b]: randomCommit(), [names.c]: randomCommit() };
    const shipyard = new ShipyardClient(ctx.client, settings(), queues);
    const gw = await startGateway(shipyard, gatewayConfig(twoEnvSpec({ service: uniqueName('gwroutes'), withBuild: false })));
    const post = async (payload: unknown) => {
      const res = await fetch(`${gw.url}/api/trains`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    try {
      const missing = await post({ by: 'carol', train: body, commits: { [names.a]: commits[names.a] } });
      assert.equal(missing.status, 400);
      assert.match(missing.body.detail, new RegExp(`a full commit hash is needed for ${names.b}, ${names.c}`));
      const cyclic = await post({ by: 'carol', train: { ...body, services: [{ ...body.services[0], dependsOn: [names.c] }, ...body.services.slice(1)] }, commits });
      assert.equal(cyclic.status, 422);
      assert.match(cyclic.body.detail, new RegExp(`dependency cycle: ${names.a} -> ${names.c} -> ${names.a}`));
      await withWorkers(queues, world.activities(), async () => {
        const first = await post({ by: 'carol', train: body, commits });
        assert.equal(first.status, 202, JSON.stringify(first.body));
        assert.equal(first.body.status, 'started');
        assert.match(first.body.trainId, new RegExp(`^train/${parsed.name}/`));
        const again = await post({ by: 'carol', train: body, commits });
        assert.equal(again.status, 202);
        assert.deepEqual([again.body.status, again.body.trainId], ['existing', first.body.trainId]);
        // The gate through the gateway: development mode takes the named caller, recorded unauthenticated.
        const decide = async (payload: unknown) => {
          const res = await fetch(`${gw.url}/api/trains/${encodeURIComponent(first.body.trainId)}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
          return { status: res.status, body: (await res.json()) as Record<string, any> };
        };
        await eventually(async () => (await trainStatus(shipyard, first.body.trainId, false)).gates[0].state === 'pending', 20_000, 'the gate after a to open');
        const mallory = await decide({ by: 'mallory' });
        assert.equal(mallory.status, 403, JSON.stringify(mallory.body));
        assert.match(mallory.body.detail, /'mallory' is not an approver/);
        const alice = await decide({ by: 'alice', comment: 'go' });
        assert.equal(alice.status, 200, JSON.stringify(alice.body));
        assert.deepEqual([alice.body.by, alice.body.authenticated, alice.body.gate, alice.body.decision, alice.body.closed], ['alice', false, names.a, 'approved', true]);
        assert.equal((await decide({ by: 'alice' })).status, 409, 'no gate pending any more');
        const { status, error } = await finalOf(first.body.trainId);
        assert.equal(error, undefined, error?.message);
        assert.equal(status.outcome, 'succeeded');
        assert.deepEqual(status.trigger, { kind: 'api', by: 'carol' });
        assert.deepEqual(status.gates[0].decisions.map((d) => [d.by, d.authenticated, d.comment]), [['alice', false, 'go']]);
      });
    } finally {
      await gw.close();
    }
  });
});

describe('release trains: crash safety (worker process SIGKILLed, mocked activities in a real process)', () => {
  test('SIGKILL mid-train: a new worker finishes it, each service deployed once', async () => {
    const queues = uniqueQueues('trcrash');
    const ledger = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.tsv');
    const { train, names } = abcTrain('crash');
    const kill = (child: ChildProcess) =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    let worker = await startCrashWorker(queues, ledger, { slow: 'helmDeploy:1500' });
    try {
      const started = await start(queues, train);
      // Killed while b and c deploy (a is released and holding).
      await eventually(async () => readLedger(ledger).filter((l) => l.kind === 'attempt' && l.name === 'helmDeploy').length >= 3, 30_000, 'b and c deploying');
      await kill(worker);
      worker = await startCrashWorker(queues, ledger);
      const { status, error } = await finalOf(started.trainId);
      assert.equal(error, undefined, error?.message);
      assert.equal(status.outcome, 'succeeded');
      const deploys = readLedger(ledger).filter((l) => l.kind === 'effect' && l.name === 'helmDeploy');
      const per = (n: string) => deploys.filter((l) => l.key.startsWith(`${started.trainId}/${n}|`)).length;
      assert.deepEqual([per(names.a), per(names.b), per(names.c)], [1, 1, 1], JSON.stringify(deploys.map((l) => l.key)));
    } finally {
      await kill(worker);
    }
  });
});
