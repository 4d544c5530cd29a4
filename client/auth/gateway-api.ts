// The CLI's side of verified identity: where its ID token comes from, and the gateway API it calls
// with it. With a token, decisions go through the gateway (which verifies the token and signs a
// statement the release checks); without one, the CLI talks to Temporal directly and whatever it
// does is recorded as unauthenticated (development mode).
//   SHIPYARD_ID_TOKEN       an ID token (CI systems issue these: Jenkins, GitLab, GitHub Actions)
//   SHIPYARD_ID_TOKEN_FILE  a file holding one (refreshed by the CI system or an agent)
//   SHIPYARD_GATEWAY_URL    the gateway (else the one `shipyard login --gateway` saved)
//   `shipyard login`        saves token and gateway in $SHIPYARD_CONFIG_DIR (~/.config/shipyard)/token.json
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeJwt } from 'jose';
import { ShipyardUsageError } from '../errors.js';

export interface SavedLogin {
  idToken: string;
  issuer: string;
  /** ms since epoch */
  expiresAt: number;
  gateway?: string;
  refreshToken?: string;
  clientId?: string;
}

export function loginFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.SHIPYARD_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'shipyard'), 'token.json');
}

export function saveLogin(login: SavedLogin, env: NodeJS.ProcessEnv = process.env): string {
  const file = loginFile(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(login, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function readLogin(env: NodeJS.ProcessEnv = process.env): SavedLogin | undefined {
  try {
    return JSON.parse(readFileSync(loginFile(env), 'utf8')) as SavedLogin;
  } catch {
    return undefined;
  }
}

export interface Credentials {
  token: string;
  gateway: string;
  /** Where the token came from, for messages. */
  source: string;
}

/** The ID token and gateway to use, or undefined when there is no token (development mode). */
export function credentials(env: NodeJS.ProcessEnv = process.env, tokenFile?: string): Credentials | undefined {
  const saved = readLogin(env);
  let token: string | undefined;
  let source = '';
  const file = tokenFile ?? env.SHIPYARD_ID_TOKEN_FILE;
  if (env.SHIPYARD_ID_TOKEN?.trim()) {
    token = env.SHIPYARD_ID_TOKEN.trim();
    source = 'SHIPYARD_ID_TOKEN';
  } else if (file) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ShipyardUsageError(`cannot read the ID token file ${file}: ${(err as Error).message}`);
    }
    source = file;
  } else if (saved) {
    if (saved.expiresAt <= Date.now()) throw new ShipyardUsageError(`your login expired at ${new Date(saved.expiresAt).toISOString()}: run shipyard login again`);
    token = saved.idToken;
    source = loginFile(env);
  }
  if (!token) return undefined;
  const gateway = (env.SHIPYARD_GATEWAY_URL || saved?.gateway || '').replace(/\/+$/, '');
  if (!gateway) throw new ShipyardUsageError(`an ID token is set (${source}) but no gateway: set SHIPYARD_GATEWAY_URL (decisions with a token go through the gateway)`);
  return { token, gateway, source };
}

/** Who the token says you are, without verifying it (the gateway does): for messages only. */
export function tokenIdentity(token: string): string | undefined {
  try {
    const c = decodeJwt(token);
    return (c.email as string) ?? (c.preferred_username as string) ?? c.sub;
  } catch {
    return undefined;
  }
}

export class GatewayApi {
  constructor(private readonly creds: Credentials) {}

  async call<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.creds.gateway}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.creds.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new Error(`gateway ${this.creds.gateway} unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: use the status line below
    }
    if (res.ok) return parsed as T;
    const detail = String(parsed.detail ?? parsed.error ?? text.slice(0, 200));
    if (res.status === 404 && parsed.error === 'not found' && /no release/.test(detail)) throw new ShipyardUsageError(detail, 'not-found');
    if (res.status === 401) throw new ShipyardUsageError(`the gateway refused your ID token (${this.creds.source}): ${detail}`, 'refused');
    if (res.status === 403 || res.status === 409) throw new ShipyardUsageError(detail, 'refused');
    if (res.status === 404) throw new ShipyardUsageError(detail, 'not-found');
    if (res.status >= 400 && res.status < 500) throw new ShipyardUsageError(detail);
    throw new Error(`gateway answered ${res.status}: ${detail}`);
  }

  /** A start statement for a release or pipeline ID; undefined when the gateway signs none. */
  async startStatement(releaseId: string): Promise<string | undefined> {
    try {
      const r = await this.call<{ statement?: string }>('POST', '/api/statements/start', { releaseId });
      return r.statement;
    } catch (err) {
      if (err instanceof ShipyardUsageError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }
}
