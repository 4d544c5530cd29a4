// Request authentication for every provider, over the raw body bytes. Comparisons are constant
// time (digests of both sides through timingSafeEqual), timestamped schemes have a replay window,
// and every secret of a rotation set is tried. Failure reasons are safe to show the caller: they
// name the header or the check, never a secret or an expected value.
import { createCipheriv, createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { SecretSet } from './secrets.js';

export type Verdict = { ok: true } | { ok: false; reason: string };
type Headers = Record<string, string | string[] | undefined>;

const OK: Verdict = { ok: true };
const fail = (reason: string): Verdict => ({ ok: false, reason });

/** Constant-time equality of two byte strings of any length. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function hmac(algorithm: string, key: Buffer, ...parts: (string | Buffer)[]): Buffer {
  const h = createHmac(algorithm, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Seconds (or ms when `unit` is ms) since the epoch, within `windowSeconds` of now either way. */
function checkTimestamp(raw: string | undefined, name: string, now: number, windowSeconds: number, unit: 's' | 'ms' = 's'): Verdict {
  if (!raw) return fail(`missing ${name} header`);
  if (!/^\d{1,16}$/.test(raw)) return fail(`${name} is not a ${unit === 's' ? 'unix time in seconds' : 'unix time in milliseconds'}`);
  const ms = unit === 's' ? Number(raw) * 1000 : Number(raw);
  const skew = Math.abs(now - ms) / 1000;
  if (skew > windowSeconds) return fail(`${name} is ${Math.round(skew)}s from now, outside the ${windowSeconds}s replay window`);
  return OK;
}

function anySecret(secrets: SecretSet, matches: (secret: Buffer) => boolean): Verdict {
  const values = secrets.values();
  if (values.length === 0) return fail(`no ${secrets.name} secret is configured on the gateway`);
  // Check every secret (no early exit) so timing does not tell which one matched.
  let ok = false;
  for (const s of values) ok = matches(s) || ok;
  return ok ? OK : fail('signature does not match');
}

/** GitHub: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>. */
export function verifyGithub(headers: Headers, raw: Buffer, secrets: SecretSet): Verdict {
  const sig = header(headers, 'x-hub-signature-256');
  if (!sig) return fail('missing X-Hub-Signature-256 header');
  const m = /^sha256=([0-9a-f]{64})$/i.exec(sig.trim());
  if (!m) return fail('X-Hub-Signature-256 is not sha256=<64 hex digits>');
  const given = Buffer.from(m[1].toLowerCase(), 'hex');
  return anySecret(secrets, (s) => safeEqual(hmac('sha256', s, raw), given));
}

/** GitLab: X-Gitlab-Token equals the configured secret token. */
export function verifyGitlab(headers: Headers, secrets: SecretSet): Verdict {
  const token = header(headers, 'x-gitlab-token');
  if (!token) return fail('missing X-Gitlab-Token header');
  const given = Buffer.from(token);
  return anySecret(secrets, (s) => safeEqual(s, given));
}

/** Decodes a signature given as hex, base64 or base64url (optionally prefixed sha256=). */
function decodeSignature(sig: string): Buffer | undefined {
  const value = sig.trim().replace(/^sha256=/i, '');
  if (/^[0-9a-f]{64}$/i.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return undefined;
}

/**
 * Generic (Jenkins Generic Webhook Trigger-style senders, in-house tools):
 * X-Shipyard-Timestamp: unix seconds; X-Shipyard-Signature: HMAC-SHA256 of "<timestamp>.<body>", hex or base64.
 */
export function verifyGeneric(headers: Headers, raw: Buffer, secrets: SecretSet, now: number, windowSeconds: number): Verdict {
  const ts = header(headers, 'x-shipyard-timestamp');
  const window = checkTimestamp(ts, 'X-Shipyard-Timestamp', now, windowSeconds);
  if (!window.ok) return window;
  const sig = header(headers, 'x-shipyard-signature');
  if (!sig) return fail('missing X-Shipyard-Signature header');
  const given = decodeSignature(sig);
  if (!given) return fail('X-Shipyard-Signature is not a hex or base64 SHA-256 HMAC');
  return anySecret(secrets, (s) => safeEqual(hmac('sha256', s, `${ts}.`, raw), given));
}

/** Slack signing secret v0: X-Slack-Signature: v0=<hex HMAC of "v0:<ts>:<body>">, X-Slack-Request-Timestamp. */
export function verifySlack(headers: Headers, raw: Buffer, secrets: SecretSet, now: number, windowSeconds: number): Verdict {
  const ts = header(headers, 'x-slack-request-timestamp');
  const window = checkTimestamp(ts, 'X-Slack-Request-Timestamp', now, windowSeconds);
  if (!window.ok) return window;
  const sig = header(headers, 'x-slack-signature');
  if (!sig) return fail('missing X-Slack-Signature header');
  const m = /^v0=([0-9a-f]{64})$/i.exec(sig.trim());
  if (!m) return fail('X-Slack-Signature is not v0=<64 hex digits>');
  const given = Buffer.from(m[1].toLowerCase(), 'hex');
  return anySecret(secrets, (s) => safeEqual(hmac('sha256', s, `v0:${ts}:`, raw), given));
}

/** DingTalk outgoing robot: headers timestamp (ms) and sign = base64(HMAC-SHA256(appSecret, "<timestamp>\n<appSecret>")). */
export function verifyDingtalk(headers: Headers, secrets: SecretSet, now: number, windowSeconds: number): Verdict {
  const ts = header(headers, 'timestamp');
  const window = checkTimestamp(ts, 'timestamp', now, windowSeconds, 'ms');
  if (!window.ok) return window;
  const sign = header(headers, 'sign');
  if (!sign) return fail('missing sign header');
  const given = Buffer.from(sign.trim(), 'base64');
  return anySecret(secrets, (s) => safeEqual(hmac('sha256', s, `${ts}\n`, s), given));
}

/**
 * Feishu (Lark) request signature, used when an encrypt key is set:
 * X-Lark-Signature = sha256hex(timestamp + nonce + encryptKey + body), X-Lark-Request-Timestamp in seconds.
 */
export function verifyFeishuSignature(headers: Headers, raw: Buffer, encryptKeys: SecretSet, now: number, windowSeconds: number): Verdict {
  const ts = header(headers, 'x-lark-request-timestamp');
  const window = checkTimestamp(ts, 'X-Lark-Request-Timestamp', now, windowSeconds);
  if (!window.ok) return window;
  const nonce = header(headers, 'x-lark-request-nonce') ?? '';
  const sig = header(headers, 'x-lark-signature');
  if (!sig || !/^[0-9a-f]{64}$/i.test(sig.trim())) return fail('missing or malformed X-Lark-Signature header');
  const given = Buffer.from(sig.trim().toLowerCase(), 'hex');
  return anySecret(encryptKeys, (k) => safeEqual(createHash('sha256').update(`${ts}${nonce}`).update(k).update(raw).digest(), given));
}

/** Feishu encrypted payloads: AES-256-CBC, key = sha256(encryptKey), IV = the first 16 bytes. Tries every key. */
export function decryptFeishu(encrypted: string, encryptKeys: SecretSet): string | undefined {
  const data = Buffer.from(encrypted, 'base64');
  if (data.length < 32 || data.length % 16 !== 0) return undefined;
  for (const k of encryptKeys.values()) {
    try {
      const decipher = createDecipheriv('aes-256-cbc', createHash('sha256').update(k).digest(), data.subarray(0, 16));
      const text = Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]).toString('utf8');
      if (text.startsWith('{')) return text;
    } catch {
      // wrong key: try the next one
    }
  }
  return undefined;
}

/** The inverse of decryptFeishu, for tests and tools that play Feishu's part. */
export function encryptFeishu(plain: string, encryptKey: string, iv: Buffer): string {
  const cipher = createCipheriv('aes-256-cbc', createHash('sha256').update(encryptKey).digest(), iv);
  return Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final()]).toString('base64');
}

/** Feishu verification token (payload `token` in v1, `header.token` in v2) against the configured ones. */
export function verifyFeishuToken(token: unknown, tokens: SecretSet): Verdict {
  if (typeof token !== 'string' || !token) return fail('missing verification token');
  return anySecret(tokens, (t) => safeEqual(t, Buffer.from(token)));
}
