// Hostile input for the gateway fuzz test (test/integration/gateway-fuzz.test.ts): a seeded PRNG so a
// failing run reproduces from its seed, bearer-token forgeries, and a sender that records a status
// per request (or the transport error when the connection was reset instead of answered).
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(0, 255)));
  return { next, int, pick, bytes };
}
export type Rng = ReturnType<typeof prng>;

const b64u = (v: string | Buffer) => Buffer.from(v).toString('base64url');
const decodePart = (token: string, i: number) => JSON.parse(Buffer.from(token.split('.')[i], 'base64url').toString('utf8')) as Record<string, unknown>;

/** Characters as UTF-8 bytes in a latin1 string: what arrives when a client sends raw unicode in a header. */
export function unicodeJunk(rng: Rng, n: number): string {
  const pool = ['é', 'ß', '🔥', '中', '\u202e', '\u0000'.replace('\u0000', 'ø'), 'Ω', '𝔘', 'ﷺ', '\u200b'];
  return Buffer.from(Array.from({ length: n }, () => rng.pick(pool)).join(''), 'utf8').toString('latin1');
}

export interface Forgery {
  name: string;
  /** The Authorization header value, or undefined for none. */
  header: string | undefined;
  /** Why the gateway must refuse it (matched against the 401 detail when set). */
  reason?: RegExp;
}

export interface ForgeryMaterial {
  /** A real Dex ID token of a user who is no approver (carol): the base of every mutation. */
  real: string;
  /** A real Dex ID token for another client (wrong audience). */
  otherAudience: string;
  issuer: string;
  /** The public JWKS text of the issuer (HS256 signed with it: algorithm confusion). */
  jwksText: string;
  /** The kid the issuer signs with. */
  dexKid: string;
}

/** Local RSA keys: a stranger issuer and a stranger signing as the real issuer. */
export function strangerKeys() {
  return { rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, ec: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey };
}

async function signed(key: KeyObject, alg: string, header: Record<string, unknown>, claims: Record<string, unknown>) {
  return new SignJWT(claims).setProtectedHeader({ alg, ...header }).sign(key);
}

/** A fixed set of signed forgeries (made once; signing per request would dominate the run). */
export async function signedForgeries(m: ForgeryMaterial, keys: ReturnType<typeof strangerKeys>): Promise<Forgery[]> {
  const claims = decodePart(m.real, 1);
  const now = Math.floor(Date.now() / 1000);
  const fresh = { ...claims, iat: now, exp: now + 3600 };
  const alice = { ...fresh, email: 'alice@example.com', groups: ['sre'] };
  const hs = (secret: string | Buffer, c: Record<string, unknown>) => new SignJWT(c).setProtectedHeader({ alg: 'HS256', kid: m.dexKid }).sign(Buffer.from(secret));
  return [
    { name: 'hs256-with-jwks', header: `Bearer ${await hs(m.jwksText, alice)}`, reason: /algorithm-not-allowed/ },
    { name: 'hs256-random-secret', header: `Bearer ${await hs('correct horse battery staple', alice)}`, reason: /algorithm-not-allowed/ },
    { name: 'wrong-issuer', header: `Bearer ${await signed(keys.rsa, 'RS256', { kid: 'evil' }, { ...alice, iss: 'https://evil.example/dex' })}`, reason: /wrong-issuer/ },
    { name: 'issuer-no-trailing', header: `Bearer ${await signed(keys.rsa, 'RS256', { kid: 'evil' }, { ...alice, iss: `${m.issuer}/` })}`, reason: /wrong-issuer/ },
    { name: 'stranger-key-dex-kid', header: `Bearer ${await signed(keys.rsa, 'RS256', { kid: m.dexKid }, alice)}` },
    { name: 'stranger-key-no-kid', header: `Bearer ${await signed(keys.rsa, 'RS256', {}, alice)}` },
    { name: 'stranger-ec-key', header: `Bearer ${await signed(keys.ec, 'ES256', { kid: 'ec-1' }, alice)}` },
    { name: 'huge-claims', header: `Bearer ${await signed(keys.rsa, 'RS256', { kid: m.dexKid }, { ...alice, pad: 'x'.repeat(9000) })}` },
    { name: 'wrong-audience', header: `Bearer ${m.otherAudience}`, reason: /wrong-audience/ },
  ];
}

/** A random bearer-token forgery built from the real token (cheap: no signing). */
export function mutatedForgery(rng: Rng, m: ForgeryMaterial): Forgery {
  const [h, p, s] = m.real.split('.');
  const kind = rng.int(0, 15);
  switch (kind) {
    case 0:
      return { name: 'missing', header: undefined, reason: /missing-token|send Authorization/ };
    case 1:
      return { name: 'empty', header: '', reason: /send Authorization/ };
    case 2:
      return { name: 'scheme-variant', header: rng.pick(['Bearer', 'Bearer ', 'bearer ' + m.real, 'BEARER ' + m.real, 'Bearer  ' + m.real, `Bearer ${m.real} ${m.real}`, `Basic ${b64u('carol:pw')}`, `Token ${m.real}`, `Bearer\t${m.real}`, `Bearer "${m.real}"`, `Bearer ${m.real},x`]), reason: /send Authorization/ };
    case 3:
      return { name: 'random-bytes', header: `Bearer ${rng.bytes(rng.int(1, 2000)).toString('base64url')}` };
    case 4:
      return { name: 'random-segments', header: `Bearer ${[rng.int(1, 80), rng.int(1, 400), rng.int(0, 300)].map((n) => rng.bytes(n).toString('base64url')).join('.')}` };
    case 5:
      return { name: 'truncated', header: `Bearer ${m.real.slice(0, rng.int(1, m.real.length - 1))}` };
    case 6: {
      const sig = Buffer.from(s, 'base64url');
      sig[rng.int(0, sig.length - 1)] ^= 1 << rng.int(0, 7);
      return { name: 'flipped-signature', header: `Bearer ${h}.${p}.${sig.toString('base64url')}`, reason: /bad-signature|signature/ };
    }
    case 7: {
      const claims = decodePart(m.real, 1);
      const tampered = rng.pick([{ email: 'alice@example.com' }, { groups: ['sre'] }, { exp: 4102444800 }, { sub: 'mallory' }, { email_verified: false }]);
      return { name: 'tampered-claims', header: `Bearer ${h}.${b64u(JSON.stringify({ ...claims, ...tampered }))}.${s}` };
    }
    case 8: {
      const alg = rng.pick(['none', 'None', 'NONE', 'nOnE']);
      return { name: 'alg-none', header: `Bearer ${b64u(JSON.stringify({ alg, typ: 'JWT' }))}.${p}.${rng.pick(['', s])}`, reason: /algorithm-not-allowed/ };
    }
    case 9:
      // Under Node's 16 KiB header limit (the verifier's own bound), or over it (431 from Node).
      return { name: 'huge', header: `Bearer ${rng.pick([h, 'eyJ'])}${'A'.repeat(rng.pick([16 * 1024 - 300, 16 * 1024 + 10, 40_000]))}` };
    case 10:
      return { name: 'unicode-junk', header: `Bearer ${unicodeJunk(rng, rng.int(1, 200))}` };
    case 11:
      return { name: 'header-not-json', header: `Bearer ${b64u(rng.pick(['null', '"x"', '[]', '{', '1e999', '{"alg":{"$ne":1}}', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]']))}.${p}.${s}` };
    case 12:
      return { name: 'claims-not-json', header: `Bearer ${h}.${b64u(rng.pick(['null', '"carol"', '[]', '{"exp":"soon"}', '{"iss":null}', rng.bytes(40).toString('latin1')]))}.${s}` };
    case 13:
      return { name: 'extra-segments', header: `Bearer ${rng.pick([`${m.real}.${s}`, `${h}.${p}`, `${h}..${s}`, `..`, `${h}.${p}.${s}.${p}.${s}`])}` };
    case 14:
      return { name: 'hmac-looking', header: `Bearer ${h}.${p}.${createHmac('sha256', 'x').update(`${h}.${p}`).digest('base64url')}` };
    default:
      return { name: 'real-token-of-other-kind', header: `Bearer ${rng.pick([`${p}.${h}.${s}`, `${h}.${h}.${s}`, `${s}.${p}.${h}`])}` };
  }
}

export interface Outcome {
  status: number | 'reset';
  text: string;
}

/** One request; a transport failure (reset, hang) is an outcome, never an exception. */
export async function hit(url: string, init: { method: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Outcome> {
  try {
    const res = await fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: 'reset', text: `${(err as Error).message}: ${cause?.code ?? ''} ${cause?.message ?? ''}` };
  }
}

/** Runs `jobs` with at most `width` in flight. */
export async function inBatches<T, R>(items: T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}
