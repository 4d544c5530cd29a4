// Fuzz: thousands of hostile requests against the real gateway (production mode, real Dex for ID
// tokens, real dev server, activities MOCKED) while a release waits at its approval gate. Nothing
// may crash (no 5xx, no reset connection, /healthz answers at the end), no decision is accepted and
// no release is started. Cases come from a seeded PRNG: FUZZ_SEED=<n> reproduces a run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { ShipyardClient } from '../../client/index.js';
import { createStatementSigner, type StatementRequest } from '../../client/auth/statement-signer.js';
import { publicJwk } from '../../config/decision-keys.js';
import type { DecisionTrust } from '../../workflows/decision-statement.js';
import { ROLES } from '../../workers/worker.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { randomCommit, settings, uniqueName, uniqueQueues, withWorkers } from '../helpers/temporal.js';
import { dingtalkHeaders, feishuHeaders, genericHeaders, githubHeaders, gatewayConfig, identitySection, gitlabHeaders, SECRETS, slackRequest, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startDex, type Dex } from '../helpers/dex.js';
import { hit, inBatches, mutatedForgery, prng, signedForgeries, strangerKeys, unicodeJunk, type Forgery, type ForgeryMaterial, type Outcome, type Rng } from '../helpers/hostile.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261124) >>> 0;
const WIDTH = 32;
const BODY_LIMIT = 64 * 1024;
const queues = uniqueQueues('fuzz');
const service = uniqueName('fuzz');
const GATE = 'production/approval';
const spec = twoEnvSpec({ service, withBuild: false, production: { approval: { approvers: ['group:sre', 'bob@example.com'], required: 2, timeout: '1h', fourEyes: true } } });
const { privateKey } = generateKeyPairSync('ed25519');
const { privateKey: strangerKey } = generateKeyPairSync('ed25519');
const trust: DecisionTrust = { requireSigned: true, keys: [{ kid: 'k1', x: publicJwk(privateKey, 'k1').x }] };
let dex: Dex;
let shipyard: ShipyardClient;
let gw: RunningGateway;

before(async () => {
  // ID tokens live 1 s (+ the verifier's 30 s tolerance): the run's first tokens are expired by its end.
  dex = await startDex({ idTokenExpiry: '1s' });
  shipyard = new ShipyardClient((await ShipyardClient.connect(settings())).client, settings(), queues);
  const config = gatewayConfig(spec, { bodyLimit: BODY_LIMIT, identity: identitySection({ issuer: dex.issuer, audience: dex.clientId }, privateKey) });
  gw = await startGateway(shipyard, config, { env: { ...SECRETS, SHIPYARD_MODE: 'production' } });
});
after(async () => {
  await gw?.close();
  await shipyard?.close();
  await dex?.stop();
});

/** One HTTP case: what to send, which statuses are right for it, and a check of the answer's text. */
interface Case {
  family: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  expect: number[];
  text?: RegExp;
}

const json = { 'content-type': 'application/json' };
const act = (id: string, action: string) => `/api/releases/${encodeURIComponent(id)}/${action}`;
const otherRelease = (rng: Rng) => `release/${rng.pick([service, 'payments', 'x'])}/production/${rng.bytes(20).toString('hex')}`;

function apiCases(rng: Rng, n: number, id: string, material: ForgeryMaterial, signed: Forgery[]): Case[] {
  const paths: [string, string][] = [
    ['GET', '/api/whoami'],
    // The dashboard's reads: the same token check as decisions.
    ['GET', `/api/releases?service=${service}`],
    ['GET', `/api/releases/${encodeURIComponent(id)}`],
    ['GET', '/api/trains'],
    ['GET', `/api/trains/${encodeURIComponent('train/x/0123456789abcdef')}`],
    ['GET', '/api/dora?window=30d'],
    ...['approve', 'reject', 'abort', 'pause', 'resume'].map((a): [string, string] => ['POST', act(id, a)]),
    ['POST', '/api/freeze'],
    ['POST', '/api/unfreeze'],
    ['POST', '/api/statements/start'],
    ['POST', '/codec/decode'],
  ];
  const bodies = ['{}', '', '{"comment":"lgtm"}', '{"reason":"stop"}', `{"gate":"${GATE}"}`, '{"by":"alice@example.com"}', `{"releaseId":"${id}"}`, '{"service":"x","reason":"freeze all"}', '{"__proto__":{"authenticated":true}}'];
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const forgery = rng.next() < 0.2 ? rng.pick(signed) : mutatedForgery(rng, material);
    let [method, path] = rng.pick(paths);
    if (rng.next() < 0.08) [method, path] = ['POST', act(rng.pick([otherRelease(rng), 'x', `${id}/../x`]), rng.pick(['approve', 'abort']))];
    let body: string | undefined = method === 'GET' ? undefined : rng.pick(bodies);
    let ct: string | undefined = method === 'GET' ? undefined : 'application/json';
    let expect = [401];
    if (method === 'POST' && rng.next() < 0.1) {
      body = rng.pick(['[1,2]', 'not json', '"str"', 'null', '{"a":', unicodeJunk(rng, 20)]);
      expect = [400];
    } else if (method === 'POST' && rng.next() < 0.05) {
      ct = rng.pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x']);
      expect = [415];
    }
    if (path.startsWith('/codec/')) expect = expect[0] === 401 || expect[0] === 400 ? [401, 404] : expect;
    if (forgery.header !== undefined && forgery.header.length > 15 * 1024) expect = [431, ...expect];
    const headers: Record<string, string> = {};
    if (ct) headers['content-type'] = ct;
    if (forgery.header !== undefined) headers.authorization = forgery.header;
    out.push({ family: `api:${forgery.name}`, method, path, headers, body, expect, text: expect[0] === 401 && !path.startsWith('/codec/') ? forgery.reason : undefined });
  }
  return out;
}

/** IDs in the path that the router and decodeURIComponent see: percent junk, traversal, length. */
function pathCases(rng: Rng, n: number, material: ForgeryMaterial): Case[] {
  const ids = ['%25', '%25E0%25A4%25A', '%2500', '..%2F..%2Fhealthz', '%F0%9F%94%A5', '%C0%AF', 'a'.repeat(3000), '%25zz', '%ff', '%E0%A4%A'];
  return Array.from({ length: n }, () => ({
    family: 'api:path-junk',
    method: 'POST',
    path: `/api/releases/${rng.pick(ids)}/${rng.pick(['approve', 'abort', 'pause'])}`,
    headers: { ...json, authorization: mutatedForgery(rng, material).header ?? 'Bearer x' },
    body: '{}',
    expect: [400, 401, 404, 414, 431],
  }));
}

function webhookCases(rng: Rng, n: number): Case[] {
  const out: Case[] = [];
  const push = (repo: string) => JSON.stringify({ ref: 'refs/heads/main', after: rng.bytes(20).toString('hex'), repository: { full_name: repo }, sender: { login: 'mallory' } });
  const generic = (repo: string) => JSON.stringify({ repo, event: 'push', ref: 'refs/heads/main', commit: rng.bytes(20).toString('hex'), sender: 'mallory' });
  const routed = () => rng.pick(['acme/hello-api', 'acme/anything']); // would start a release if ever accepted
  const malformed = () => rng.pick(['{', '[', 'nul', '{"ref":', unicodeJunk(rng, 30), '{"a":1}garbage']);
  const oversized = () => Buffer.alloc(BODY_LIMIT + rng.int(1, 4096), 'a');
  for (let i = 0; i < n; i++) {
    const kind = rng.int(0, 13);
    const gh = (body: string | Buffer, headers: Record<string, string>, expect: number[], family: string) => out.push({ family: `webhook:${family}`, method: 'POST', path: '/webhooks/github', headers, body, expect });
    const body = push(routed());
    if (kind === 0) gh(body, { ...json, 'x-github-event': 'push' }, [401], 'github-missing-signature');
    else if (kind === 1) gh(body, githubHeaders('push', body, 'wrong-secret'), [401], 'github-wrong-secret');
    else if (kind === 2) gh(body, githubHeaders('push', push(routed())), [401], 'github-signature-over-other-bytes');
    else if (kind === 3) gh(body, { ...githubHeaders('push', body), 'x-hub-signature-256': rng.pick(['sha256=', 'sha1=abc', 'sha256=zz', `sha256=${'0'.repeat(64)}`, unicodeJunk(rng, 10)]) }, [401], 'github-junk-signature');
    else if (kind === 4) {
      const bad = malformed();
      gh(bad, githubHeaders('push', bad), [400], 'github-valid-signature-malformed-json');
    } else if (kind === 5) gh(body, { ...githubHeaders('push', body), 'content-type': rng.pick(['text/plain', 'application/xml', 'application/octet-stream']) }, [415], 'github-wrong-content-type');
    else if (kind === 6) {
      const big = oversized();
      gh(big, githubHeaders('push', big.toString()), [413], 'github-oversized');
    } else if (kind === 7) {
      const other = push(`evil/${rng.bytes(4).toString('hex')}`);
      gh(other, githubHeaders('push', other), [202], 'github-valid-unrouted-repo');
    } else if (kind === 8) {
      out.push({ family: 'webhook:gitlab-bad-token', method: 'POST', path: '/webhooks/gitlab', headers: gitlabHeaders('Push Hook', rng.pick(['', 'nope', SECRETS.GITLAB_TOKEN + 'x', SECRETS.GITLAB_TOKEN.slice(1)])), body: body, expect: [401] });
    } else if (kind === 9) {
      out.push({ family: 'webhook:gitlab-malformed-json', method: 'POST', path: '/webhooks/gitlab', headers: gitlabHeaders('Push Hook'), body: malformed(), expect: [400] });
    } else {
      const g = generic(routed());
      const [family, headers, expect] = rng.pick<[string, Record<string, string>, number[]]>([
        ['generic-stale', genericHeaders(g, { at: Date.now() - rng.int(301, 86_400) * 1000 }), [401]],
        ['generic-future', genericHeaders(g, { at: Date.now() + rng.int(301, 86_400) * 1000 }), [401]],
        ['generic-wrong-secret', genericHeaders(g, { secret: 'nope' }), [401]],
        ['generic-no-timestamp', { ...json, 'x-shipyard-signature': `sha256=${createHmac('sha256', SECRETS.GENERIC_SECRET).update(g).digest('hex')}` }, [401]],
        ['generic-junk-timestamp', { ...genericHeaders(g), 'x-shipyard-timestamp': rng.pick(['abc', '-1', '1e30', '', '99999999999999999999']) }, [401]],
      ]);
      out.push({ family: `webhook:${family}`, method: 'POST', path: '/webhooks/generic', headers, body: g, expect });
      if (kind === 13) {
        const bad = malformed();
        out.push({ family: 'webhook:generic-valid-signature-malformed-json', method: 'POST', path: '/webhooks/generic', headers: genericHeaders(bad), body: bad, expect: [400] });
      }
    }
  }
  return out;
}

/**
 * Chat callbacks. Valid signatures only ever carry decisions that must be refused: carol (mapped,
 * no approver) or an unmapped user on the parked release, anyone on a release that does not exist.
 */
function chatCases(rng: Rng, n: number, id: string): { first: Case[]; replays: Case[] } {
  const first: Case[] = [];
  const replays: Case[] = [];
  const button = (releaseId: string, decision = rng.pick(['approve', 'reject'])) => JSON.stringify({ releaseId, gate: GATE, decision });
  const slack = (user: string, value: string) => ({ type: 'block_actions', user: { id: user }, actions: [{ value }] });
  const stale = () => Date.now() - rng.int(301, 86_400) * 1000;
  for (let i = 0; i < n; i++) {
    const kind = rng.int(0, 11);
    if (kind <= 3) {
      const r = slackRequest(slack(rng.pick(['U0CAROL', 'U0MALLORY']), button(id, 'approve')), rng.pick([{ secret: 'wrong' }, { at: stale() }, { at: Date.now() + 3_600_000 }]));
      const headers = rng.next() < 0.2 ? { ...r.headers, 'x-slack-signature': rng.pick(['', 'v0=', 'v1=abc', unicodeJunk(rng, 8)]) } : r.headers;
      first.push({ family: 'chat:slack-bad-signature', method: 'POST', path: '/chat/slack/interactions', headers, body: r.body, expect: [401] });
    } else if (kind === 4) {
      const r = slackRequest(slack('U0CAROL', button(id)));
      first.push({ family: 'chat:slack-wrong-content-type', method: 'POST', path: '/chat/slack/interactions', headers: { ...r.headers, 'content-type': 'application/json' }, body: r.body, expect: [415] });
    } else if (kind === 5) {
      const body = rng.pick(['payload=%7B', 'payload=', 'nothing=1', `payload=${encodeURIComponent('[1]')}`, 'payload=%ZZ%', `payload=${encodeURIComponent(JSON.stringify(slack('U0CAROL', '{bad')))}`, `payload=${encodeURIComponent(JSON.stringify(slack('U0CAROL', button('release/../../x'))))}`]);
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = `v0=${createHmac('sha256', SECRETS.SLACK_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
      const c: Case = { family: 'chat:slack-malformed-payload', method: 'POST', path: '/chat/slack/interactions', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': sig }, body, expect: [200, 400, 409] };
      first.push(c);
      replays.push({ ...c, family: 'chat:slack-replayed', expect: [409] });
    } else if (kind === 6) {
      // A valid button from an unmapped user or for a release that does not exist: refused in the answer.
      const r = slackRequest(slack(rng.pick(['U0MALLORY', 'U0CAROL', 'U0ALICE']), button(otherRelease(rng))));
      const c: Case = { family: 'chat:slack-button-other-release', method: 'POST', path: '/chat/slack/interactions', headers: r.headers, body: r.body, expect: [200], text: /not mapped|Not done/ };
      first.push(c);
      replays.push({ ...c, family: 'chat:slack-replayed', expect: [409], text: undefined });
    } else if (kind === 7) {
      const body = JSON.stringify({ header: { token: rng.pick([SECRETS.FEISHU_TOKEN, 'wrong']) }, event: { operator: { open_id: 'ou_bob' }, action: { value: button(id) } } });
      const h = feishuHeaders(body, rng.pick([{ key: 'wrong' }, { at: stale() }]));
      first.push({ family: 'chat:feishu-bad-signature', method: 'POST', path: '/chat/feishu/callback', headers: h, body, expect: [401] });
    } else if (kind === 8) {
      const body = rng.pick(['{', '[]', 'null', unicodeJunk(rng, 20)]);
      first.push({ family: 'chat:feishu-malformed', method: 'POST', path: '/chat/feishu/callback', headers: feishuHeaders(body), body, expect: [400, 401] });
      const enc = JSON.stringify({ encrypt: rng.bytes(rng.int(0, 200)).toString('base64') });
      first.push({ family: 'chat:feishu-undecryptable', method: 'POST', path: '/chat/feishu/callback', headers: feishuHeaders(enc), body: enc, expect: [401] });
    } else if (kind === 9) {
      // Right signature, wrong verification token: refused before any replay bookkeeping.
      const body = JSON.stringify({ header: { token: rng.pick(['', 'wrong', null, 5]) }, event: { operator: { open_id: 'ou_bob' }, action: { value: button(id, 'approve') } } });
      first.push({ family: 'chat:feishu-wrong-token', method: 'POST', path: '/chat/feishu/callback', headers: feishuHeaders(body), body, expect: [401] });
    } else if (kind === 10) {
      const body = JSON.stringify({ text: { content: `approve ${id}` }, senderStaffId: 'staff_alice' });
      const h = dingtalkHeaders(rng.pick([{ secret: 'wrong' }, { at: stale() }, { at: Date.now() + 3_600_000 }]));
      first.push({ family: 'chat:dingtalk-bad-signature', method: 'POST', path: '/chat/dingtalk/callback', headers: rng.next() < 0.2 ? { ...json, timestamp: h.timestamp } : h, body, expect: [401] });
    } else {
      const body = rng.pick([
        '{',
        JSON.stringify({ text: { content: rng.pick(['approve', 'approve ../..', 'rm -rf /', unicodeJunk(rng, 20)]) }, senderStaffId: 'staff_alice' }),
        JSON.stringify({ text: { content: `approve ${id}` }, senderStaffId: 'staff_mallory' }),
        JSON.stringify({ text: { content: `reject ${otherRelease(rng)}` }, senderStaffId: 'staff_alice' }),
      ]);
      const c: Case = { family: 'chat:dingtalk-signed-harmless', method: 'POST', path: '/chat/dingtalk/callback', headers: dingtalkHeaders(), body, expect: body === '{' ? [400, 409] : [200, 409] };
      first.push(c);
      replays.push({ ...c, family: 'chat:dingtalk-replayed', expect: [409] });
    }
  }
  return { first, replays };
}

/** Statements sent straight to Temporal: every one must be refused by the release's validator. */
async function statementCases(rng: Rng, n: number, id: string) {
  const real = createStatementSigner({ key: privateKey, kid: 'k1' });
  const claims = (over: Partial<StatementRequest>): StatementRequest => ({ rel: id, act: 'approve', gate: GATE, sub: 'erin@example.com', groups: ['sre'], via: 'api', idp: dex.issuer, ...over });
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const makers: [string, () => Promise<string>][] = [
    ['other-release', () => real.sign(claims({ rel: otherRelease(rng) }))],
    ['wrong-gate', () => real.sign(claims({ gate: rng.pick(['staging/approval', 'production/other', 'x']) }))],
    ['expired', () => createStatementSigner({ key: privateKey, kid: 'k1', now: () => Date.now() - rng.int(200, 86_400) * 1000 }).sign(claims({}))],
    ['future', () => createStatementSigner({ key: privateKey, kid: 'k1', now: () => Date.now() + rng.int(600, 86_400) * 1000 }).sign(claims({}))],
    // Signed for the right release but another action: approve-side acts only ever go to control, and back.
    ['wrong-action', () => real.sign(claims({ act: rng.pick(['start', 'reject'] as const) }))],
    ['wrong-kid', () => createStatementSigner({ key: privateKey, kid: rng.pick(['k2', 'K1', 'k1 ', '']) }).sign(claims({}))],
    ['stranger-key', () => createStatementSigner({ key: strangerKey, kid: 'k1' }).sign(claims({}))],
    ['tampered', async () => {
      const [h, , s] = (await real.sign(claims({ rel: otherRelease(rng) }))).split('.');
      const c = { ...claims({}), iss: 'shipyard-gateway', aud: 'shipyard-release', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60, jti: rng.bytes(8).toString('hex') };
      return `${h}.${b64(c)}.${s}`;
    }],
    ['alg-none', async () => `${b64({ alg: rng.pick(['none', 'HS256', 'RS256']), kid: 'k1' })}.${(await real.sign(claims({}))).split('.')[1]}.`],
    ['garbage', async () => rng.pick(['', 'x', 'a.b.c', '...', rng.bytes(rng.int(1, 5000)).toString('base64url'), unicodeJunk(rng, 50), 'e'.repeat(20_000)])],
  ];
  const out: { family: string; run: () => Promise<unknown> }[] = [];
  for (let i = 0; i < n; i++) {
    const [name, make] = rng.pick(makers);
    const statement = await make();
    const control = rng.next() < 0.3;
    // An approve-statement for the right release and gate must not pass as a control action, and vice versa.
    const action = rng.pick(['abort', 'pause'] as const);
    out.push(
      control
        ? { family: `temporal:control-${name}`, run: () => shipyard.control(id, { action, by: 'mallory', reason: 'fuzz', statement }) }
        : { family: `temporal:approve-${name}`, run: () => shipyard.approve(id, { approver: rng.pick(['erin@example.com', 'bob@example.com']), gate: GATE, statement }) },
    );
  }
  return out;
}

test(`gateway fuzz (seed ${SEED}): no crash, no decision accepted, no release started`, { timeout: 300_000 }, async (t) => {
  const world = new FakeWorld();
  await withWorkers(queues, world.activities(), async () => {
    const { releaseId: id } = await startRelease(shipyard, queues, spec, { commit: randomCommit(), trigger: { kind: 'cli', by: 'carol@example.com' } });
    await waitForStatus(shipyard, id, (s) => s.approvals.pending?.gate === GATE, 'gate');
    const rng = prng(SEED);
    const real = await dex.token('carol');
    const expiresAt = Number(JSON.parse(Buffer.from(real.split('.')[1], 'base64url').toString()).exp) * 1000;
    const jwksText = await (await fetch(`${dex.issuer}/keys`)).text();
    const material: ForgeryMaterial = { real, otherAudience: await dex.token('carol', undefined, { client: 'other' }), issuer: dex.issuer, jwksText, dexKid: String(JSON.parse(Buffer.from(real.split('.')[0], 'base64url').toString()).kid) };
    const signed = await signedForgeries(material, strangerKeys());

    const cases = [...apiCases(rng, 2600, id, material, signed), ...pathCases(rng, 150, material), ...webhookCases(rng, 1100)];
    const chat = chatCases(rng, 1100, id);
    cases.push(...chat.first);
    // Deterministic shuffle so families interleave (and run concurrently with each other).
    for (let i = cases.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [cases[i], cases[j]] = [cases[j], cases[i]];
    }
    const statements = await statementCases(rng, 300, id);

    const started = Date.now();
    const outcomes: { c: Case; o: Outcome }[] = [];
    const send = async (c: Case) => outcomes.push({ c, o: await hit(`${gw.url}${c.path}`, { method: c.method, headers: c.headers, body: c.body }) });
    const accepted: string[] = [];
    const temporalRun = inBatches(statements, 8, async (s) => {
      try {
        await s.run();
        accepted.push(s.family);
      } catch {
        // refused: what every one of them must be
      }
    });
    await inBatches(cases, WIDTH, send);
    await inBatches(chat.replays, WIDTH, send);
    // Unsigned signals in production mode: recorded as refusals, change nothing.
    const mid = await shipyard.status(id);
    assert.equal(mid.outcome, 'running', JSON.stringify({ outcome: mid.outcome, error: (mid as any).error, decisions: mid.approvals.decisions, abort: mid.abort, refusals: mid.refusals?.slice(0, 3) }));
    for (let i = 0; i < 10; i++) await (i % 2 ? shipyard.pause(id, 'mallory', 'fuzz') : shipyard.abort(id, 'mallory', 'fuzz'));
    await temporalRun;
    // Expired: the first token, once past its expiry and the verifier's clock tolerance.
    const wait = expiresAt + 32_000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const expired: Case[] = Array.from({ length: 100 }, (_, i) => ({
      family: 'api:expired',
      method: i % 3 ? 'POST' : 'GET',
      path: i % 3 ? act(id, ['approve', 'abort', 'pause'][i % 3]) : '/api/whoami',
      headers: { ...json, authorization: `Bearer ${real}` },
      body: i % 3 ? '{}' : undefined,
      expect: [401],
      text: /expired/,
    }));
    await inBatches(expired, WIDTH, send);
    const seconds = (Date.now() - started) / 1000;

    // ---- what the world says ----
    const byStatus: Record<string, number> = {};
    const byFamily: Record<string, number> = {};
    for (const { c, o } of outcomes) {
      byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
      byFamily[c.family] = (byFamily[c.family] ?? 0) + 1;
    }
    for (const s of statements) byFamily[s.family] = (byFamily[s.family] ?? 0) + 1;
    t.diagnostic(`seed ${SEED}: ${outcomes.length} HTTP requests + ${statements.length} direct Temporal updates + 10 unsigned signals in ${seconds.toFixed(1)} s`);
    t.diagnostic(`by status: ${JSON.stringify(byStatus)}`);
    t.diagnostic(`by family: ${JSON.stringify(byFamily)}`);
    console.log(`gateway fuzz seed=${SEED} requests=${outcomes.length} temporal=${statements.length} seconds=${seconds.toFixed(1)} status=${JSON.stringify(byStatus)}`);

    const crashes = outcomes.filter(({ o }) => o.status === 'reset' || o.status >= 500);
    assert.deepEqual(crashes.slice(0, 5).map(({ c, o }) => `${c.family} ${c.method} ${c.path.slice(0, 80)} -> ${o.status} ${o.text.slice(0, 200)}`), [], `${crashes.length} crashes`);
    const wrong = outcomes.filter(({ c, o }) => !c.expect.includes(o.status as number) || (c.text && !c.text.test(o.text)));
    assert.deepEqual(wrong.slice(0, 5).map(({ c, o }) => `${c.family} ${c.method} ${c.path.slice(0, 80)} expected ${c.expect} (${c.text ?? ''}) got ${o.status} ${o.text.slice(0, 200)}`), [], `${wrong.length} unexpected answers`);
    assert.ok(outcomes.length >= 5000, `${outcomes.length} requests`);
    assert.deepEqual(accepted, [], 'direct updates accepted');

    const s = await shipyard.status(id);
    assert.equal(s.outcome, 'running');
    assert.deepEqual(s.approvals.decisions, []);
    assert.equal(s.approvals.pending?.gate, GATE);
    assert.equal(s.abort, null);
    assert.equal(s.paused, null);
    assert.ok((s.refusals ?? []).length >= 1, 'unsigned signals show as refusals');
    const releases = await shipyard.list({ service });
    assert.deepEqual(releases.map((r) => r.releaseId), [id], 'only the release the test started');
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    // The gateway still verifies a real caller (so the 401s above were the tokens' fault).
    const me = await fetch(`${gw.url}/api/whoami`, { headers: { authorization: `Bearer ${await dex.token('carol')}` } });
    assert.equal(me.status, 200);
    await shipyard.client.workflow.getHandle(id).terminate('fuzz done');
  }, ROLES, { trust: () => trust });
});
