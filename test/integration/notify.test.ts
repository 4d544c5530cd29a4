// Notifications for real: the notify activity posts to real HTTP listeners on 127.0.0.1 that reply as
// Feishu, DingTalk, Slack and a webhook receiver reply, and to a real SMTP server (smtp-server).
// Deploy activities are MOCKED; the release runs on the real dev server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { createNotifier, notifySettingsFromEnv } from '../../activities/notify/index.js';
import type { NotifyInput } from '../../activities/types.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { dingtalkOk, feishuOk, json, slackOk, startEndpoint, webhookOk, type Endpoint } from '../helpers/fake-endpoints.js';
import { freePort } from '../helpers/net.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
let feishu: Endpoint, dingtalk: Endpoint, slack: Endpoint, hook: Endpoint;
let smtp: SMTPServer;
const mails: { to: string[]; data: string }[] = [];
let smtpPort = 0;
let metricsAddress = '';

before(async () => {
  metricsAddress = `127.0.0.1:${await freePort()}`;
  process.env.SHIPYARD_TEST_METRICS_ADDRESS = metricsAddress;
  ctx = await connectClient();
  [feishu, dingtalk, slack, hook] = await Promise.all([startEndpoint(feishuOk), startEndpoint(dingtalkOk), startEndpoint(slackOk), startEndpoint(webhookOk)]);
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (d) => (data += d));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
        cb();
      });
    },
  });
  smtpPort = await freePort();
  await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', r));
  Object.assign(process.env, {
    T_FEISHU: `${feishu.url}/open-apis/bot/v2/hook/abc`,
    T_FEISHU_SECRET: 'feishu-bot-secret',
    T_DINGTALK: `${dingtalk.url}/robot/send?access_token=xyz`,
    T_DINGTALK_SECRET: 'SEC-dingtalk',
    T_SLACK: `${slack.url}/services/T1/B1/abc`,
    T_HOOK: `${hook.url}/shipyard`,
    T_SMTP: `smtp://127.0.0.1:${smtpPort}`,
  });
});
after(async () => {
  await Promise.all([feishu, dingtalk, slack, hook].map((e) => e.close()));
  smtp.close();
  await ctx.close();
});

const channels = [
  { feishu: { webhookEnv: 'T_FEISHU', secretEnv: 'T_FEISHU_SECRET' } },
  { dingtalk: { webhookEnv: 'T_DINGTALK', secretEnv: 'T_DINGTALK_SECRET' } },
  { slack: { webhookEnv: 'T_SLACK' } },
  { webhook: { urlEnv: 'T_HOOK' }, template: { title: '{{service}} {{version}} -> {{event}}' } },
  { email: { to: ['oncall@example.com'], smtpUrlEnv: 'T_SMTP' }, on: ['waiting-approval', 'succeeded'] },
];

function notifier(breaker = { errorThresholdPercentage: 80, rollingCountTimeoutMs: 60_000, resetTimeoutMs: 300_000, volumeThreshold: 5 }) {
  return createNotifier({ ...notifySettingsFromEnv(), uiUrl: 'http://ui.example', stateDir: mkdtempSync(join(tmpdir(), 'state-')), breaker });
}

describe('notifications (real HTTP and SMTP peers; deploy activities mocked)', () => {
  test('each event reaches each channel once with the release fields; approval cards carry buttons', async () => {
    const service = uniqueName('notify');
    const spec = twoEnvSpec({
      service,
      withBuild: false,
      notify: channels,
      production: { approval: { approvers: ['alice'], timeout: '1h' } },
      canarySteps: [{ setWeight: 50 }, { setWeight: 100 }],
    });
    const world = new FakeWorld();
    const { notify } = notifier();
    const queues = uniqueQueues();
    for (const e of [feishu, dingtalk, slack, hook]) e.received.length = 0;
    await withWorkers(queues, { build: world.build(), deploy: { ...world.deploy(), notify } }, async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { version: 'v3.1.4' });
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.approvals.pending !== null, 'gate');
      await ctx.shipyard.approve(releaseId, { approver: 'alice' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      const events = ['started', 'deployed', 'waiting-approval', 'deployed', 'canary-step', 'canary-step', 'succeeded'];
      await eventually(async () => hook.received.length === events.length && mails.length >= 2, 10_000, 'all notifications');
      // Sent in the background, so they may arrive in any order: compare as multisets, then pick by content.
      assert.deepEqual(hook.received.map((r) => r.body.event).sort(), [...events].sort());
      const byEvent = (e: Endpoint, event: string, n = 0) => e.received.filter((r) => JSON.stringify(r.body).includes(event === 'waiting-approval' ? 'approval needed' : event))[n];
      assert.equal(new Set(hook.received.map((r) => r.headers['idempotency-key'])).size, events.length, 'one key per event');
      for (const e of [feishu, dingtalk, slack]) assert.equal(e.received.length, events.length, e.url);
      assert.equal(final.status!.notifications.filter((n) => n.status === 'sent').length, events.length * 4 + 2);

      // Generic webhook: custom template, fields, link.
      const first = hook.received.find((r) => r.body.event === 'started')!.body;
      assert.equal(first.title, `${service} v3.1.4 -> started`);
      assert.equal(first.url, `http://ui.example/namespaces/default/workflows/${encodeURIComponent(releaseId)}`);
      assert.equal(first.fields.Service, service);
      const deployedProd = hook.received.find((r) => r.body.event === 'deployed' && r.body.fields.Environment === 'production')!.body;
      assert.equal(deployedProd.fields.Environment, 'production');
      assert.equal(deployedProd.fields['Approved by'], 'alice');

      // Feishu: signed interactive card; approval card with Approve/Reject callback buttons.
      const fsApproval = byEvent(feishu, 'waiting-approval').body;
      assert.equal(fsApproval.msg_type, 'interactive');
      assert.ok(fsApproval.timestamp && fsApproval.sign, 'signed');
      const buttons = fsApproval.card.elements.find((el: { tag: string }) => el.tag === 'action').actions;
      assert.deepEqual(buttons.map((b: { text: { content: string } }) => b.text.content), ['Open in Temporal UI', 'Approve', 'Reject']);
      assert.deepEqual(buttons[1].value, { releaseId, gate: 'production/approval', decision: 'approve' });

      // Slack: Block Kit with the same buttons for the gateway's interactivity endpoint.
      const slApproval = byEvent(slack, 'waiting-approval').body;
      const actions = slApproval.blocks.find((b: { type: string }) => b.type === 'actions').elements;
      assert.deepEqual(JSON.parse(actions[2].value), { releaseId, gate: 'production/approval', decision: 'reject' });
      assert.ok(slack.received.some((r) => /canary at 50% in production/.test(r.body.text)));

      // DingTalk: signed ActionCard (timestamp and sign in the URL) that names the approval command.
      const dtApproval = byEvent(dingtalk, 'waiting-approval');
      assert.match(dtApproval.path, /timestamp=\d+&sign=/);
      assert.equal(dtApproval.body.msgtype, 'actionCard');
      assert.match(dtApproval.body.actionCard.text, new RegExp(`approve ${releaseId.replace(/[/+]/g, '\\$&')} gate=production/approval`));

      // Email: only the events it asked for.
      assert.equal(mails.length, 2);
      assert.deepEqual(mails[0].to, ['oncall@example.com']);
      assert.ok(mails.some((m) => /approval needed/.test(m.data)));
      assert.ok(mails.some((m) => /release succeeded/.test(m.data)));
    });
  });

  test('a retried notify (same idempotency key) sends nothing the second time', async () => {
    const { notify } = notifier();
    hook.received.length = 0;
    const input: NotifyInput = {
      releaseId: 'release/x/all/abcdef1',
      service: 'x',
      version: 'v1',
      commit: 'abcdef1234567',
      channel: { webhook: { urlEnv: 'T_HOOK' }, on: ['started'] },
      event: 'started',
      idempotencyKey: 'release/x/all/abcdef1/1/started/0',
      fields: {},
    };
    await notify(input);
    await notify(input);
    assert.equal(hook.received.length, 1);
    await notify({ ...input, idempotencyKey: 'release/x/all/abcdef1/2/started/0' });
    assert.equal(hook.received.length, 2);
  });

  test('an endpoint answering 500: the release still succeeds, failures show, the breaker opens (metric) and later closes', async () => {
    const broken = await startEndpoint((_r, res) => json(res, 500, { code: 9499, msg: 'internal error' }));
    process.env.T_BROKEN = `${broken.url}/hook`;
    const { notify, breakers } = notifier({ errorThresholdPercentage: 80, rollingCountTimeoutMs: 60_000, resetTimeoutMs: 4000, volumeThreshold: 3 });
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('notifyfail'), withBuild: false, notify: [{ webhook: { urlEnv: 'T_BROKEN' } }] });
    const queues = uniqueQueues();
    try {
      await withWorkers(queues, { build: world.build(), deploy: { ...world.deploy(), notify } }, async () => {
        const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
        const final = await ctx.shipyard.wait(releaseId, undefined, 200);
        assert.equal(final.outcome, 'succeeded', 'a broken chat endpoint never fails the release');
        const failures = final.status!.notifications.filter((n) => n.status === 'failed');
        assert.ok(failures.length >= 1);
        assert.ok(failures.some((f) => /webhook: 500|paused after repeated failures/.test(f.error ?? '')), JSON.stringify(failures));
        assert.equal(breakers.state('webhook:T_BROKEN'), 'open');
        assert.ok(failures.some((f) => /paused after repeated failures/.test(f.error ?? '')), 'later sends are refused at once');
        const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
        assert.match(metrics, /shipyard_notifier_breaker_open\{[^}]*channel="webhook:T_BROKEN"[^}]*\} 1/);

        // The endpoint recovers; after the reset timeout a trial send goes through and the breaker closes.
        broken.handle(webhookOk);
        await new Promise((r) => setTimeout(r, 4500));
        const next = await startRelease(ctx.shipyard, queues, spec, { environments: ['staging'] });
        const again = await ctx.shipyard.wait(next.releaseId, undefined, 200);
        assert.ok(again.status!.notifications.some((n) => n.status === 'sent'));
        assert.equal(breakers.state('webhook:T_BROKEN'), 'closed');
        const after = await (await fetch(`http://${metricsAddress}/metrics`)).text();
        assert.match(after, /shipyard_notifier_breaker_open\{[^}]*channel="webhook:T_BROKEN"[^}]*\} 0/);
      });
    } finally {
      await broken.close();
    }
  });

  test('a timing-out endpoint does not hold the release up beyond the notification budget', async () => {
    const slow = await startEndpoint(() => new Promise(() => undefined)); // never answers
    process.env.T_SLOW = `${slow.url}/hook`;
    const { notify } = notifier();
    const world = new FakeWorld();
    const spec = twoEnvSpec({ service: uniqueName('notifyslow'), withBuild: false, notify: [{ webhook: { urlEnv: 'T_SLOW' }, on: ['started'] }] });
    const queues = uniqueQueues();
    try {
      await withWorkers(queues, { build: world.build(), deploy: { ...world.deploy(), notify } }, async () => {
        const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
        // The release moves on while the notification is still retrying in the background.
        await waitForStatus(ctx.shipyard, releaseId, (s) => s.stages.some((st) => st.stage === 'deploy' && st.environment === 'production'), 'production deploy', 20_000);
        assert.ok(!(await ctx.shipyard.status(releaseId)).notifications.some((n) => n.status === 'sent'));
        const aborted = Date.now();
        await ctx.shipyard.abort(releaseId, 'test', 'done');
        const final = await ctx.shipyard.wait(releaseId, undefined, 200);
        assert.ok(Date.now() - aborted < 15_000, 'the end of the release does not wait for old notifications');
        assert.ok(final.status!.notifications.some((n) => n.event === 'started' && n.status === 'failed' && /abandoned/.test(n.error ?? '')));
      });
    } finally {
      await slow.close();
    }
  });
});
