// Who is calling the gateway, and the statements it signs for them.
//   - /api callers present a bearer OIDC ID token (verified with client/auth/oidc.ts);
//   - chat callers were verified by their platform's signature and mapped to an identity;
//   - webhook senders by the webhook signature and the senders map.
// With signing keys configured, every decision and start the gateway hands to Temporal carries a
// statement signed for exactly that release and action. Development mode (no OIDC configured, not
// production) lets /api callers name themselves; what they do is recorded as unauthenticated.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problem } from './http.js';
import { parseSigningKey, publicJwk } from '../../config/decision-keys.js';
import { createOidcVerifier, TokenVerificationError, type OidcVerifier } from '../auth/oidc.js';
import { createStatementSigner, type StatementRequest, type StatementSigner } from '../auth/statement-signer.js';
import type { LoadedGatewayConfig } from './config.js';
import { SecretSet } from './secrets.js';
import { isIdentity } from '../../spec/identity.js';

/** A caller the gateway has checked (or, in development mode, one who named themselves). */
export interface Caller {
  identity: string;
  groups: string[];
  authenticated: boolean;
  /** Who vouched: the token's issuer, or the chat/git provider. */
  idp: string;
  via: string;
}

export class CallerRefused extends Error {
  constructor(
    readonly status: 401 | 503,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The answer to a refused caller: 401 with a WWW-Authenticate challenge, or 503 when the issuer is down. */
export function refuseCaller(reply: FastifyReply, err: CallerRefused) {
  if (err.status === 401) reply.header('WWW-Authenticate', `Bearer error="invalid_token", error_description="${err.reason}"`);
  return problem(reply, err.status, err.status === 401 ? 'unauthorized' : 'identity provider unavailable', err.message);
}

export interface GatewayIdentity {
  production: boolean;
  /** True when /api takes bearer ID tokens (OIDC configured). */
  tokens: boolean;
  /** The ID token verifier (also accepted by the codec endpoint), when OIDC is configured. */
  verifier?: OidcVerifier;
  /** The /api caller: verified bearer token, or in development mode the `by` the body names. */
  caller(req: FastifyRequest, body: { by?: unknown }): Promise<Caller>;
  /** A signed statement for the caller, or undefined when no signing key is configured. */
  statement(caller: Caller, claims: Omit<StatementRequest, 'sub' | 'groups' | 'via' | 'idp'>): Promise<string | undefined>;
  /** The public decision keys (JWKS) orchestrators trust. */
  jwks(): { keys: object[] };
}

export interface IdentityOptions {
  env?: NodeJS.ProcessEnv;
  /** Injected verifier (tests); default from config.identity.oidc. */
  verifier?: OidcVerifier;
}

export function createGatewayIdentity(config: LoadedGatewayConfig, opts: IdentityOptions = {}): GatewayIdentity {
  const env = opts.env ?? process.env;
  const production = env.SHIPYARD_MODE === 'production';
  const oidc = config.identity.oidc;
  const verifier = opts.verifier ?? (oidc ? createOidcVerifier({ issuer: oidc.issuer, audience: oidc.audience, identityClaim: oidc.identityClaim, groupsClaim: oidc.groupsClaim }) : undefined);
  const keys = config.identity.signingKeys ?? [];
  if (production && (!verifier || keys.length === 0)) {
    throw new Error('production mode: the gateway needs identity.oidc (to verify callers) and identity.signingKeys (to sign decisions)');
  }
  // Keys are read at start: a rotation publishes the new key to orchestrators first, then restarts the gateway.
  const loaded = keys.map(({ kid, key }) => {
    const [pem] = new SecretSet(`signing key ${kid}`, [key], env).values();
    if (!pem) throw new Error(`identity.signingKeys: key ${kid} is unset or unreadable`);
    return { kid, key: parseSigningKey(pem.toString('utf8'), `identity.signingKeys ${kid}`) };
  });
  let signer: StatementSigner | undefined;
  if (loaded.length) {
    signer = createStatementSigner({
      key: loaded[0].key,
      kid: loaded[0].kid,
      ttlSeconds: config.identity.statementTtlSeconds,
      alsoPublish: loaded.slice(1).map((k) => publicJwk(k.key, k.kid)),
    });
  }

  return {
    production,
    tokens: verifier !== undefined,
    verifier,
    async caller(req, body) {
      const header = req.headers.authorization;
      if (verifier) {
        const m = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
        if (!m) throw new CallerRefused(401, 'missing-token', 'send Authorization: Bearer <OIDC ID token> (shipyard login, or SHIPYARD_ID_TOKEN)');
        try {
          const who = await verifier.verify(m[1]);
          return { identity: who.identity, groups: who.groups, authenticated: true, idp: who.issuer, via: 'api' };
        } catch (err) {
          if (err instanceof TokenVerificationError) {
            if (err.reason === 'issuer-unavailable') throw new CallerRefused(503, err.reason, err.message);
            throw new CallerRefused(401, err.reason, err.message);
          }
          throw err;
        }
      }
      // Development mode: the caller names themselves; nothing they do counts as verified.
      if (typeof body.by !== 'string' || !isIdentity(body.by)) {
        throw new CallerRefused(401, 'no-identity', 'this gateway verifies no tokens (development mode): name yourself with "by"');
      }
      return { identity: body.by, groups: [], authenticated: false, idp: 'none', via: 'api' };
    },
    async statement(caller, claims) {
      if (!signer || !caller.authenticated) return undefined;
      return signer.sign({ ...claims, sub: caller.identity, groups: caller.groups, via: caller.via, idp: caller.idp });
    },
    jwks: () => signer?.jwks() ?? { keys: [] },
  };
}
