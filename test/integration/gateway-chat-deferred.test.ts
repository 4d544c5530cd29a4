// Chat deadlines: Slack and Feishu want an answer within ~3 s. With a slow Temporal path (the real
// dev server, the gateway's approve/reject delayed by 4 s) the gateway answers at once and delivers
// the result afterwards: Slack to the response_url, Feishu by the delayed card update (a local HTTP
// server plays Slack and the Feishu Open API). DingTalk answers within its bound. With Temporal
// unreachable, chat is told "not done", never a success; with the breaker open the answer is 503.
// Production mode refuses a token-only Feishu config.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ShipyardClient } from '../../client/index.js';
import { buttonValue } from '../../client/gateway/chat.js';
import { resolveGatewayConfig } from '../../client/gateway/config.js';
import { buildGateway } from '../../client/gateway/server.js';
import { encryptFeishu } from '../../client/gateway/signatures.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { freePort } from '../helpers/net.js';
import { eventually, settings, uniqueName, uniqueQueues, withWorkers } from '../helpers/temporal.js';
import { dingtalkHeaders, feishuHeaders, gatewayConfig, identitySection, send, SECRETS, slackRequest, startGateway, type RunningGateway } from '../helpers/gateway.js';

const DECISION_DELAY_MS = 4000;
const queues = uniqueQueues('chatlate');
const service = uniqueName('chatlate');
const spec = twoEnvSpec({ service, withBuild: false, production: { approval: { approvers: ['alice', 'bob', 'carol'], timeout: '1h', fourEyes: true } } });
const USERS = { slack: { U0ALICE: 'alice', U0CAROL: 'carol' }, feishu: { ou_bob: 'bob' }, dingtalk: { staff_alice: 'alice' } };
const APP = { FEISHU_APP_ID: 'cli_test_app', FEISHU_APP_SECRET: 'feishu-app-secret-0123' };

let shipyard: ShipyardClient;
let gw: RunningGateway;
let platform: Server;
let platformUrl = '';
/** Every request the gateway made to "Slack" or "Feishu", with when it arrived. */
const calls: { path: string; headers: IncomingHttpHeaders; body: any; at: number }[] = [];

/** The same client, with approve/reject taking DECISION_DELAY_MS longer (a slow Temporal path). */
function slowed(client: ShipyardClient): ShipyardClient {
  const slow = Object.create(client) as ShipyardClient;
  const later = () => new Promise((r) => setTimeout(r, DECISION_DELAY_MS));
  slow.approve = async (id, request) => (await later(), client.approve(id, request));
  slow.reject = async (id, request) => (await later(), client.reject(id, request));
  return slow;
}

before(async () => {
  shipyard = new ShipyardClient((await ShipyardClient.connect(settings())).client, settings(), queues);
  platform = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(body || 'null'), at: Date.now() });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/open-apis/auth/v3/tenant_access_token/internal') return res.end(JSON.stringify({ code: 0, msg: 'ok', tenant_access_token: 't-test-tenant-token', expire: 7200 }));
      if (req.url === '/open-apis/interactive/v1/card/update') return res.end(JSON.stringify({ code: 0, msg: 'success' }));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => platform.listen(0, '127.0.0.1', r));
  platformUrl = `http://127.0.0.1:${(platform.address() as { port: number }).port}`;
  const config = gatewayConfig(spec, {
    secrets: {
      slack: [{ env: 'SLACK_SECRET' }],
      feishu: { verificationToken: [{ env: 'FEISHU_TOKEN' }], encryptKey: [{ env: 'FEISHU_KEY' }], appId: [{ env: 'FEISHU_APP_ID' }], appSecret: [{ env: 'FEISHU_APP_SECRET' }] },
      dingtalk: [{ env: 'DINGTALK_SECRET' }],
    },
    chat: { users: USERS, feishuApiBase: platformUrl },
  });
  gw = await startGateway(slowed(shipyard), config, { slackResponseUrlPrefix: `${platformUrl}/slack/`, env: { ...SECRETS, ...APP } });
});
after(async () => {
  await gw.close();
  await shipyard.close();
  platform.close();
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

const slackPayload = (releaseId: string, user: string, base = platformUrl) => ({
  type: 'block_actions',
  user: { id: user, username: user.toLowerCase(), team_id: 'T1' },
  channel: { id: 'C1', name: 'releases' },
  response_url: `${base}/slack/actions/${randomBytes(6).toString('hex')}`,
  actions: [{ type: 'button', action_id: 'shipyard_approve', value: buttonValue({ releaseId, gate: 'production/approval', decision: 'approve' }), action_ts: '1700000000.000' }],
});

/** Sends and measures how long the answer took. */
async function timed(url: string, body: string, headers: Record<string, string>) {
  const started = Date.now();
  const res = await send(url, body, headers);
  return { ...res, ms: Date.now() - started, at: Date.now() };
}

const callTo = (pathEnd: string, label: string, timeoutMs = 15_000) => eventually(async () => calls.find((c) => c.path.endsWith(pathEnd)), timeoutMs, label);

function feishuCallback(releaseId: string, openId: string, updateToken: string) {
  const event = {
    schema: '2.0',
    header: { event_id: randomBytes(8).toString('hex'), token: SECRETS.FEISHU_TOKEN, create_time: String(Date.now()), event_type: 'card.action.trigger', tenant_key: 't', app_id: APP.FEISHU_APP_ID },
    event: { operator: { open_id: openId }, token: updateToken, action: { tag: 'button', value: { releaseId, gate: 'production/approval', decision: 'approve' } }, context: { open_message_id: 'om_1', open_chat_id: 'oc_1' } },
  };
  const body = JSON.stringify({ encrypt: encryptFeishu(JSON.stringify(event), SECRETS.FEISHU_KEY, randomBytes(16)) });
  return { body, headers: feishuHeaders(body) };
}

describe('chat answers within the platform deadline; the result follows (slow Temporal path)', () => {
  test('Slack: acknowledged at once, the decided text replaces the message later; a replay is 409 and decides nothing', async () => {
    await withPendingRelease(async (id) => {
      const payload = slackPayload(id, 'U0ALICE');
      const { body, headers } = slackRequest(payload);
      const res = await timed(`${gw.url}/chat/slack/interactions`, body, headers);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.ms < 1000, `answered in ${res.ms} ms although the decision takes ${DECISION_DELAY_MS} ms`);
      assert.equal(res.text, '');
      assert.equal((await shipyard.status(id)).approvals.decisions.length, 0, 'nothing decided yet when Slack got its answer');
      const replay = await send(`${gw.url}/chat/slack/interactions`, body, headers);
      assert.equal(replay.status, 409, replay.text);

      const update = await callTo(new URL(payload.response_url).pathname, 'response_url update');
      assert.ok(update.at - res.at >= DECISION_DELAY_MS - 1000, 'posted once decided');
      assert.equal(update.body.replace_original, true);
      assert.match(update.body.text, /^Approved by alice: production\/approval of release\//);
      const final = await shipyard.wait(id, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      assert.deepEqual(final.status!.approvals.decisions.map((d) => [d.approver, d.decision, d.via]), [['alice', 'approved', 'slack']], 'one decision: the replay decided nothing');
      assert.equal(calls.filter((c) => c.path === new URL(payload.response_url).pathname).length, 1);
    });
  });

  test('Slack: a refusal is posted to the person only, and nothing is decided', async () => {
    await withPendingRelease(async (id) => {
      const payload = slackPayload(id, 'U0CAROL');
      const { body, headers } = slackRequest(payload);
      const res = await timed(`${gw.url}/chat/slack/interactions`, body, headers);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.ms < 1000, `answered in ${res.ms} ms`);
      const update = await callTo(new URL(payload.response_url).pathname, 'response_url refusal');
      assert.equal(update.body.response_type, 'ephemeral');
      assert.equal(update.body.replace_original, false);
      assert.match(update.body.text, /^Not done: .*four-eyes: 'carol' triggered this release/);
      const s = await shipyard.status(id);
      assert.equal(s.approvals.pending?.gate, 'production/approval');
      assert.equal(s.approvals.decisions.length, 0);
    });
  });

  test('Feishu: a "received" toast at once; the card is updated through the delayed-update API after the answer', async () => {
    await withPendingRelease(async (id) => {
      const updateToken = `c-${randomBytes(8).toString('hex')}`;
      const { body, headers } = feishuCallback(id, 'ou_bob', updateToken);
      const res = await timed(`${gw.url}/chat/feishu/callback`, body, headers);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.ms < 1000, `answered in ${res.ms} ms`);
      assert.equal(res.body.toast.type, 'info');
      assert.match(res.body.toast.content, /Received/);

      const update = await eventually(async () => calls.find((c) => c.path === '/open-apis/interactive/v1/card/update' && c.body.token === updateToken), 15_000, 'card update');
      assert.ok(update.at >= res.at, 'the card is updated after the callback was answered');
      assert.equal(update.headers.authorization, 'Bearer t-test-tenant-token');
      assert.equal(update.body.card.open_ids, undefined, 'a decision is shown to everyone');
      assert.match(JSON.stringify(update.body.card), /Approved by bob: production\/approval of release\//);
      assert.ok(!JSON.stringify(update.body.card).includes('"tag":"button"'), 'no buttons left on a decided card');
      const tokenCall = calls.find((c) => c.path === '/open-apis/auth/v3/tenant_access_token/internal');
      assert.deepEqual(tokenCall?.body, { app_id: APP.FEISHU_APP_ID, app_secret: APP.FEISHU_APP_SECRET });
      const final = await shipyard.wait(id, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      assert.deepEqual(final.status!.approvals.decisions.map((d) => [d.approver, d.via]), [['bob', 'feishu']]);
    });
  });

  test('Feishu: an unmapped user sees the refusal on their card only, with the buttons again', async () => {
    await withPendingRelease(async (id) => {
      const updateToken = `c-${randomBytes(8).toString('hex')}`;
      const { body, headers } = feishuCallback(id, 'ou_mallory', updateToken);
      const res = await timed(`${gw.url}/chat/feishu/callback`, body, headers);
      assert.equal(res.status, 200, res.text);
      const update = await eventually(async () => calls.find((c) => c.path === '/open-apis/interactive/v1/card/update' && c.body.token === updateToken), 15_000, 'card update');
      assert.ok(update.at >= res.at);
      assert.deepEqual(update.body.card.open_ids, ['ou_mallory']);
      assert.match(JSON.stringify(update.body.card), /not mapped to a Shipyard approver/);
      assert.match(JSON.stringify(update.body.card), /"tag":"button"/);
      assert.equal((await shipyard.status(id)).approvals.decisions.length, 0);
    });
  });

  test('DingTalk: answered within its bound although the decision is slow; the decision still lands', async () => {
    await withPendingRelease(async (id) => {
      const body = JSON.stringify({ msgtype: 'text', text: { content: `approve ${id} gate=production/approval` }, senderStaffId: 'staff_alice' });
      const res = await timed(`${gw.url}/chat/dingtalk/callback`, body, dingtalkHeaders());
      assert.equal(res.status, 200, res.text);
      assert.ok(res.ms < 3000, `answered in ${res.ms} ms`);
      assert.match(res.body.text.content, /^Received; Temporal is slow to answer/);
      const final = await shipyard.wait(id, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      assert.deepEqual(final.status!.approvals.decisions.map((d) => [d.approver, d.via]), [['alice', 'dingtalk']]);
    });
  });
});

test('Temporal unreachable: Slack is told "not done", never a success; once the breaker is open, 503 before any acknowledgement', async () => {
  const dead = ShipyardClient.lazy({ address: `127.0.0.1:${await freePort()}`, namespace: 'default', uiUrl: 'http://localhost:8233' }, queues);
  const config = gatewayConfig(spec, { secrets: { slack: [{ env: 'SLACK_SECRET' }] }, chat: { users: USERS } });
  const down = await startGateway(dead, config, { slackResponseUrlPrefix: `${platformUrl}/slack/`, guard: { timeoutMs: 1500, resetMs: 60_000, volumeThreshold: 2 } });
  const id = `release/${service}/all/${'a'.repeat(40)}`;
  try {
    const posted: any[] = [];
    for (let i = 0; i < 2; i++) {
      const payload = slackPayload(id, 'U0ALICE');
      const { body, headers } = slackRequest(payload);
      const res = await timed(`${down.url}/chat/slack/interactions`, body, headers);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.ms < 1000, `answered in ${res.ms} ms`);
      posted.push((await callTo(new URL(payload.response_url).pathname, 'response_url "not done"')).body);
    }
    for (const p of posted) {
      assert.equal(p.response_type, 'ephemeral');
      assert.notEqual(p.replace_original, true);
      assert.match(p.text, /^Not done: Temporal is unavailable/);
    }
    const payload = slackPayload(id, 'U0ALICE');
    const { body, headers } = slackRequest(payload);
    const refused = await send(`${down.url}/chat/slack/interactions`, body, headers);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.equal(refused.body.error, 'temporal unavailable');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(calls.filter((c) => c.path === new URL(payload.response_url).pathname).length, 0, 'nothing posted for a refused request');
    assert.match(await down.metrics(), /shipyard_gateway_requests_total\{route="chat_slack",outcome="unavailable"\} 3/);
  } finally {
    await down.close();
    await dead.close().catch(() => undefined);
  }
});

describe('production mode refuses a token-only Feishu config', () => {
  // Everything else production mode requires is in place: ID token verification, signing keys, payload encryption.
  const identity = identitySection();
  const tokenOnly = { identity, secrets: { feishu: { verificationToken: [{ env: 'FEISHU_TOKEN' }] } } };
  const codecKey = randomBytes(32).toString('base64');

  test('the gateway process exits with a clear message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-prod-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify({ listen: { host: '127.0.0.1', port: 0 }, ...tokenOnly }));
    const main = fileURLToPath(new URL('../../client/gateway/main.js', import.meta.url));
    const run = (mode: string | undefined) =>
      new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
        const env = { ...process.env, ...SECRETS, SHIPYARD_GATEWAY_CONFIG: file, SHIPYARD_GATEWAY_PORT: '0', SHIPYARD_MODE: mode ?? '', SHIPYARD_CODEC_KEY: codecKey };
        const child = execFile(process.execPath, [main], { env, timeout: 5000 }, (err, stdout, stderr) =>
          resolve({ code: child.exitCode ?? (err as { code?: number } | null)?.code ?? null, stdout, stderr }),
        );
      });
    const prod = await run('production');
    assert.equal(prod.code, 1, prod.stderr);
    assert.match(prod.stderr, /refusing to start in production mode \(SHIPYARD_MODE=production\): Feishu is configured without an encrypt key/);
    assert.doesNotMatch(prod.stdout, /listening/);
    // In development the same config starts (and warns); the 5 s timeout ends it.
    const dev = await run(undefined);
    assert.match(dev.stdout, /Feishu is configured without an encrypt key/);
    assert.match(dev.stdout, /shipyard gateway listening/);
  });

  test('buildGateway refuses it too; with an encrypt key production mode starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-prod-'));
    await assert.rejects(
      buildGateway({ config: resolveGatewayConfig(tokenOnly, dir), shipyard, logger: false, env: { ...SECRETS, SHIPYARD_MODE: 'production' } }),
      /refusing to start in production mode/,
    );
    const signed = resolveGatewayConfig({ identity, secrets: { feishu: { verificationToken: [{ env: 'FEISHU_TOKEN' }], encryptKey: [{ env: 'FEISHU_KEY' }] } } }, dir);
    const { app } = await buildGateway({ config: signed, shipyard, logger: false, env: { ...SECRETS, SHIPYARD_MODE: 'production' } });
    await app.close();
  });
});
