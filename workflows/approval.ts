// Who may decide what about a release. Pure: the update validators and signal handlers call it,
// and so do unit tests. A decision comes either with a signed statement (verified identity and
// groups, see decision-statement.ts) or, in development mode only, as a bare claimed name, which
// is recorded as unauthenticated.
import type { ApprovalRequest, PendingApproval } from './types.js';
import { IDENTITY } from '../spec/identity.js';
import { StatementError, verifyStatement, type DecisionTrust, type StatementAction, type StatementClaims } from './decision-statement.js';

/** Who is deciding, as far as the release can tell. */
export interface Decider {
  identity: string;
  groups: string[];
  /** True only when a statement signed by a trusted key vouches for the identity. */
  authenticated: boolean;
  via?: string;
  comment?: string;
  reason?: string;
  gate?: string;
  /** The statement's id and expiry (seconds): the handler records it so it is accepted once. */
  jti?: string;
  exp?: number;
}

/** What the release knows for checking a statement. */
export interface TrustContext {
  /** Unset on releases whose orchestrator predates signed decisions (and their replays). */
  trust?: DecisionTrust;
  releaseId: string;
  /** Workflow time, ms. */
  now: number;
  /** Statement ids already accepted by this release. */
  used: ReadonlyMap<string, number>;
}

/** The one who triggered the release; `verified` when a signed start statement vouched for them. */
export interface TriggerIdentity {
  by: string;
  verified: boolean;
}

/** The decider behind a request: its statement's claims, or (development mode) the name it claims. */
export function authenticate(
  request: { statement?: unknown; approver?: unknown; by?: unknown; comment?: unknown; reason?: unknown; gate?: unknown; via?: unknown } | undefined,
  actions: StatementAction[],
  ctx?: TrustContext,
): Decider {
  if (request?.statement !== undefined) {
    if (!ctx?.trust) throw new Error('this release trusts no decision keys: its orchestrator has none configured (SHIPYARD_DECISION_KEYS)');
    let claims: StatementClaims;
    try {
      claims = verifyStatement(request.statement, ctx.trust, { releaseId: ctx.releaseId, actions, now: ctx.now });
    } catch (err) {
      if (err instanceof StatementError) throw new Error(err.message);
      throw err;
    }
    if (ctx.used.has(claims.jti)) throw new Error(`decision statement refused (replayed): ${claims.jti} was already used`);
    return { identity: claims.sub, groups: claims.groups, authenticated: true, via: claims.via, comment: claims.comment, reason: claims.reason, gate: claims.gate, jti: claims.jti, exp: claims.exp };
  }
  if (ctx?.trust?.requireSigned) {
    throw new Error('unsigned decision refused: production mode takes decisions through the gateway (shipyard approve with an ID token, the API, or chat)');
  }
  const name = request?.approver ?? request?.by;
  if (typeof name !== 'string' || !IDENTITY.test(name)) throw new Error('approver must be a Shipyard identity (letters, digits, . _ @ + -)');
  const text = (v: unknown, what: string) => {
    if (v !== undefined && (typeof v !== 'string' || v.length > 2000)) throw new Error(`${what} must be text of at most 2000 characters`);
    return v as string | undefined;
  };
  return {
    identity: name,
    groups: [],
    authenticated: false,
    via: typeof request?.via === 'string' ? request.via.slice(0, 64) : undefined,
    comment: text(request?.comment, 'comment'),
    reason: text(request?.reason, 'reason'),
    gate: typeof request?.gate === 'string' ? request.gate : undefined,
  };
}

/** Whether `decider` is one of `approvers` by name or (verified groups only) by `group:<name>`. */
export function isApprover(approvers: string[], decider: Pick<Decider, 'identity' | 'groups' | 'authenticated'>): boolean {
  if (approvers.includes(decider.identity)) return true;
  return decider.authenticated && decider.groups.some((g) => approvers.includes(`group:${g}`));
}

/**
 * Throws an Error (which rejects the update before it reaches history) when the decision is not
 * allowed; returns the decider otherwise.
 */
export function validateDecision(
  pending: PendingApproval | null,
  request: ApprovalRequest | undefined,
  trigger: string | TriggerIdentity,
  kind: 'approve' | 'reject',
  ctx?: TrustContext,
): Decider {
  const decider = authenticate(request, [kind], ctx);
  if (!pending) throw new Error('no approval is pending for this release');
  const gate = decider.authenticated ? decider.gate : (request?.gate ?? undefined);
  if (decider.authenticated && gate === undefined) throw new Error('decision statement refused (claims): it names no gate');
  if (gate !== undefined && gate !== pending.gate) {
    throw new Error(`gate '${gate}' is not pending (pending: '${pending.gate}')`);
  }
  if (!isApprover(pending.approvers, decider)) {
    const groups = decider.groups.length ? ` (groups: ${decider.groups.join(', ')})` : '';
    throw new Error(`'${decider.identity}'${groups} is not an approver for ${pending.gate} (approvers: ${pending.approvers.join(', ')})`);
  }
  if (kind === 'approve') {
    const by = typeof trigger === 'string' ? trigger : trigger.by;
    if (pending.fourEyes && decider.identity === by) {
      throw new Error(`four-eyes: '${decider.identity}' triggered this release and may not approve it`);
    }
    if (pending.approvedBy.includes(decider.identity)) {
      throw new Error(`'${decider.identity}' already approved ${pending.gate}; it needs another approver`);
    }
  }
  return decider;
}
