// A real gateway on a loopback port, and requests signed the way each provider signs them.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildGateway, type GatewayOptions } from '../../client/gateway/server.js';
import { resolveGatewayConfig } from '../../client/gateway/config.js';
import type { ShipyardClient } from '../../client/index.js';
import type { ReleaseSpec } from '../../spec/schema.js';
import type { KeyObject } from 'node:crypto';
import { generateDecisionKey } from '../../config/decision-keys.js';

export const SECRETS = {
  GITHUB_SECRET: 'gh-secret-0123456789',
  GITHUB_SECRET_OLD: 'gh-secret-old-9876543210',
  GITLAB_TOKEN: 'gl-token-0123456789',
  GENERIC_SECRET: 'generic-secret-0123456789',
  SLACK_SECRET: 'slack-signing-secret-0123',
  FEISHU_TOKEN: 'feishu-verification-token',
  FEISHU_KEY: 'feishu-encrypt-key-0123',
  DINGTALK_SECRET: 'dingtalk-app-secret-0123',
};

export interface RunningGateway {
  url: string;
  close(): Promise<void>;
  metrics(): Promise<string>;
}

/** Writes `spec` to a temp file and returns a gateway config routing acme/hello-api events to it. */
export function gatewayConfig(spec: ReleaseSpec, extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gw-'));
  writeFileSync(join(dir, 'release.yaml'), stringify(spec));
  const data = {
    secrets: {
      github: [{ env: 'GITHUB_SECRET' }, { env: 'GITHUB_SECRET_OLD' }],
      gitlab: [{ env: 'GITLAB_TOKEN' }],
      generic: [{ env: 'GENERIC_SECRET' }],
      slack: [{ env: 'SLACK_SECRET' }],
      feishu: { verificationToken: [{ env: 'FEISHU_TOKEN' }], encryptKey: [{ env: 'FEISHU_KEY' }] },
      dingtalk: [{ env: 'DINGTALK_SECRET' }],
    },
    routes: [
      { name: 'tags', repo: 'acme/*', event: 'tag', tag: 'v*.*.*', spec: 'release.yaml' },
      { name: 'main', repo: 'acme/*', event: 'push', branch: 'main', spec: 'release.yaml', environments: ['staging'] },
      { name: 'prs', repo: 'acme/*', event: 'pull_request', spec: 'release.yaml', buildOnly: true },
    ],
    chat: { users: { slack: { U0ALICE: 'alice', U0CAROL: 'carol' }, feishu: { ou_bob: 'bob' }, dingtalk: { staff_alice: 'alice' } } },
    ...extra,
  };
  return resolveGatewayConfig(data, dir);
}

export async function startGateway(shipyard: ShipyardClient, config: GatewayOptions['config'], extra: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
  const { app, metrics } = await buildGateway({ config, shipyard, logger: false, env: { ...SECRETS }, ...extra });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => app.close(), metrics: () => metrics.registry.metrics() };
}

export interface Sent {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

export async function send(url: string, body: string | Buffer, headers: Record<string, string>): Promise<Sent> {
  const res = await fetch(url, { method: 'POST', body, headers });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

export function githubHeaders(event: string, body: string, secret = SECRETS.GITHUB_SECRET, delivery = randomBytes(8).toString('hex')) {
  return {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    'user-agent': 'GitHub-Hookshot/abc123',
  };
}

export function gitlabHeaders(event: string, token = SECRETS.GITLAB_TOKEN, idempotencyKey = randomBytes(8).toString('hex')) {
  return { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': token, 'idempotency-key': idempotencyKey };
}

export function genericHeaders(body: string, opts: { secret?: string; at?: number; encoding?: 'hex' | 'base64'; delivery?: string } = {}) {
  const ts = String(Math.floor((opts.at ?? Date.now()) / 1000));
  const mac = createHmac('sha256', opts.secret ?? SECRETS.GENERIC_SECRET).update(`${ts}.${body}`).digest(opts.encoding ?? 'hex');
  return {
    'content-type': 'application/json',
    'x-shipyard-timestamp': ts,
    'x-shipyard-signature': opts.encoding === 'base64' ? mac : `sha256=${mac}`,
    ...(opts.delivery ? { 'x-shipyard-delivery': opts.delivery } : {}),
  };
}

export function slackRequest(payload: object, opts: { secret?: string; at?: number } = {}) {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const ts = String(Math.floor((opts.at ?? Date.now()) / 1000));
  const sig = `v0=${createHmac('sha256', opts.secret ?? SECRETS.SLACK_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
  return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': sig } };
}

export function feishuHeaders(body: string, opts: { key?: string; at?: number } = {}) {
  const ts = String(Math.floor((opts.at ?? Date.now()) / 1000));
  const nonce = randomBytes(6).toString('hex');
  const sig = createHash('sha256').update(`${ts}${nonce}${opts.key ?? SECRETS.FEISHU_KEY}${body}`).digest('hex');
  return { 'content-type': 'application/json', 'x-lark-request-timestamp': ts, 'x-lark-request-nonce': nonce, 'x-lark-signature': sig };
}

export function dingtalkHeaders(opts: { secret?: string; at?: number } = {}) {
  const ts = String(opts.at ?? Date.now());
  const secret = opts.secret ?? SECRETS.DINGTALK_SECRET;
  return { 'content-type': 'application/json', timestamp: ts, sign: createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64') };
}

/**
 * The gateway config's `identity` section production mode needs: ID token verification (`oidc`; the
 * issuer is only contacted when a token arrives) and a signing key (kid k1) written to a temp file.
 */
export function identitySection(oidc: { issuer: string; audience: string } = { issuer: 'https://idp.example.com', audience: 'shipyard' }, key?: KeyObject) {
  const dir = mkdtempSync(join(tmpdir(), 'gw-key-'));
  const pem = key ? String(key.export({ format: 'pem', type: 'pkcs8' })) : generateDecisionKey('k1').privatePem;
  writeFileSync(join(dir, 'k1.pem'), pem);
  return { oidc, signingKeys: [{ kid: 'k1', key: { file: join(dir, 'k1.pem') } }] };
}
