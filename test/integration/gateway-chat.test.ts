// Chat-ops approvals end to end: a signed Slack / Feishu / DingTalk callback through the real gateway
// approves a release waiting at its gate on the real dev server (workflow activities MOCKED).
// Unmapped users, forged and stale callbacks decide nothing. Slack is acknowledged with an empty 200
// and the result arrives at the response_url (gateway-chat-deferred.test.ts: a slow Temporal).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { ShipyardClient } from '../../client/index.js';
import { buttonValue } from '../../client/gateway/chat.js';
import { encryptFeishu } from '../../client/gateway/signatures.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { eventually, settings, uniqueName, uniqueQueues, withWorkers } from '../helpers/temporal.js';
import { dingtalkHeaders, feishuHeaders, gatewayConfig, send, SECRETS, slackRequest, startGateway, type RunningGateway } from '../helpers/gateway.js';

const queues = uniqueQueues('chat');
const service = uniqueName('chat');
const spec = twoEnvSpec({ service, withBuild: false, production: { approval: { approvers: ['alice', 'bob', 'carol'], timeout: '1h', fourEyes: true } } });
let shipyard: ShipyardClient;
let gw: RunningGateway;
let slackHook: Server;
/** What the gateway posted to each response_url path. */
const slackUpdates: { path: string; body: any }[] = [];
let slackUrl = '';

before(async () => {
  shipyard = new ShipyardClient((await ShipyardClient.connect(settings())).client, settings(), queues);
  // Plays Slack's response_url endpoint.
  slackHook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      slackUpdates.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => slackHook.listen(0, '127.0.0.1', r));
  slackUrl = `http://127.0.0.1:${(slackHook.address() as { port: number }).port}`;
  gw = await startGateway(shipyard, gatewayConfig(spec), { slackResponseUrlPrefix: 'http://127.0.0.1:' });
});
after(async () => {
  await gw.close();
  await shipyard.close();
  slackHook.close();
});

/** Runs `fn` with a release waiting at production/approval (triggered by carol). */
async function withPendingRelease(fn: (id: string) => Promise<void>) {
  const world = new FakeWorld();
  await withWorkers(queues, world.activities(), async () => {
    const { releaseId } = await startRelease(shipyard, queues, spec, { trigger: { kind: 'cli', by: 'carol' } });
    await waitForStatus(shipyard, releaseId, (s) => s.approvals.pending?.gate === 'production/approval', 'gate');
    try {
      await fn(releaseId);
    } finally {
      const s = await shipyard.status(releaseId);
      if (s.outcome === 'running') await shipyard.abort(releaseId, 'test', 'cleanup');
      await shipyard.wait(releaseId, undefined, 200);
    }
  });
}

/** Each interaction gets its own response_url, so its update can be told apart. */
const slackPayload = (releaseId: string, user: string, decision: 'approve' | 'reject' = 'approve', path = `/actions/T1/B1/${randomBytes(6).toString('hex')}`) => ({
  type: 'block_actions',
  user: { id: user, username: user.toLowerCase(), team_id: 'T1' },
  team: { id: 'T1', domain: 'acme' },
  channel: { id: 'C1', name: 'releases' },
  response_url: `${slackUrl}${path}`,
  trigger_id: '123.456.abc',
  actions: [{ type: 'button', action_id: `shipyard_${decision}`, block_id: 'gate', value: buttonValue({ releaseId, gate: 'production/approval', decision }), action_ts: '1700000000.000' }],
});

/** The message the gateway posted to this interaction's response_url. */
const slackUpdate = (payload: { response_url: string }) =>
  eventually(async () => slackUpdates.find((u) => payload.response_url.endsWith(u.path))?.body, 15_000, 'slack response_url update');

describe('chat approvals through the gateway (real dev server; activities mocked)', () => {
  test('Slack: a mapped user approves; the message is updated with who approved', async () => {
    await withPendingRelease(async (id) => {
      const payload = slackPayload(id, 'U0ALICE');
      const { body, headers } = slackRequest(payload);
      const res = await send(`${gw.url}/chat/slack/interactions`, body, headers);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, '', 'an empty 200 acknowledges the interaction');
      const update = await slackUpdate(payload);
      assert.equal(update.replace_original, true);
      assert.match(update.text, /^Approved by alice: production\/approval of release\//);
      const final = await shipyard.wait(id, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      assert.deepEqual(final.status!.approvals.decisions.map((d) => [d.approver, d.decision, d.via]), [['alice', 'approved', 'slack']]);
    });
  });

  test('Slack: unmapped user, forged and stale callbacks decide nothing; the validator still refuses four-eyes', async () => {
    await withPendingRelease(async (id) => {
      const mallory = slackPayload(id, 'U0MALLORY');
      const unmapped = slackRequest(mallory);
      const r1 = await send(`${gw.url}/chat/slack/interactions`, unmapped.body, unmapped.headers);
      assert.equal(r1.status, 200);
      const u1 = await slackUpdate(mallory);
      assert.equal(u1.response_type, 'ephemeral');
      assert.equal(u1.replace_original, false);
      assert.match(u1.text, /not mapped to a Shipyard approver/);
      // The same signed request again, inside its window: accepted once only.
      const replay = await send(`${gw.url}/chat/slack/interactions`, unmapped.body, unmapped.headers);
      assert.equal(replay.status, 409, replay.text);
      assert.equal(replay.body.error, 'replayed');
      const forged = slackRequest(slackPayload(id, 'U0ALICE'), { secret: 'guessed' });
      const r2 = await send(`${gw.url}/chat/slack/interactions`, forged.body, forged.headers);
      assert.equal(r2.status, 401);
      const stale = slackRequest(slackPayload(id, 'U0ALICE'), { at: Date.now() - 6 * 60_000 });
      const r3 = await send(`${gw.url}/chat/slack/interactions`, stale.body, stale.headers);
      assert.equal(r3.status, 401);
      assert.match(r3.body.detail, /outside the 300s replay window/);
      // carol triggered the release: mapped, signed, and still refused by the workflow's validator.
      const carol = slackPayload(id, 'U0CAROL');
      const own = slackRequest(carol);
      const r4 = await send(`${gw.url}/chat/slack/interactions`, own.body, own.headers);
      assert.equal(r4.status, 200);
      const u4 = await slackUpdate(carol);
      assert.equal(u4.response_type, 'ephemeral');
      assert.match(u4.text, /^Not done: .*four-eyes: 'carol' triggered this release/);
      const s = await shipyard.status(id);
      assert.equal(s.approvals.pending?.gate, 'production/approval');
      assert.equal(s.approvals.decisions.length, 0);
    });
  });

  test('Feishu: an encrypted, signed card callback approves; URL verification answers the challenge', async () => {
    const challenge = JSON.stringify({ encrypt: encryptFeishu(JSON.stringify({ challenge: 'ch-123', token: SECRETS.FEISHU_TOKEN, type: 'url_verification' }), SECRETS.FEISHU_KEY, randomBytes(16)) });
    const verify = await send(`${gw.url}/chat/feishu/callback`, challenge, feishuHeaders(challenge));
    assert.equal(verify.status, 200, verify.text);
    assert.deepEqual(verify.body, { challenge: 'ch-123' });
    await withPendingRelease(async (id) => {
      const event = {
        schema: '2.0',
        header: { event_id: randomBytes(8).toString('hex'), token: SECRETS.FEISHU_TOKEN, create_time: String(Date.now()), event_type: 'card.action.trigger', tenant_key: 't', app_id: 'cli_a' },
        event: { operator: { open_id: 'ou_bob' }, action: { tag: 'button', value: { releaseId: id, gate: 'production/approval', decision: 'approve' } } },
      };
      const body = JSON.stringify({ encrypt: encryptFeishu(JSON.stringify(event), SECRETS.FEISHU_KEY, randomBytes(16)) });
      const forged = await send(`${gw.url}/chat/feishu/callback`, body, feishuHeaders(body, { key: 'wrong-key' }));
      assert.equal(forged.status, 401);
      const signed = feishuHeaders(body);
      const res = await send(`${gw.url}/chat/feishu/callback`, body, signed);
      assert.equal(res.status, 200, res.text);
      const replay = await send(`${gw.url}/chat/feishu/callback`, body, signed);
      assert.equal(replay.status, 409, 'a captured callback is not accepted twice');
      assert.equal(res.body.toast.type, 'success');
      assert.match(res.body.toast.content, /Approved by bob/);
      const final = await shipyard.wait(id, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      assert.equal(final.status!.approvals.decisions[0].via, 'feishu');
    });
  });

  test('DingTalk: a signed robot command rejects; a stale one is refused', async () => {
    await withPendingRelease(async (id) => {
      const body = JSON.stringify({ msgtype: 'text', text: { content: ` reject ${id} gate=production/approval smoke tests red` }, senderStaffId: 'staff_alice', senderNick: 'Alice', conversationType: '2' });
      const stale = await send(`${gw.url}/chat/dingtalk/callback`, body, dingtalkHeaders({ at: Date.now() - 10 * 60_000 }));
      assert.equal(stale.status, 401);
      const unknownSender = JSON.stringify({ ...JSON.parse(body), senderStaffId: 'staff_eve' });
      const r0 = await send(`${gw.url}/chat/dingtalk/callback`, unknownSender, dingtalkHeaders());
      assert.match(r0.body.text.content, /not mapped/);
      const headers = dingtalkHeaders();
      const res = await send(`${gw.url}/chat/dingtalk/callback`, body, headers);
      assert.equal(res.status, 200, res.text);
      const replay = await send(`${gw.url}/chat/dingtalk/callback`, body, headers);
      assert.equal(replay.status, 409);
      assert.equal(res.body.msgtype, 'text');
      assert.match(res.body.text.content, /Rejected by alice/);
      const final = await shipyard.wait(id, undefined, 200);
      assert.equal(final.outcome, 'rejected');
      assert.equal(final.status!.approvals.decisions[0].comment, 'smoke tests red');
    });
  });
});
