// Signature schemes, secret rotation from files, event normalisation, routing and chat parsing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretSet } from '../../client/gateway/secrets.js';
import { safeEqual, verifyGeneric, verifyGithub, verifySlack, verifyDingtalk, decryptFeishu, encryptFeishu } from '../../client/gateway/signatures.js';
import { normalizeGithub } from '../../client/gateway/events.js';
import { parseCommand, parseButtonValue } from '../../client/gateway/chat.js';
import { routeEvent } from '../../client/gateway/routing.js';
import { checkGatewaySecurity, loadGatewayConfig, resolveGatewayConfig, type LoadedRoute } from '../../client/gateway/config.js';
import { decisionCard } from '../../client/gateway/feishu-api.js';
import { fileURLToPath } from 'node:url';

describe('gateway config', () => {
  test('examples/gateway.yaml loads: its routes find their spec and environments', () => {
    const config = loadGatewayConfig(fileURLToPath(new URL('../../../examples/gateway.yaml', import.meta.url)));
    assert.deepEqual(config.loadedRoutes.map((r) => [r.name, r.releaseSpec?.service]), [
      ['releases-from-tags', 'hello-api'],
      ['staging-from-main', 'hello-api'],
      ['build-pull-requests', 'hello-api'],
    ]);
    assert.equal(config.listen.port, 8088);
  });
  test('Feishu app credentials go together; the API base defaults to open.feishu.cn', () => {
    const token = [{ env: 'FEISHU_TOKEN' }];
    assert.throws(() => resolveGatewayConfig({ secrets: { feishu: { verificationToken: token, appId: [{ env: 'FEISHU_APP_ID' }] } } }, '/'), /secrets.feishu: appId and appSecret go together/);
    const config = resolveGatewayConfig({ secrets: { feishu: { verificationToken: token, appId: [{ env: 'A' }], appSecret: [{ file: 'app-secret' }] } } }, '/etc/gw');
    assert.deepEqual(config.secrets.feishu?.appSecret, [{ file: '/etc/gw/app-secret' }]);
    assert.equal(config.chat.feishuApiBase, 'https://open.feishu.cn');
    assert.throws(() => resolveGatewayConfig({ chat: { feishuApiBase: 'not a url' } }, '/'), /chat.feishuApiBase/);
  });
  test('token-only Feishu: a warning in development, a refusal in production mode', () => {
    const tokenOnly = resolveGatewayConfig({ secrets: { feishu: { verificationToken: [{ env: 'T' }] } } }, '/');
    assert.deepEqual(checkGatewaySecurity(tokenOnly, {}).length, 1);
    assert.match(checkGatewaySecurity(tokenOnly, {})[0], /without an encrypt key/);
    assert.throws(() => checkGatewaySecurity(tokenOnly, { SHIPYARD_MODE: 'production' }), /refusing to start in production mode .*set secrets.feishu.encryptKey/);
    const signed = resolveGatewayConfig({ secrets: { feishu: { verificationToken: [{ env: 'T' }], encryptKey: [{ env: 'K' }] } } }, '/');
    assert.deepEqual(checkGatewaySecurity(signed, { SHIPYARD_MODE: 'production' }), []);
  });
  test('Feishu decision card: decided without buttons; not done with the buttons again', () => {
    const decision = { releaseId: 'release/api/all/abcdef1', gate: 'production/approval', decision: 'approve' as const };
    const decided = decisionCard('Approved by bob: production/approval of release/api/all/abcdef1', 'decided', decision);
    assert.equal(decided.header.template, 'green');
    assert.deepEqual(decided.elements.map((e) => e.tag), ['div']);
    const notDone = decisionCard('Not done: Temporal is unavailable', 'not-done', decision);
    assert.equal(notDone.header.template, 'orange');
    const actions = (notDone.elements[1] as { actions: { value: unknown }[] }).actions;
    assert.deepEqual(actions.map((a) => parseButtonValue(a.value)), [decision, { ...decision, decision: 'reject' }]);
  });
  test('a route naming an unknown environment is refused at load time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gwc-'));
    writeFileSync(join(dir, 'gw.yaml'), `routes:\n  - { repo: a/b, event: push, spec: ${fileURLToPath(new URL('../../../examples/release.yaml', import.meta.url))}, environments: [qa] }\n`);
    assert.throws(() => loadGatewayConfig(join(dir, 'gw.yaml')), /routes\[0\].environments: unknown environment\(s\) qa/);
  });
  test('secrets inlined instead of referenced are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gwc-'));
    writeFileSync(join(dir, 'gw.yaml'), 'secrets:\n  github: [ { env: "ghp_realSecretValue" } ]\n');
    assert.throws(() => loadGatewayConfig(join(dir, 'gw.yaml')), /secrets.github\[0\]/);
  });
});

const body = Buffer.from('{"hello":"world"}');

describe('secrets', () => {
  test('several sources verify at once; a rotated file takes effect without restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sec-'));
    const file = join(dir, 'secret');
    writeFileSync(file, 'old-secret\n');
    const set = new SecretSet('github', [{ env: 'NEW_SECRET' }, { file }, { env: 'UNSET_VAR' }, { file: join(dir, 'missing') }], { NEW_SECRET: 'new-secret' });
    assert.deepEqual(set.values(0).map(String), ['new-secret', 'old-secret']);
    writeFileSync(file, 'rotated-secret');
    assert.deepEqual(set.values(1000).map(String), ['new-secret', 'old-secret'], 'cached for a few seconds');
    assert.deepEqual(set.values(10_000).map(String), ['new-secret', 'rotated-secret']);
  });
});

describe('signatures', () => {
  const secrets = new SecretSet('x', [{ env: 'A' }, { env: 'B' }], { A: 'alpha', B: 'beta' });
  const sign = (key: string, ...parts: string[]) => createHmac('sha256', key).update(parts.join('')).digest('hex');

  test('constant-time compare handles different lengths', () => {
    assert.equal(safeEqual(Buffer.from('a'), Buffer.from('a')), true);
    assert.equal(safeEqual(Buffer.from('a'), Buffer.from('ab')), false);
    assert.equal(safeEqual(Buffer.alloc(0), Buffer.alloc(0)), true);
  });

  test('GitHub: either rotation secret; malformed header named', () => {
    assert.deepEqual(verifyGithub({ 'x-hub-signature-256': `sha256=${sign('beta', body.toString())}` }, body, secrets), { ok: true });
    assert.deepEqual(verifyGithub({ 'x-hub-signature-256': 'sha1=abc' }, body, secrets), { ok: false, reason: 'X-Hub-Signature-256 is not sha256=<64 hex digits>' });
    const none = new SecretSet('github', [{ env: 'NOPE' }], {});
    assert.match((verifyGithub({ 'x-hub-signature-256': `sha256=${'a'.repeat(64)}` }, body, none) as { reason: string }).reason, /no github secret is configured/);
  });

  test('generic: window edges, hex and base64', () => {
    const now = 1_800_000_000_000;
    const ts = String(now / 1000);
    const hex = sign('alpha', `${ts}.`, body.toString());
    const b64 = Buffer.from(hex, 'hex').toString('base64');
    assert.equal(verifyGeneric({ 'x-shipyard-timestamp': ts, 'x-shipyard-signature': hex }, body, secrets, now, 300).ok, true);
    assert.equal(verifyGeneric({ 'x-shipyard-timestamp': ts, 'x-shipyard-signature': b64 }, body, secrets, now, 300).ok, true);
    assert.equal(verifyGeneric({ 'x-shipyard-timestamp': ts, 'x-shipyard-signature': hex }, body, secrets, now + 299_000, 300).ok, true);
    assert.equal(verifyGeneric({ 'x-shipyard-timestamp': ts, 'x-shipyard-signature': hex }, body, secrets, now + 301_000, 300).ok, false);
    assert.equal(verifyGeneric({ 'x-shipyard-timestamp': ts, 'x-shipyard-signature': hex }, body, secrets, now - 301_000, 300).ok, false);
    assert.equal(verifyGeneric({ 'x-shipyard-timestamp': '1e9', 'x-shipyard-signature': hex }, body, secrets, now, 300).ok, false);
    // the timestamp is bound into the signature: replaying with a fresh timestamp fails
    assert.equal(verifyGeneric({ 'x-shipyard-timestamp': String(now / 1000 + 1), 'x-shipyard-signature': hex }, body, secrets, now, 300).ok, false);
  });

  test('Slack v0 and DingTalk', () => {
    const now = 1_800_000_000_000;
    const ts = String(now / 1000);
    assert.equal(verifySlack({ 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${sign('alpha', `v0:${ts}:`, body.toString())}` }, body, secrets, now, 300).ok, true);
    const dts = String(now);
    const dsign = createHmac('sha256', 'beta').update(`${dts}\nbeta`).digest('base64');
    assert.equal(verifyDingtalk({ timestamp: dts, sign: dsign }, secrets, now, 300).ok, true);
    assert.equal(verifyDingtalk({ timestamp: dts, sign: dsign }, secrets, now + 600_000, 300).ok, false);
  });

  test('Feishu AES-256-CBC round trip; a wrong key does not decrypt', () => {
    const keys = new SecretSet('feishu', [{ env: 'K' }], { K: 'encrypt-key' });
    const enc = encryptFeishu('{"a":1}', 'encrypt-key', Buffer.alloc(16, 7));
    assert.equal(decryptFeishu(enc, keys), '{"a":1}');
    assert.equal(decryptFeishu(enc, new SecretSet('feishu', [{ env: 'K' }], { K: 'other' })), undefined);
    assert.equal(decryptFeishu('not base64 at all', keys), undefined);
  });
});

describe('events, routing, chat commands', () => {
  const sha = 'a'.repeat(40);
  test('branch deletion is ignored; odd refs are ignored', () => {
    assert.deepEqual(normalizeGithub('push', 'd', { ref: 'refs/heads/x', after: '0'.repeat(40), deleted: true, repository: { full_name: 'a/b' } }), { ignored: 'refs/heads/x was deleted' });
    assert.match((normalizeGithub('push', 'd', { ref: 'refs/notes/x', after: sha, repository: { full_name: 'a/b' } }) as { ignored: string }).ignored, /neither a branch nor a tag/);
  });

  test('first matching route wins; tag version only when it is a safe tag', () => {
    const route = (over: Partial<LoadedRoute>) => ({ repo: 'acme/*', event: 'tag', buildOnly: false, spec: 's', releaseSpec: {} as never, ...over }) as LoadedRoute;
    const routes = [route({ name: 'semver', tag: 'v*.*.*' }), route({ name: 'any-tag' })];
    const ev = { provider: 'github' as const, kind: 'tag' as const, repo: 'acme/app', ref: 'refs/tags/v1.2.3', tag: 'v1.2.3', commit: sha, deliveryId: 'd', sender: 's' };
    const r = routeEvent(ev, routes) as { routed: { route: LoadedRoute; version: string } };
    assert.equal(r.routed.route.name, 'semver');
    assert.equal(r.routed.version, 'v1.2.3');
    const other = routeEvent({ ...ev, tag: 'nightly', ref: 'refs/tags/nightly' }, routes) as { routed: { route: LoadedRoute } };
    assert.equal(other.routed.route.name, 'any-tag');
    assert.deepEqual(routeEvent({ ...ev, repo: 'other/app' }, routes), { ignored: 'no route for tag of other/app (tag v1.2.3)' });
  });

  test('chat commands and button values', () => {
    const id = `release/app/all/${sha}`;
    assert.deepEqual(parseCommand(`approve ${id} gate=prod/approval ship it`), { releaseId: id, gate: 'prod/approval', decision: 'approve', comment: 'ship it' });
    assert.ok('invalid' in parseCommand('approve'));
    assert.ok('invalid' in parseCommand('deploy now'));
    assert.ok('invalid' in parseButtonValue('{"releaseId":"../../etc","decision":"approve"}'));
    assert.ok('invalid' in parseButtonValue(`{"releaseId":"${id}","decision":"merge"}`));
  });
});
