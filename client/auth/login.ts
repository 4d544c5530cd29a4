// `shipyard login`: an ID token from the organisation's OpenID Connect provider, saved for the CLI.
// People use the device flow (open a URL, type a code; RFC 8628); scripts against providers that
// allow it can use the resource-owner password grant (--username, password on stdin).
import { decodeJwt } from 'jose';
import { ShipyardUsageError } from '../errors.js';
import type { SavedLogin } from './gateway-api.js';

export interface LoginOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** Password grant: both set. */
  username?: string;
  password?: string;
  scopes?: string[];
  /** Device flow: tell the person where to go. */
  prompt?: (line: string) => void;
  /** Device flow: give up after this long (default 10 minutes). */
  timeoutMs?: number;
}

interface Discovery {
  token_endpoint?: string;
  device_authorization_endpoint?: string;
}

const DEFAULT_SCOPES = ['openid', 'email', 'profile', 'groups', 'offline_access'];

async function post(url: string, form: Record<string, string>, opts: LoginOptions): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (opts.clientSecret) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(opts.clientId)}:${encodeURIComponent(opts.clientSecret)}`).toString('base64')}`;
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(form), signal: AbortSignal.timeout(15_000) });
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    // an error page: the status says enough
  }
  return { status: res.status, body };
}

function saved(opts: LoginOptions, body: Record<string, unknown>): SavedLogin {
  const idToken = body.id_token;
  if (typeof idToken !== 'string') throw new ShipyardUsageError('the provider answered without an id_token (is the openid scope allowed for this client?)');
  const exp = decodeJwt(idToken).exp;
  return {
    idToken,
    issuer: opts.issuer,
    expiresAt: typeof exp === 'number' ? exp * 1000 : Date.now() + 5 * 60_000,
    clientId: opts.clientId,
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
  };
}

export async function login(opts: LoginOptions): Promise<SavedLogin> {
  const base = opts.issuer.replace(/\/+$/, '');
  let doc: Discovery;
  try {
    const res = await fetch(`${base}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as Discovery;
  } catch (err) {
    throw new ShipyardUsageError(`cannot read ${base}/.well-known/openid-configuration: ${(err as Error).message}`);
  }
  if (!doc.token_endpoint) throw new ShipyardUsageError('the provider publishes no token endpoint');
  const scope = (opts.scopes ?? DEFAULT_SCOPES).join(' ');

  if (opts.username !== undefined) {
    const { status, body } = await post(doc.token_endpoint, { grant_type: 'password', username: opts.username, password: opts.password ?? '', scope, client_id: opts.clientId }, opts);
    if (status !== 200) throw new ShipyardUsageError(`login refused: ${String(body.error_description ?? body.error ?? `HTTP ${status}`)}`, 'refused');
    return saved(opts, body);
  }

  if (!doc.device_authorization_endpoint) throw new ShipyardUsageError('the provider has no device flow: use --username with --password-stdin, or set SHIPYARD_ID_TOKEN');
  const start = await post(doc.device_authorization_endpoint, { client_id: opts.clientId, scope }, opts);
  const { device_code: deviceCode, user_code: userCode, verification_uri: uri, verification_uri_complete: complete } = start.body as Record<string, string>;
  if (start.status !== 200 || !deviceCode) throw new ShipyardUsageError(`device login refused: ${String(start.body.error_description ?? start.body.error ?? `HTTP ${start.status}`)}`);
  opts.prompt?.(`open ${complete ?? uri} ${complete ? '' : `and enter the code ${userCode}`}`.trim());
  let interval = Math.max(1, Number(start.body.interval ?? 5)) * 1000;
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, interval));
    const { status, body } = await post(doc.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: opts.clientId }, opts);
    if (status === 200) return saved(opts, body);
    if (body.error === 'authorization_pending') continue;
    if (body.error === 'slow_down') {
      interval += 5000;
      continue;
    }
    throw new ShipyardUsageError(`device login failed: ${String(body.error_description ?? body.error ?? `HTTP ${status}`)}`, 'refused');
  }
  throw new ShipyardUsageError('device login timed out: nobody confirmed the code');
}
