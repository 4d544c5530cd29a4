// Decision statements: who decided what about which release, signed by the gateway.
//
// A statement is a compact JWS (EdDSA over Ed25519) whose claims name the release, the action, the
// gate, the verified identity and its groups, issued-at, expiry and a unique id. The gateway signs
// one after verifying the caller (an OIDC ID token, or a chat callback's signature); the release
// workflow verifies it here, inside the workflow sandbox, with the public keys its orchestrator
// trusts. Pure and deterministic: @noble/curves (no WebCrypto, no randomness), workflow time only.
// A client that talks to Temporal directly cannot make one, so it cannot name an approver.
import { ed25519 } from '@noble/curves/ed25519.js';

export type StatementAction = 'start' | 'approve' | 'reject' | 'abort' | 'pause' | 'resume';

export const STATEMENT_ISSUER = 'shipyard-gateway';
export const STATEMENT_AUDIENCE = 'shipyard-release';
/** Statements live minutes, not days: long enough for a slow Temporal, short enough to bound replays. */
export const MAX_STATEMENT_LIFETIME_S = 600;
const CLOCK_SKEW_S = 60;
const MAX_STATEMENT_LENGTH = 8 * 1024;

export interface StatementClaims {
  iss: typeof STATEMENT_ISSUER;
  aud: typeof STATEMENT_AUDIENCE;
  /** The release (workflow ID) it is for. */
  rel: string;
  act: StatementAction;
  /** approve/reject: the gate decided. */
  gate?: string;
  /** The verified Shipyard identity. */
  sub: string;
  groups: string[];
  /** Where the caller was verified: api (ID token), slack, feishu, dingtalk, github, ... */
  via: string;
  /** Who vouched for the identity: the ID token's issuer, or the chat/git provider. */
  idp: string;
  iat: number;
  exp: number;
  /** Unique per statement: a release accepts each once. */
  jti: string;
  comment?: string;
  reason?: string;
}

/** One trusted public key: an OKP/Ed25519 JWK (`x` is the raw 32-byte key, base64url). */
export interface TrustedKey {
  kid: string;
  x: string;
}

/** What the orchestrator trusts, read once per release (and again when a gate opens). */
export interface DecisionTrust {
  /** Production mode: decisions without a valid statement are refused. */
  requireSigned: boolean;
  keys: TrustedKey[];
}

export interface StatementExpectation {
  releaseId: string;
  /** Another name the statement may be for: the pipeline that started this release (start statements). */
  alsoFor?: string;
  actions: StatementAction[];
  /** Workflow time, ms. */
  now: number;
}

export class StatementError extends Error {
  constructor(
    readonly reason: 'malformed' | 'algorithm' | 'unknown-key' | 'bad-signature' | 'expired' | 'not-yet-valid' | 'wrong-release' | 'wrong-action' | 'claims',
    message: string,
  ) {
    super(`decision statement refused (${reason}): ${message}`);
  }
}

/** Verifies a statement's signature and claims; throws StatementError. Replays are the caller's to track (jti). */
export function verifyStatement(token: unknown, trust: DecisionTrust, expect: StatementExpectation): StatementClaims {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_STATEMENT_LENGTH) throw new StatementError('malformed', 'not a compact JWS of sane size');
  const parts = token.split('.');
  if (parts.length !== 3) throw new StatementError('malformed', 'not a compact JWS (three dot-separated parts)');
  const header = parseJson(parts[0]);
  if (header.alg !== 'EdDSA' && header.alg !== 'Ed25519') throw new StatementError('algorithm', `alg ${JSON.stringify(header.alg)}: only EdDSA statements are accepted`);
  if (header.crit !== undefined || header.b64 !== undefined) throw new StatementError('malformed', 'unsupported JWS header parameters');
  const key = trust.keys.find((k) => k.kid === header.kid);
  if (!key) throw new StatementError('unknown-key', `key ${JSON.stringify(header.kid)} is not trusted by this release's orchestrator`);
  let valid = false;
  try {
    const signature = base64url(parts[2]);
    const publicKey = base64url(key.x);
    // RFC 8032 strict verification (zip215 off): one signature per message, no malleability.
    valid = signature.length === 64 && publicKey.length === 32 && ed25519.verify(signature, ascii(`${parts[0]}.${parts[1]}`), publicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) throw new StatementError('bad-signature', 'the signature does not verify');
  const c = parseJson(parts[1]) as Partial<StatementClaims>;
  checkClaims(c);
  const nowS = Math.floor(expect.now / 1000);
  if (c.exp! <= nowS) throw new StatementError('expired', `expired ${nowS - c.exp!}s ago`);
  if (c.iat! > nowS + CLOCK_SKEW_S) throw new StatementError('not-yet-valid', 'issued in the future');
  if (c.exp! - c.iat! > MAX_STATEMENT_LIFETIME_S) throw new StatementError('claims', `lives longer than ${MAX_STATEMENT_LIFETIME_S}s`);
  if (c.rel !== expect.releaseId && (expect.alsoFor === undefined || c.rel !== expect.alsoFor)) throw new StatementError('wrong-release', `made for release ${JSON.stringify(c.rel)}`);
  if (!expect.actions.includes(c.act!)) throw new StatementError('wrong-action', `says ${c.act}, expected ${expect.actions.join(' or ')}`);
  return c as StatementClaims;
}

function checkClaims(c: Partial<StatementClaims>): void {
  const str = (v: unknown, max = 256) => typeof v === 'string' && v.length > 0 && v.length <= max;
  const problems: string[] = [];
  if (c.iss !== STATEMENT_ISSUER) problems.push('iss');
  if (c.aud !== STATEMENT_AUDIENCE) problems.push('aud');
  if (!str(c.rel, 1000)) problems.push('rel');
  if (!['start', 'approve', 'reject', 'abort', 'pause', 'resume'].includes(c.act as string)) problems.push('act');
  if (c.gate !== undefined && !str(c.gate)) problems.push('gate');
  if (!str(c.sub, 200)) problems.push('sub');
  if (!Array.isArray(c.groups) || c.groups.length > 200 || !c.groups.every((g) => str(g))) problems.push('groups');
  if (!str(c.via, 64) || !str(c.idp, 512)) problems.push('via/idp');
  if (!Number.isSafeInteger(c.iat) || !Number.isSafeInteger(c.exp)) problems.push('iat/exp');
  if (!str(c.jti, 128)) problems.push('jti');
  if (c.comment !== undefined && (typeof c.comment !== 'string' || c.comment.length > 2000)) problems.push('comment');
  if (c.reason !== undefined && (typeof c.reason !== 'string' || c.reason.length > 2000)) problems.push('reason');
  if (problems.length) throw new StatementError('claims', `missing or invalid: ${problems.join(', ')}`);
}

function parseJson(part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8(base64url(part)));
  } catch {
    throw new StatementError('malformed', 'a part is not base64url JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new StatementError('malformed', 'a part is not a JSON object');
  return value as Record<string, unknown>;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP: Record<string, number> = Object.fromEntries([...ALPHABET].map((ch, i) => [ch, i]));

/** base64url without padding (RFC 7515 §2); the sandbox has no Buffer. Throws on anything else. */
export function base64url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new Error('bad base64url length');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const ch of text) {
    const v = LOOKUP[ch];
    if (v === undefined) throw new Error('bad base64url character');
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f;
  return out;
}

function utf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
