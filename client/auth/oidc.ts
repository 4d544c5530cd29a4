// OIDC ID token verification: who is calling, as the identity provider vouches for it.
//
// A token is accepted only when its signature verifies with a key from the issuer's JWKS (found
// through /.well-known/openid-configuration), with an allowed asymmetric algorithm, and its issuer,
// audience and expiry are right. The JWKS is cached; a token whose `kid` is not in the cache makes
// the verifier refetch it (at most once per cooldown), so the provider can rotate its keys.
// Errors carry a reason and never the token itself.
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';

/** Why a token was refused. `issuer-unavailable` is the provider's fault, not the token's. */
export type TokenRefusal =
  | 'malformed'
  | 'algorithm-not-allowed'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'expired'
  | 'not-yet-valid'
  | 'unknown-key'
  | 'bad-signature'
  | 'missing-claim'
  | 'issuer-unavailable';

export class TokenVerificationError extends Error {
  override name = 'TokenVerificationError';
  constructor(
    readonly reason: TokenRefusal,
    message: string,
  ) {
    super(`ID token refused (${reason}): ${message}`);
  }
}

/** A caller whose ID token verified. */
export interface VerifiedIdentity {
  /** The provider's stable user id (`sub`). */
  subject: string;
  /** The configured identity claim (email by default): what approver policies and four-eyes compare. */
  identity: string;
  name?: string;
  groups: string[];
  issuer: string;
  expiresAt: Date;
}

export interface OidcVerifierOptions {
  /** Exactly as the provider's `iss` claim and discovery document say it (no trailing-slash games). */
  issuer: string;
  /** Accepted audience(s): the client id(s) tokens are issued to. */
  audience: string | string[];
  /** Claim naming the identity: `email` (default; requires email_verified not false) or e.g. `preferred_username`. */
  identityClaim?: string;
  /** Claim holding the groups (default `groups`). */
  groupsClaim?: string;
  /** Allowed signature algorithms; only asymmetric ones (HS* and none are always refused). */
  algorithms?: string[];
  /** Seconds of clock skew tolerated on exp/nbf/iat (default 30). */
  clockToleranceSec?: number;
  /** Minimum time between JWKS refetches triggered by an unknown kid (default 30 s). */
  jwksCooldownMs?: number;
  /** Maximum age of the cached JWKS before it is refetched anyway (default 10 min). */
  jwksMaxAgeMs?: number;
  /** HTTP timeout for discovery and JWKS requests (default 5 s). */
  timeoutMs?: number;
  /** fetch for discovery and JWKS (default global fetch); tests count requests with it. */
  fetch?: typeof fetch;
}

export interface OidcVerifier {
  verify(token: string): Promise<VerifiedIdentity>;
}

export const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const ASYMMETRIC = new Set(DEFAULT_ALGORITHMS.concat(['Ed25519']));
/** Larger than any sane ID token; a bound so a hostile caller cannot make us parse megabytes. */
const MAX_TOKEN_LENGTH = 16 * 1024;

export function createOidcVerifier(opts: OidcVerifierOptions): OidcVerifier {
  const algorithms = opts.algorithms ?? DEFAULT_ALGORITHMS;
  const bad = algorithms.filter((a) => !ASYMMETRIC.has(a));
  if (bad.length) throw new Error(`OIDC verifier: algorithm(s) ${bad.join(', ')} not allowed (asymmetric signatures only)`);
  const audiences = Array.isArray(opts.audience) ? opts.audience : [opts.audience];
  if (!opts.issuer || audiences.length === 0 || audiences.some((a) => !a)) throw new Error('OIDC verifier: issuer and audience are required');
  const identityClaim = opts.identityClaim ?? 'email';
  const groupsClaim = opts.groupsClaim ?? 'groups';
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 5000;

  // Discovery once; a failed attempt is forgotten so the next token tries again.
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const keySet = () => {
    keys ??= discover().catch((err) => {
      keys = undefined;
      throw err;
    });
    return keys;
  };
  async function discover(): Promise<JWTVerifyGetKey> {
    const url = `${opts.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (err) {
      throw new TokenVerificationError('issuer-unavailable', `discovery at ${url} failed: ${(err as Error).message}`);
    }
    // OIDC Discovery 1.0 §4.3: the document's issuer must be the one we asked about.
    if (doc.issuer !== opts.issuer) {
      throw new TokenVerificationError('issuer-unavailable', `discovery at ${url} names issuer ${JSON.stringify(doc.issuer)}, not ${opts.issuer}`);
    }
    if (typeof doc.jwks_uri !== 'string') throw new TokenVerificationError('issuer-unavailable', `discovery at ${url} has no jwks_uri`);
    return createRemoteJWKSet(new URL(doc.jwks_uri), {
      timeoutDuration: timeoutMs,
      cooldownDuration: opts.jwksCooldownMs ?? 30_000,
      cacheMaxAge: opts.jwksMaxAgeMs ?? 600_000,
      [customFetch]: (u, init) => doFetch(u, init),
    });
  }

  async function verify(token: string): Promise<VerifiedIdentity> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new TokenVerificationError('malformed', 'not a compact JWT of sane size');
    }
    // Unverified look first: refuse foreign issuers and symmetric/none algorithms before any key lookup.
    let alg: unknown;
    let iss: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      throw new TokenVerificationError('malformed', 'not a compact JWS with a JSON header and claims');
    }
    if (typeof alg !== 'string' || !algorithms.includes(alg)) {
      throw new TokenVerificationError('algorithm-not-allowed', `alg ${JSON.stringify(alg)} is not one of ${algorithms.join(', ')}`);
    }
    if (iss !== opts.issuer) throw new TokenVerificationError('wrong-issuer', `issued by ${JSON.stringify(iss)}, expected ${opts.issuer}`);

    const getKey = await keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: opts.issuer,
        audience: audiences,
        algorithms,
        clockTolerance: opts.clockToleranceSec ?? 30,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (err) {
      throw refusal(err);
    }
    // OIDC Core §3.1.3.7: with several audiences, azp (when present) must be ours.
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== undefined && !audiences.includes(String(payload.azp))) {
      throw new TokenVerificationError('wrong-audience', `authorized party ${JSON.stringify(payload.azp)} is not an accepted client`);
    }
    const identity = payload[identityClaim];
    if (typeof identity !== 'string' || identity === '') throw new TokenVerificationError('missing-claim', `no ${identityClaim} claim`);
    if (identityClaim === 'email' && payload.email_verified === false) {
      throw new TokenVerificationError('missing-claim', 'email is not verified by the issuer');
    }
    const rawGroups = payload[groupsClaim];
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : [];
    return {
      subject: payload.sub as string,
      identity,
      ...(typeof payload.name === 'string' ? { name: payload.name } : {}),
      groups,
      issuer: opts.issuer,
      expiresAt: new Date((payload.exp as number) * 1000),
    };
  }

  return { verify };
}

/** jose's errors mapped to reasons; messages are ours (jose's never hold the token, but keep it that way). */
function refusal(err: unknown): TokenVerificationError {
  if (err instanceof TokenVerificationError) return err;
  if (err instanceof joseErrors.JWTExpired) return new TokenVerificationError('expired', 'the token has expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new TokenVerificationError('wrong-issuer', 'issuer mismatch');
    if (err.claim === 'aud') return new TokenVerificationError('wrong-audience', 'not issued to this client');
    if (err.claim === 'nbf' || err.claim === 'iat') return new TokenVerificationError('not-yet-valid', `${err.claim} is in the future`);
    return new TokenVerificationError(err.reason === 'missing' ? 'missing-claim' : 'malformed', `claim ${err.claim}: ${err.reason}`);
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenVerificationError('bad-signature', 'signature does not verify');
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new TokenVerificationError('unknown-key', 'no key of the issuer matches the token (kid/alg), even after refetching the JWKS');
  if (err instanceof joseErrors.JWKSMultipleMatchingKeys) return new TokenVerificationError('unknown-key', 'the token names no kid and the issuer has several keys');
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new TokenVerificationError('algorithm-not-allowed', 'algorithm not allowed');
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || err instanceof TypeError) {
    return new TokenVerificationError('issuer-unavailable', `JWKS could not be fetched: ${(err as Error).message}`);
  }
  if (err instanceof joseErrors.JOSEError) return new TokenVerificationError('malformed', err.code);
  return new TokenVerificationError('issuer-unavailable', `unexpected: ${(err as Error)?.message ?? String(err)}`);
}
