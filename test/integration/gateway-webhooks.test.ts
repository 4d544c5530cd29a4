// The webhook gateway on a real loopback listener, starting releases on the real dev server:
// provider payloads signed as each provider signs them, routing, redelivery idempotency, every class
// of bad input (nothing started), and a bounded fuzz run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ShipyardClient } from '../../client/index.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { eventually, settings, uniqueName, uniqueQueues } from '../helpers/temporal.js';
import { startInput } from '../helpers/release.js';
import {
  gatewayConfig,
  genericHeaders,
  githubHeaders,
  gitlabHeaders,
  send,
  SECRETS,
  startGateway,
  type RunningGateway,
} from '../helpers/gateway.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/webhooks/', import.meta.url));
const fixture = (name: string) => readFileSync(`${FIXTURES}${name}.json`, 'utf8');
const service = uniqueName('gw');
let shipyard: ShipyardClient;
let gw: RunningGateway;

before(async () => {
  // Nobody polls these queues: the started releases simply wait, which is all these tests need.
  const queues = uniqueQueues('gw-idle');
  shipyard = new ShipyardClient((await ShipyardClient.connect(settings())).client, settings(), queues);
  gw = await startGateway(shipyard, gatewayConfig(twoEnvSpec({ service })));
});
after(async () => {
  await gw.close();
  await shipyard.close();
});

async function releases(): Promise<string[]> {
  return (await shipyard.list({ service, limit: 500 })).map((r) => r.releaseId);
}

/** Asserts that, after a moment for visibility, no release beyond `before` exists. */
async function assertNothingStarted(before: string[]) {
  await new Promise((r) => setTimeout(r, 800));
  assert.deepEqual((await releases()).sort(), before.sort(), 'no new release may start');
}

describe('webhooks start releases (real dev server, real HTTP)', () => {
  test('senders map: the trigger is the mapped identity; an unmapped login names no approver', async () => {
    const mappedService = uniqueName('gwsend');
    const mapped = await startGateway(shipyard, gatewayConfig(twoEnvSpec({ service: mappedService }), { senders: { github: { octocat: 'alice' } } }));
    try {
      const body = fixture('github-push');
      const first = await send(`${mapped.url}/webhooks/github`, body, githubHeaders('push', body));
      assert.equal(first.status, 202, first.text);
      assert.equal((await startInput(shipyard, first.body.releaseId)).trigger.by, 'alice');
      const stranger = body.replace('"login": "octocat"', '"login": "mallory"').replace(/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c/g, 'b'.repeat(40));
      const second = await send(`${mapped.url}/webhooks/github`, stranger, githubHeaders('push', stranger));
      assert.equal(second.status, 202, second.text);
      assert.equal((await startInput(shipyard, second.body.releaseId)).trigger.by, 'github:mallory');
    } finally {
      await mapped.close();
    }
  });

  test('GitHub push to main: staging release; the same delivery again starts nothing new', async () => {
    const body = fixture('github-push');
    const headers = githubHeaders('push', body, SECRETS.GITHUB_SECRET, 'delivery-push-1');
    const first = await send(`${gw.url}/webhooks/github`, body, headers);
    assert.equal(first.status, 202, first.text);
    assert.equal(first.body.status, 'started');
    assert.equal(first.body.releaseId, `release/${service}/staging/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c`);
    assert.equal(first.body.deliveryId, 'delivery-push-1');
    const again = await send(`${gw.url}/webhooks/github`, body, headers);
    assert.equal(again.status, 202);
    assert.equal(again.body.status, 'existing');
    assert.equal(again.body.releaseId, first.body.releaseId);
    await eventually(async () => (await releases()).filter((id) => id === first.body.releaseId).length === 1, 10_000, 'one workflow');
    const input = await startInput(shipyard, first.body.releaseId);
    // commitTime: head_commit.timestamp (14:02:21+01:00), for DORA lead time.
    assert.deepEqual(input.trigger, { kind: 'webhook', by: 'octocat', ref: 'refs/heads/main', deliveryId: 'github:delivery-push-1', commitTime: '2026-11-20T13:02:21.000Z' });
    assert.equal(input.version, '0d1a26e67d8f');
    assert.deepEqual(input.environments, ['staging']);
    assert.equal(input.untrusted, undefined, 'a push to a trusted route builds as before');
  });

  test('GitHub tag v1.2.3: a release to every environment, versioned by the tag', async () => {
    const body = fixture('github-tag');
    const res = await send(`${gw.url}/webhooks/github`, body, githubHeaders('push', body));
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.releaseId, `release/${service}/all/a1b2c3d4e5f60718293a4b5c6d7e8f9012345678`);
    assert.equal((await startInput(shipyard, res.body.releaseId)).version, 'v1.2.3');
  });

  test('GitHub pull request: a build-only release; a closed PR is ignored', async () => {
    const body = fixture('github-pull_request');
    const res = await send(`${gw.url}/webhooks/github`, body, githubHeaders('pull_request', body));
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.releaseId, `release/${service}/build/c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00`);
    const input = await startInput(shipyard, res.body.releaseId);
    assert.equal(input.buildOnly, true);
    assert.equal(input.untrusted, true, 'a pull request builds sandboxed');
    const closed = JSON.stringify({ ...JSON.parse(body), action: 'closed' });
    const ignored = await send(`${gw.url}/webhooks/github`, closed, githubHeaders('pull_request', closed));
    assert.equal(ignored.status, 202);
    assert.deepEqual(ignored.body, { status: 'ignored', reason: "pull_request action 'closed' starts nothing" });
  });

  test('GitHub pull request from a fork: 202 ignored, nothing started (the route does not set allowForks)', async () => {
    const before = await releases();
    const pr = JSON.parse(fixture('github-pull_request'));
    pr.pull_request.head.repo = { full_name: 'mallory/hello-api' };
    pr.pull_request.head.sha = 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0';
    const body = JSON.stringify(pr);
    const res = await send(`${gw.url}/webhooks/github`, body, githubHeaders('pull_request', body));
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.body, { status: 'ignored', reason: 'pull request 42 of acme/hello-api comes from a fork; route prs does not set allowForks', deliveryId: res.body.deliveryId });
    await assertNothingStarted(before);
  });

  test('GitHub ping answers pong and starts nothing; the rotated-out secret still verifies', async () => {
    const before = await releases();
    const body = fixture('github-ping');
    const res = await send(`${gw.url}/webhooks/github`, body, githubHeaders('ping', body, SECRETS.GITHUB_SECRET_OLD));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'pong' });
    await assertNothingStarted(before);
  });

  test('GitLab push, tag and merge request; Idempotency-Key redelivery', async () => {
    const push = fixture('gitlab-push');
    const headers = gitlabHeaders('Push Hook', SECRETS.GITLAB_TOKEN, 'gl-key-1');
    const a = await send(`${gw.url}/webhooks/gitlab`, push, headers);
    const b = await send(`${gw.url}/webhooks/gitlab`, push, headers);
    assert.equal(a.status, 202, a.text);
    assert.deepEqual([a.body.status, b.body.status], ['started', 'existing']);
    assert.equal(a.body.releaseId, `release/${service}/staging/da1560886d4f094c3e6c9ef40349f7d38b5d27d7`);
    assert.equal(a.body.deliveryId, 'gl-key-1');
    // The commit of commits[] that is checkout_sha, 14:02:21+02:00.
    assert.equal((await startInput(shipyard, a.body.releaseId)).trigger.commitTime, '2026-11-20T12:02:21.000Z');
    const tag = await send(`${gw.url}/webhooks/gitlab`, fixture('gitlab-tag'), gitlabHeaders('Tag Push Hook'));
    assert.equal(tag.body.releaseId, `release/${service}/all/82b3d5ae55f7080f1e6022629cdb57bfae7cccc7`);
    assert.equal((await startInput(shipyard, tag.body.releaseId)).version, 'v2.0.0');
    const mr = await send(`${gw.url}/webhooks/gitlab`, fixture('gitlab-merge_request'), gitlabHeaders('Merge Request Hook'));
    assert.equal(mr.body.releaseId, `release/${service}/build/da1560886d4f094c3e6c9ef40349f7d38b5d27d8`);
  });

  test('generic: hex and base64 signatures; the same delivery twice gives one release', async () => {
    const body = JSON.stringify({ ...JSON.parse(fixture('generic-push')), commit: randomBytes(20).toString('hex') });
    const a = await send(`${gw.url}/webhooks/generic`, body, genericHeaders(body, { delivery: 'jenkins-77' }));
    const b = await send(`${gw.url}/webhooks/generic`, body, genericHeaders(body, { delivery: 'jenkins-77', encoding: 'base64' }));
    assert.equal(a.status, 202, a.text);
    assert.equal(b.status, 202, b.text);
    assert.deepEqual([a.body.status, b.body.status], ['started', 'existing']);
    assert.equal(a.body.releaseId, b.body.releaseId);
  });

  test('an event no route matches is 202 ignored with the reason', async () => {
    const before = await releases();
    const body = JSON.stringify({ ...JSON.parse(fixture('github-push')), ref: 'refs/heads/feature/x' });
    const res = await send(`${gw.url}/webhooks/github`, body, githubHeaders('push', body));
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { status: 'ignored', reason: 'no route for push of acme/hello-api (branch feature/x)', deliveryId: res.body.deliveryId });
    const other = await send(`${gw.url}/webhooks/github`, fixture('github-push'), githubHeaders('issues', fixture('github-push')));
    assert.equal(other.status, 202);
    assert.match(other.body.reason, /GitHub event 'issues' is not routed/);
    await assertNothingStarted(before);
  });
});

describe('bad input is refused with a clear JSON error and starts nothing', () => {
  const push = () => fixture('github-push');
  const cases: { name: string; status: number; error: RegExp; detail?: RegExp; request: () => { path: string; body: string | Buffer; headers: Record<string, string> } }[] = [
    { name: 'forged signature', status: 401, error: /unauthorized/, detail: /signature does not match/, request: () => ({ path: 'github', body: push(), headers: { ...githubHeaders('push', push()), 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` } }) },
    { name: 'missing signature', status: 401, error: /unauthorized/, detail: /missing X-Hub-Signature-256/, request: () => { const h: Record<string, string> = githubHeaders('push', push()); delete h['x-hub-signature-256']; return { path: 'github', body: push(), headers: h }; } },
    { name: 'wrong secret', status: 401, error: /unauthorized/, detail: /signature does not match/, request: () => ({ path: 'github', body: push(), headers: githubHeaders('push', push(), 'not-the-secret') }) },
    { name: 'wrong GitLab token', status: 401, error: /unauthorized/, detail: /signature does not match/, request: () => ({ path: 'gitlab', body: fixture('gitlab-push'), headers: gitlabHeaders('Push Hook', 'guess') }) },
    { name: 'stale generic timestamp', status: 401, error: /unauthorized/, detail: /outside the 300s replay window/, request: () => { const b = fixture('generic-push'); return { path: 'generic', body: b, headers: genericHeaders(b, { at: Date.now() - 10 * 60_000 }) }; } },
    { name: 'future generic timestamp', status: 401, error: /unauthorized/, detail: /outside the 300s replay window/, request: () => { const b = fixture('generic-push'); return { path: 'generic', body: b, headers: genericHeaders(b, { at: Date.now() + 10 * 60_000 }) }; } },
    { name: 'truncated body', status: 401, error: /unauthorized/, detail: /signature does not match/, request: () => ({ path: 'github', body: push().slice(0, 200), headers: githubHeaders('push', push()) }) },
    { name: 'oversized body', status: 413, error: /payload too large/, request: () => { const b = JSON.stringify({ pad: 'x'.repeat(1100 * 1024) }); return { path: 'github', body: b, headers: githubHeaders('push', b) }; } },
    { name: 'wrong content type', status: 415, error: /unsupported media type/, request: () => ({ path: 'github', body: push(), headers: { ...githubHeaders('push', push()), 'content-type': 'text/plain' } }) },
    { name: 'form-encoded GitHub delivery', status: 415, error: /unsupported media type/, request: () => ({ path: 'github', body: `payload=${encodeURIComponent(push())}`, headers: { ...githubHeaders('push', push()), 'content-type': 'application/x-www-form-urlencoded' } }) },
    { name: 'malformed JSON', status: 400, error: /malformed JSON/, request: () => { const b = '{"ref": "refs/heads/main",'; return { path: 'github', body: b, headers: githubHeaders('push', b) }; } },
    { name: 'a push without a commit', status: 400, error: /bad event/, detail: /no 40-hex commit/, request: () => { const b = JSON.stringify({ ...JSON.parse(push()), after: 'HEAD' }); return { path: 'github', body: b, headers: githubHeaders('push', b) }; } },
    { name: 'unknown path', status: 404, error: /not found/, request: () => ({ path: 'bitbucket', body: push(), headers: { 'content-type': 'application/json' } }) },
  ];

  for (const c of cases) {
    test(`${c.name}: ${c.status}`, async () => {
      const before = await releases();
      const { path, body, headers } = c.request();
      const res = await send(`${gw.url}/webhooks/${path}`, body, headers);
      assert.equal(res.status, c.status, res.text);
      assert.match(res.body.error, c.error);
      if (c.detail) assert.match(res.body.detail, c.detail);
      for (const secret of Object.values(SECRETS)) assert.ok(!res.text.includes(secret), 'a response never contains a secret');
      await assertNothingStarted(before);
    });
  }

  test('signature failures are counted in /metrics by provider', async () => {
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /shipyard_gateway_signature_failures_total\{provider="github"\} [1-9]/);
    assert.match(metrics, /shipyard_gateway_requests_total\{route="webhook_github",outcome="started"\} [1-9]/);
    assert.match(metrics, /shipyard_gateway_start_latency_seconds_count [1-9]/);
  });
});

describe('fuzz (bounded, loopback only)', () => {
  test('3000 random and mutated requests: no 5xx, nothing started, still healthy', async () => {
    const before = await releases();
    const seedBodies = ['github-push', 'github-tag', 'github-pull_request', 'gitlab-push', 'generic-push'].map(fixture);
    const paths = ['/webhooks/github', '/webhooks/gitlab', '/webhooks/generic', '/chat/slack/interactions', '/chat/feishu/callback', '/chat/dingtalk/callback', '/webhooks/x', '/'];
    const types = ['application/json', 'application/x-www-form-urlencoded', 'text/plain', '', 'application/json; charset=utf-8', 'multipart/form-data; boundary=x'];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const mutate = (text: string): string => {
      const bytes = Buffer.from(text);
      const kind = rand(5);
      if (kind === 0) return randomBytes(rand(2000)).toString('latin1');
      if (kind === 1) return text.slice(0, rand(text.length + 1));
      for (let i = 0; i < 1 + rand(20); i++) bytes[rand(bytes.length)] = rand(256);
      return bytes.toString('latin1');
    };
    const statuses = new Map<number, number>();
    const batch = 25;
    for (let i = 0; i < 3000; i += batch) {
      await Promise.all(
        Array.from({ length: batch }, async () => {
          const body = mutate(seedBodies[rand(seedBodies.length)]);
          const headers: Record<string, string> = { 'x-github-event': ['push', 'ping', 'pull_request', '💥'][rand(4)].replace('💥', 'x'), 'x-gitlab-event': 'Push Hook' };
          const type = types[rand(types.length)];
          if (type) headers['content-type'] = type;
          if (rand(2)) headers['x-hub-signature-256'] = `sha256=${randomBytes(32).toString('hex')}`;
          if (rand(2)) headers['x-gitlab-token'] = randomBytes(8).toString('hex');
          if (rand(2)) Object.assign(headers, genericHeaders(body, { secret: 'wrong' }));
          const res = await fetch(`${gw.url}${paths[rand(paths.length)]}`, { method: 'POST', body, headers });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }),
      );
    }
    const fiveHundreds = [...statuses.entries()].filter(([s]) => s >= 500);
    assert.deepEqual(fiveHundreds, [], `no 5xx: ${JSON.stringify([...statuses])}`);
    // Every fuzzed request lacks a valid signature, so none may be accepted.
    assert.deepEqual([...statuses.keys()].filter((s) => s < 300), [], `no 2xx: ${JSON.stringify([...statuses])}`);
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${gw.url}/readyz`)).status, 200);
    await assertNothingStarted(before);
  });
});
