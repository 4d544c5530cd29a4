// Verified identity end to end: a real Dex issues ID tokens, the real gateway verifies them and
// signs decision statements, and releases on the real dev server (activities MOCKED) verify those
// in their update validators with the keys their orchestrator trusts, in production mode.
// A client that talks to Temporal directly cannot approve, abort or pass four-eyes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShipyardClient } from '../../client/index.js';
import { GatewayApi } from '../../client/auth/gateway-api.js';
import { createStatementSigner, type StatementRequest } from '../../client/auth/statement-signer.js';
import type { DecisionTrust } from '../../workflows/decision-statement.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { uniqueName, uniqueQueues, withWorkers } from '../helpers/temporal.js';
import { ROLES } from '../../workers/worker.js';
import type { RunningGateway } from '../helpers/gateway.js';
import { startProductionGateway, type ProductionGateway } from '../helpers/production-gateway.js';
import type { Dex } from '../helpers/dex.js';
import { CLI, startCli } from '../helpers/cli.js';

const queues = uniqueQueues('ident');
const service = uniqueName('ident');
const GATE = 'production/approval';
const spec = twoEnvSpec({ service, withBuild: false, production: { approval: { approvers: ['group:sre', 'bob@example.com'], required: 2, timeout: '1h', fourEyes: true } } });
const { privateKey: strangerKey } = generateKeyPairSync('ed25519');
let stack: ProductionGateway;
let dex: Dex;
let shipyard: ShipyardClient;
let gw: RunningGateway;
let privateKey: KeyObject;
let trust: DecisionTrust;
/** Plays the gateway for statements it would never sign (replays, other targets). */
let gatewayKey: ProductionGateway['gatewayKey'];

before(async () => {
  stack = await startProductionGateway(queues, spec);
  ({ dex, shipyard, gw, privateKey, trust, gatewayKey } = stack);
});
after(() => stack?.close());

const api = (user: 'alice' | 'bob' | 'carol', path: string, body: object = {}) => stack.post(user, path, body);
const act = (id: string, action: string) => `/api/releases/${encodeURIComponent(id)}/${action}`;
const statement = (over: Partial<StatementRequest>) =>
  gatewayKey.sign({ rel: '', act: 'approve', gate: GATE, sub: 'erin@example.com', groups: ['sre'], via: 'api', idp: dex.issuer, ...over });

async function withRelease(opts: { verifiedBy?: 'alice' }, fn: (id: string) => Promise<void>) {
  const world = new FakeWorld();
  await withWorkers(queues, world.activities(), async () => {
    const signStart = opts.verifiedBy ? async (rel: string) => new GatewayApi({ token: await dex.token(opts.verifiedBy!), gateway: gw.url, source: 'test' }).startStatement(rel) : undefined;
    const by = opts.verifiedBy ? 'alice@example.com' : 'carol@example.com';
    const { releaseId } = await startRelease(shipyard, queues, spec, { trigger: { kind: 'cli', by }, signStart });
    await waitForStatus(shipyard, releaseId, (s) => s.approvals.pending?.gate === GATE, 'gate');
    try {
      await fn(releaseId);
    } finally {
      if ((await shipyard.status(releaseId)).outcome === 'running') await shipyard.client.workflow.getHandle(releaseId).terminate('test cleanup');
    }
  }, ROLES, { trust: () => trust });
}

describe('verified decisions (real Dex, gateway and dev server; activities mocked; production mode)', () => {
  test('tokens: none, garbage, another audience and alg none are 401; whoami names the verified identity and groups', async () => {
    const post = (headers: Record<string, string>) => fetch(`${gw.url}/api/whoami`, { headers }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    assert.equal((await post({})).status, 401);
    assert.equal((await post({ authorization: 'Bearer not.a.token' })).status, 401);
    const other = await post({ authorization: `Bearer ${await dex.token('alice', undefined, { client: 'other' })}` });
    assert.equal(other.status, 401);
    assert.match(other.body.detail, /wrong-audience/);
    const [, claims] = (await dex.token('alice')).split('.');
    const none = await post({ authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${claims}.` });
    assert.equal(none.status, 401);
    assert.match(none.body.detail, /algorithm-not-allowed/);
    const me = await post({ authorization: `Bearer ${await dex.token('alice')}` });
    assert.deepEqual(me.body, { identity: 'alice@example.com', groups: ['sre', 'developers'], authenticated: true, issuer: dex.issuer });
    const keys = (await (await fetch(`${gw.url}/.well-known/shipyard-decision-keys`)).json()) as { keys: { kid: string; x: string }[] };
    assert.deepEqual(keys.keys.map((k) => [k.kid, k.x]), [['k1', trust.keys[0].x]]);
  });

  test('a verified trigger: direct and forged decisions are refused, four-eyes holds, a statement is accepted once, groups approve', async () => {
    await withRelease({ verifiedBy: 'alice' }, async (id) => {
      let s = await shipyard.status(id);
      assert.equal(s.trigger.authenticated, true, s.trigger.verification);
      assert.equal(s.trigger.by, 'alice@example.com');
      // Straight to Temporal, no statement: refused by the validator.
      await assert.rejects(shipyard.approve(id, { approver: 'bob@example.com', gate: GATE }), /unsigned decision refused/);
      // A statement signed with a key the orchestrator does not trust.
      const forged = await createStatementSigner({ key: strangerKey, kid: 'k1' }).sign({ rel: id, act: 'approve', gate: GATE, sub: 'bob@example.com', groups: [], via: 'api', idp: 'x' });
      await assert.rejects(shipyard.approve(id, { approver: 'bob@example.com', statement: forged }), /bad-signature/);
      await assert.rejects(shipyard.approve(id, { approver: 'x', statement: await statement({ rel: `${id}-other` }) }), /wrong-release/);
      await assert.rejects(shipyard.approve(id, { approver: 'x', statement: await statement({ rel: id, gate: 'staging/approval' }) }), /not pending/);
      const stale = await createStatementSigner({ key: privateKey, kid: 'k1', now: () => Date.now() - 3_600_000 }).sign({ rel: id, act: 'approve', gate: GATE, sub: 'erin@example.com', groups: ['sre'], via: 'api', idp: 'x' });
      await assert.rejects(shipyard.approve(id, { approver: 'x', statement: stale }), /expired/);
      // Through the API: alice triggered it (four-eyes), carol is no approver.
      const alice = await api('alice', act(id, 'approve'));
      assert.equal(alice.status, 403, JSON.stringify(alice.body));
      assert.match(alice.body.detail, /four-eyes: 'alice@example.com'/);
      const carol = await api('carol', act(id, 'approve'));
      assert.equal(carol.status, 403);
      assert.match(carol.body.detail, /'carol@example.com' is not an approver/);
      // An unsigned abort signal changes nothing and shows as refused.
      await shipyard.abort(id, 'mallory', 'forged');
      s = await waitForStatus(shipyard, id, (x) => (x.refusals ?? []).length > 0, 'refusal');
      assert.equal(s.outcome, 'running');
      assert.equal(s.abort, null);
      assert.match(s.refusals![0].reason, /unsigned decision refused/);
      // erin (group sre) approves once; the same statement again is a replay.
      const erin = await statement({ rel: id });
      assert.equal((await shipyard.approve(id, { approver: 'x', statement: erin })).approvals, 1);
      await assert.rejects(shipyard.approve(id, { approver: 'x', statement: erin }), /replayed/);
      const bob = await api('bob', act(id, 'approve'), { comment: 'looks good' });
      assert.equal(bob.status, 200, JSON.stringify(bob.body));
      assert.deepEqual([bob.body.by, bob.body.authenticated, bob.body.closed], ['bob@example.com', true, true]);
      s = await waitForStatus(shipyard, id, (x) => x.outcome !== 'running', 'finish', 60_000);
      assert.equal(s.outcome, 'succeeded');
      assert.deepEqual(
        s.approvals.decisions.map((d) => [d.approver, d.decision, d.authenticated, d.via, d.groups ?? [], d.comment ?? null]),
        [
          ['erin@example.com', 'approved', true, 'api', ['sre'], null],
          ['bob@example.com', 'approved', true, 'api', ['developers'], 'looks good'],
        ],
      );
    });
  });

  test('an unauthenticated trigger: four-eyes needs two approvers; an abort through the API carries the verified identity', async () => {
    await withRelease({}, async (id) => {
      let s = await shipyard.status(id);
      assert.equal(s.trigger.authenticated, false);
      assert.equal(s.approvals.pending?.fourEyesUnverifiedTrigger, true);
      const bob = await api('bob', act(id, 'approve'));
      assert.equal(bob.status, 200);
      assert.deepEqual([bob.body.approvals, bob.body.required, bob.body.closed], [1, 2, false]);
      const abort = await api('bob', act(id, 'abort'), { reason: 'wrong build' });
      assert.equal(abort.status, 200, JSON.stringify(abort.body));
      assert.deepEqual([abort.body.by, abort.body.authenticated, abort.body.changed], ['bob@example.com', true, true]);
      s = await waitForStatus(shipyard, id, (x) => x.outcome !== 'running', 'aborted', 60_000);
      assert.equal(s.outcome, 'aborted');
      assert.deepEqual(s.abort, { by: 'bob@example.com', reason: 'wrong build', authenticated: true });
    });
  });

  test('the CLI: shipyard login (password grant against Dex), whoami and approve through the gateway', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ident-cli-'));
    const env = { SHIPYARD_CONFIG_DIR: home, SHIPYARD_ID_TOKEN: '', SHIPYARD_GATEWAY_URL: '' };
    const login = spawnSync(process.execPath, [CLI, 'login', '--issuer', dex.issuer, '--client-id', dex.clientId, '--client-secret', dex.clientSecret, '--gateway', gw.url, '--username', 'bob@example.com', '--password-stdin'], {
      input: 'bob-password\n',
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    assert.equal(login.status, 0, login.stderr);
    assert.match(login.stdout, /logged in as bob@example.com until /);
    const wrong = spawnSync(process.execPath, [CLI, 'login', '--issuer', dex.issuer, '--client-id', dex.clientId, '--client-secret', dex.clientSecret, '--username', 'bob@example.com', '--password-stdin'], {
      input: 'nope\n',
      env: { ...process.env, SHIPYARD_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'ident-cli-')) },
      encoding: 'utf8',
    });
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /login refused/);
    const who = await startCli(['whoami'], env).done;
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /^bob@example.com \(groups: developers\) via /);
    await withRelease({ verifiedBy: 'alice' }, async (id) => {
      const approved = await startCli(['approve', id, '--comment', 'from the cli'], env).done;
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stdout, /production\/approval approved by bob@example.com \(1\/2 approvals\)/);
      const s = await shipyard.status(id);
      assert.deepEqual(s.approvals.decisions.map((d) => [d.approver, d.authenticated, d.comment]), [['bob@example.com', true, 'from the cli']]);
      // Without a token the CLI goes to Temporal directly: production mode refuses it.
      const direct = await startCli(['approve', id, '--as', 'erin@example.com'], { SHIPYARD_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'ident-cli-')) }).done;
      assert.notEqual(direct.code, 0);
      assert.match(direct.stderr, /unsigned decision refused/);
    });
  });
});
