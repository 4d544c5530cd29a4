// Verified decisions on release trains, end to end in production mode: a real Dex issues ID tokens,
// the real gateway verifies them and signs statements for the train ID and gate (and a start
// statement for the train it starts), and the train on the real dev server (activities MOCKED)
// verifies them in its update validators with the keys its orchestrator trusts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShipyardClient } from '../../client/index.js';
import { decideTrainGate, startTrain, trainStatus } from '../../client/train.js';
import type { StatementRequest } from '../../client/auth/statement-signer.js';
import { validateTrainSpec } from '../../spec/train-load.js';
import type { DecisionTrust } from '../../workflows/decision-statement.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { eventually, randomCommit, uniqueName, uniqueQueues, withWorkers } from '../helpers/temporal.js';
import { ROLES } from '../../workers/worker.js';
import type { RunningGateway } from '../helpers/gateway.js';
import { startProductionGateway, type ProductionGateway } from '../helpers/production-gateway.js';
import type { Dex } from '../helpers/dex.js';
import { startCli } from '../helpers/cli.js';

const queues = uniqueQueues('tident');
let stack: ProductionGateway;
let dex: Dex;
let shipyard: ShipyardClient;
let gw: RunningGateway;
let trust: DecisionTrust;
/** Plays the gateway for statements it would never sign (replays, other targets). */
let gatewayKey: ProductionGateway['gatewayKey'];

before(async () => {
  stack = await startProductionGateway(queues, twoEnvSpec({ service: uniqueName('tident'), withBuild: false }));
  ({ dex, shipyard, gw, trust, gatewayKey } = stack);
});
after(() => stack?.close());

/** a -> b with a four-eyes gate after a: two approvals from group sre or bob. */
function gatedTrain() {
  const a = uniqueName('ta');
  const b = uniqueName('tb');
  const spec = (service: string, env: string) => ({
    service,
    source: { repo: 'https://git.example.com/team/app.git' },
    environments: [{ name: env, deploy: { helm: { chart: 'oci://registry.local/charts/app', release: service, namespace: 'staging', timeout: '1m' } } }],
  });
  const doc = {
    name: uniqueName('tident'),
    services: [
      { name: a, spec: spec(a, 'stg-a') },
      { name: b, dependsOn: [a], spec: spec(b, 'stg-b') },
    ],
    gates: [{ after: a, approval: { approvers: ['group:sre', 'bob@example.com'], required: 2, timeout: '1h', fourEyes: true } }],
  };
  return { doc, a, b, commits: { [a]: randomCommit(), [b]: randomCommit() } };
}

const post = (user: 'alice' | 'bob' | 'carol', path: string, body: object = {}) => stack.post(user, path, body);
const decide = (id: string, action: string) => `/api/trains/${encodeURIComponent(id)}/${action}`;
const statement = (over: Partial<StatementRequest>) => gatewayKey.sign({ rel: '', act: 'approve', gate: '', sub: 'erin@example.com', groups: ['sre'], via: 'api', idp: dex.issuer, ...over });
const pendingGate = (id: string) => eventually(async () => ((await trainStatus(shipyard, id, false)).gates[0].state === 'pending' ? true : undefined), 30_000, 'the gate to open');

describe('verified train gate decisions (real Dex, gateway and dev server; activities mocked; production mode)', () => {
  test('started through the gateway by alice: unsigned, other-train and other-gate decisions refused, four-eyes, groups, replay; approved through the API and the CLI', async () => {
    const world = new FakeWorld();
    const { doc, a, b, commits } = gatedTrain();
    await withWorkers(queues, world.activities(), async () => {
      const started = await post('alice', '/api/trains', { train: doc, commits });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.deepEqual([started.body.status, started.body.by, started.body.authenticated], ['started', 'alice@example.com', true]);
      const id = started.body.trainId as string;
      try {
        await pendingGate(id);
        let s = await trainStatus(shipyard, id, false);
        // The start statement vouched for alice: four-eyes does not need to raise the count.
        assert.deepEqual([s.gates[0].required, s.gates[0].fourEyes, s.gates[0].fourEyesUnverifiedTrigger], [2, true, undefined]);
        // Straight to Temporal without a statement: refused in production.
        await assert.rejects(decideTrainGate(shipyard, id, 'approve', { gate: a, approver: 'bob@example.com' }), /unsigned decision refused/);
        // A statement for another train, or for another gate of this train.
        await assert.rejects(decideTrainGate(shipyard, id, 'approve', { gate: a, approver: 'x', statement: await statement({ rel: `${id}0`, gate: a }) }), /wrong-release/);
        await assert.rejects(decideTrainGate(shipyard, id, 'approve', { gate: a, approver: 'x', statement: await statement({ rel: id, gate: b }) }), new RegExp(`gate '${b}' is not pending`));
        // A release's statement for the right gate name is still for another ID.
        await assert.rejects(decideTrainGate(shipyard, id, 'approve', { gate: a, approver: 'x', statement: await statement({ rel: `${id}/${a}`, gate: a }) }), /wrong-release/);
        // Through the gateway: alice triggered the train (four-eyes), carol is no approver.
        const alice = await post('alice', decide(id, 'approve'), { gate: a });
        assert.equal(alice.status, 403, JSON.stringify(alice.body));
        assert.match(alice.body.detail, /four-eyes: 'alice@example.com'/);
        const carol = await post('carol', decide(id, 'approve'));
        assert.equal(carol.status, 403, JSON.stringify(carol.body));
        assert.match(carol.body.detail, /'carol@example.com'( \(groups: [^)]*\))? is not an approver/);
        // erin (group sre, verified) approves once; the same statement again is a replay.
        const erin = await statement({ rel: id, gate: a });
        assert.equal((await decideTrainGate(shipyard, id, 'approve', { gate: a, approver: 'x', statement: erin })).approvals, 1);
        await assert.rejects(decideTrainGate(shipyard, id, 'approve', { gate: a, approver: 'x', statement: erin }), /replayed/);
        // The CLI without a token goes to Temporal directly: refused; with bob's token through the gateway.
        const direct = await startCli(['train', 'approve', id, '--gate', a, '--as', 'bob@example.com'], { SHIPYARD_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'tident-')), SHIPYARD_ID_TOKEN: '' }).done;
        assert.notEqual(direct.code, 0);
        assert.match(direct.stderr, /unsigned decision refused/);
        const cli = await startCli(['train', 'approve', id, '--gate', a, '--comment', 'ship it'], { SHIPYARD_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'tident-')), SHIPYARD_ID_TOKEN: await dex.token('bob'), SHIPYARD_GATEWAY_URL: gw.url }).done;
        assert.equal(cli.code, 0, cli.stderr);
        assert.match(cli.stdout, new RegExp(`gate after ${a} approved by bob@example.com \\(2/2 approvals, gate closed\\)`));
        // Nothing pending any more: 409; an unknown train: 404.
        const late = await post('bob', decide(id, 'approve'));
        assert.equal(late.status, 409, JSON.stringify(late.body));
        assert.equal((await post('bob', decide(`train/${uniqueName('none')}/0000000000000000`, 'approve'))).status, 404);
        await eventually(async () => ((await trainStatus(shipyard, id, false)).outcome === 'succeeded' ? true : undefined), 60_000, 'the train to succeed');
        s = await trainStatus(shipyard, id, false);
        assert.deepEqual(
          s.gates[0].decisions.map((d) => [d.decision, d.by, d.authenticated, d.via, d.groups, d.comment ?? null]),
          [
            ['approved', 'erin@example.com', true, 'api', ['sre'], null],
            ['approved', 'bob@example.com', true, 'api', ['developers'], 'ship it'],
          ],
        );
        assert.deepEqual(world.names((c) => c.name === 'helmDeploy'), ['helmDeploy@stg-a', 'helmDeploy@stg-b']);
      } finally {
        const d = await shipyard.client.workflow.getHandle(id).describe();
        if (d.status.name === 'RUNNING') await shipyard.client.workflow.getHandle(id).terminate('test cleanup');
      }
    }, ROLES, { trust: () => trust });
  });

  test('a trigger no statement vouches for: four-eyes needs two approvers; a rejection through the API is recorded authenticated', async () => {
    const world = new FakeWorld();
    const { doc, a, commits } = gatedTrain();
    doc.gates[0].approval.required = 1;
    await withWorkers(queues, world.activities(), async () => {
      const { trainId: id } = await startTrain(shipyard, { train: validateTrainSpec(doc, 'train'), commits, trigger: { kind: 'cli', by: 'carol@example.com' }, taskQueues: queues });
      try {
        await pendingGate(id);
        const s = await trainStatus(shipyard, id, false);
        assert.deepEqual([s.gates[0].required, s.gates[0].fourEyesUnverifiedTrigger], [2, true]);
        const bob = await post('bob', decide(id, 'approve'));
        assert.equal(bob.status, 200, JSON.stringify(bob.body));
        assert.deepEqual([bob.body.by, bob.body.authenticated, bob.body.approvals, bob.body.required, bob.body.closed], ['bob@example.com', true, 1, 2, false]);
        const alice = await post('alice', decide(id, 'reject'), { gate: a, comment: 'not today' });
        assert.equal(alice.status, 200, JSON.stringify(alice.body));
        assert.deepEqual([alice.body.decision, alice.body.closed], ['rejected', true]);
        const final = await eventually(async () => {
          const x = await trainStatus(shipyard, id, false);
          return x.outcome !== 'running' ? x : undefined;
        }, 60_000, 'the train to end');
        assert.equal(final.outcome, 'rejected');
        assert.deepEqual(final.gates[0].decisions.map((d) => [d.decision, d.by, d.authenticated]), [
          ['approved', 'bob@example.com', true],
          ['rejected', 'alice@example.com', true],
        ]);
      } finally {
        const d = await shipyard.client.workflow.getHandle(id).describe();
        if (d.status.name === 'RUNNING') await shipyard.client.workflow.getHandle(id).terminate('test cleanup');
      }
    }, ROLES, { trust: () => trust });
  });
});
