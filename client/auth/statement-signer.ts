// The gateway's side of decision statements (workflows/decision-statement.ts): after it has verified
// who is calling (an ID token, a chat callback's signature, a webhook's sender), it signs a short-lived
// statement naming the release, the action, the identity and its groups. Only the gateway holds the
// private key, so only what passed its checks reaches a release as an authenticated decision.
import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { publicJwk } from '../../config/decision-keys.js';
import { MAX_STATEMENT_LIFETIME_S, STATEMENT_AUDIENCE, STATEMENT_ISSUER, type StatementClaims } from '../../workflows/decision-statement.js';

/** What the caller says; the signer adds issuer, audience, times and the unique id. */
export type StatementRequest = Omit<StatementClaims, 'iss' | 'aud' | 'iat' | 'exp' | 'jti'>;

export interface StatementSigner {
  readonly kid: string;
  sign(request: StatementRequest): Promise<string>;
  /** The public keys to trust: this one and any still published for rotation. */
  jwks(): { keys: object[] };
}

export interface StatementSignerOptions {
  key: KeyObject;
  kid: string;
  /** Lifetime of a statement (default 120 s; at most MAX_STATEMENT_LIFETIME_S). */
  ttlSeconds?: number;
  /** Other public keys still published (the previous key during a rotation). */
  alsoPublish?: object[];
  now?: () => number;
}

export function createStatementSigner(opts: StatementSignerOptions): StatementSigner {
  const ttl = Math.min(opts.ttlSeconds ?? 120, MAX_STATEMENT_LIFETIME_S);
  const now = opts.now ?? Date.now;
  const own = publicJwk(opts.key, opts.kid);
  return {
    kid: opts.kid,
    async sign(request) {
      const iat = Math.floor(now() / 1000);
      const claims: StatementClaims = { ...request, iss: STATEMENT_ISSUER, aud: STATEMENT_AUDIENCE, iat, exp: iat + ttl, jti: randomUUID() };
      return new SignJWT(claims as unknown as Record<string, unknown>).setProtectedHeader({ alg: 'EdDSA', kid: opts.kid, typ: 'shipyard-decision+jwt' }).sign(opts.key);
    },
    jwks: () => ({ keys: [own, ...(opts.alsoPublish ?? [])] }),
  };
}
