// A real OpenID Connect provider for tests: Dex (built by scripts/tools.js, on PATH under run-tests)
// on 127.0.0.1 with the memory store, static users with groups, two static clients, and the OAuth2
// password grant, so a test gets real signed ID tokens without a browser.
//
// Keys live in the memory store: restart() starts Dex again on the same port and issuer with a fresh
// store, so it signs with a new key the verifiers have never seen (key rotation as a client sees it).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { eventually } from './temporal.js';

export interface DexUser {
  email: string;
  password: string;
  username: string;
  name: string;
  groups: string[];
  userID: string;
}

/**
 * The static users. Passwords are `<name>-password`; the hashes are bcrypt cost 10 (Dex's minimum)
 * of exactly those, made once with golang.org/x/crypto/bcrypt (no bcrypt in node_modules).
 */
export const DEX_USERS = {
  alice: {
    email: 'alice@example.com',
    password: 'alice-password',
    hash: '$2a$10$mEh68rnjB/j0g24ciUTfbuLznwUMRoSZkeeoS0QrG2ry50SQA0gk.',
    username: 'alice',
    name: 'Alice Admin',
    groups: ['sre', 'developers'],
    userID: '5b0a6c1e-0000-4000-8000-00000000a11c',
  },
  bob: {
    email: 'bob@example.com',
    password: 'bob-password',
    hash: '$2a$10$joEwWGIgMP8IGoV2.zRb6O8YLvnIHUmz0UfVUIcswQSsBO6E3PeAa',
    username: 'bob',
    name: 'Bob Builder',
    groups: ['developers'],
    userID: '5b0a6c1e-0000-4000-8000-000000000b0b',
  },
  carol: {
    email: 'carol@example.com',
    password: 'carol-password',
    hash: '$2a$10$yGsRmr.etYPf9/Rz2O4WXee3BXd8Tr4T0plKQ0psDeP9p6JUXaeXi',
    username: 'carol',
    name: 'Carol Contractor',
    groups: [],
    userID: '5b0a6c1e-0000-4000-8000-0000000ca201',
  },
} satisfies Record<string, DexUser & { hash: string }>;

export type DexUserName = keyof typeof DEX_USERS;

export interface DexOptions {
  /** Lifetime of issued ID tokens, as a Go duration (default '10m'). */
  idTokenExpiry?: string;
}

export interface TokenOptions {
  /** Request the token as the second client (`other-app`), e.g. for a wrong-audience token. */
  client?: 'shipyard' | 'other';
  /** Scopes (default openid email profile groups). */
  scopes?: string[];
}

export interface Dex {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** A second registered client: tokens issued to it are for another audience. */
  otherClientId: string;
  /** ID token of a static user (name or email) through the password grant; throws on refusal. */
  token(user: DexUserName | string, password?: string, opts?: TokenOptions): Promise<string>;
  /** Stops Dex and starts it again, same port and issuer, fresh memory store: new signing keys. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  logFile: string;
}

const CLIENT_ID = 'shipyard';
const OTHER_CLIENT_ID = 'other-app';

export async function startDex(opts: DexOptions = {}): Promise<Dex> {
  const dir = mkdtempSync(join(tmpdir(), 'dex-'));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}/dex`;
  const clientSecret = `shipyard-secret-${port}`;
  const otherSecret = `other-secret-${port}`;
  const config = {
    issuer,
    storage: { type: 'memory' },
    web: { http: `127.0.0.1:${port}` },
    logger: { level: 'info', format: 'text' },
    expiry: { idTokens: opts.idTokenExpiry ?? '10m' },
    oauth2: { passwordConnector: 'local', skipApprovalScreen: true },
    enablePasswordDB: true,
    staticClients: [
      { id: CLIENT_ID, secret: clientSecret, name: 'Shipyard', redirectURIs: ['http://127.0.0.1/callback'] },
      { id: OTHER_CLIENT_ID, secret: otherSecret, name: 'Another app', redirectURIs: ['http://127.0.0.1/other'] },
    ],
    staticPasswords: Object.values(DEX_USERS).map((u) => ({
      email: u.email,
      hash: u.hash,
      username: u.username,
      name: u.name,
      preferredUsername: u.username,
      emailVerified: true,
      groups: u.groups,
      userID: u.userID,
    })),
  };
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
  const logFile = join(dir, 'dex.log');

  let child: ChildProcess | undefined;
  const start = async () => {
    const fd = openSync(logFile, 'a');
    child = spawn('dex', ['serve', configFile], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const exited = new Promise<never>((_, reject) =>
      child!.once('exit', (code) => reject(new Error(`dex exited ${code} at start:\n${readFileSync(logFile, 'utf8').slice(-3000)}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([
      exited,
      eventually(async () => (await fetch(`${issuer}/.well-known/openid-configuration`)).ok, 20_000, 'dex discovery document'),
    ]);
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.removeAllListeners('exit');
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  await start();

  return {
    issuer,
    clientId: CLIENT_ID,
    clientSecret,
    otherClientId: OTHER_CLIENT_ID,
    logFile,
    async token(user, password, tokenOpts = {}) {
      const known = DEX_USERS[user as DexUserName];
      const email = known?.email ?? user;
      const [id, secret] = tokenOpts.client === 'other' ? [OTHER_CLIENT_ID, otherSecret] : [CLIENT_ID, clientSecret];
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'password',
          username: email,
          password: password ?? known?.password ?? '',
          scope: (tokenOpts.scopes ?? ['openid', 'email', 'profile', 'groups']).join(' '),
        }),
      });
      const body = (await res.json()) as { id_token?: string; error?: string; error_description?: string };
      if (!res.ok || !body.id_token) throw new Error(`dex refused the password grant for ${email}: HTTP ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`);
      return body.id_token;
    },
    async restart() {
      await stop();
      await start();
    },
    stop,
  };
}
