// One chat decision: the chat user mapped to a Shipyard identity, then the release's approve/reject
// update through the Temporal guard. Kept apart from the routes (which answer the platform and
// deliver the text later) so that what is sent to the workflow is decided in exactly one place.
import type { FastifyBaseLogger } from 'fastify';
import type { ShipyardClient } from '../index.js';
import { ShipyardUsageError } from '../errors.js';
import { decidedText, type ChatDecision } from './chat.js';
import type { LoadedGatewayConfig } from './config.js';
import type { TemporalGuard } from './temporal-guard.js';
import type { GatewayIdentity } from './identity.js';

export type ChatProvider = 'slack' | 'feishu' | 'dingtalk';

export interface DecideContext {
  config: LoadedGatewayConfig;
  shipyard: ShipyardClient;
  guard: TemporalGuard;
  /** Counts one outcome of a route in the gateway's metrics. */
  count: (route: string, outcome: string) => void;
  log: FastifyBaseLogger;
  /** With signing keys, the decision carries a statement: the platform's signature vouched for the user. */
  identity?: GatewayIdentity;
}

/** What to show in chat: `ok` only when the workflow recorded the decision. */
export interface DecideResult {
  ok: boolean;
  text: string;
}

/**
 * Maps the chat user, asks the workflow, and returns the text to show in chat. An unmapped user and
 * a refusal by the workflow's validator are results (`ok: false`); Temporal being unreachable is
 * thrown (TemporalUnavailable), as is anything unexpected.
 */
export async function decide(
  ctx: DecideContext,
  route: string,
  provider: ChatProvider,
  chatUser: unknown,
  decision: ChatDecision,
): Promise<DecideResult> {
  const { config, shipyard, guard, count, log } = ctx;
  const identity = typeof chatUser === 'string' ? config.chat.users[provider][chatUser] : undefined;
  if (!identity) {
    count(route, 'unmapped_user');
    log.warn({ provider, releaseId: decision.releaseId }, 'chat user is not mapped to a Shipyard identity');
    return { ok: false, text: `You are not mapped to a Shipyard approver (${provider} user ${String(chatUser).slice(0, 64)}); ask an admin to add you to the gateway's chat.users.` };
  }
  try {
    // The statement names the gate: the button's, or (a typed command) the one pending now.
    const gate = decision.gate ?? (ctx.identity ? (await guard.call(() => shipyard.status(decision.releaseId))).approvals.pending?.gate : undefined);
    const statement =
      gate && ctx.identity
        ? await ctx.identity.statement(
            { identity, groups: [], authenticated: true, idp: provider, via: provider },
            { rel: decision.releaseId, act: decision.decision, gate, ...(decision.comment ? { comment: decision.comment } : {}) },
          )
        : undefined;
    const request = { approver: identity, gate: decision.gate, comment: decision.comment, via: provider, ...(statement ? { statement } : {}) };
    const reply = await guard.call(() => (decision.decision === 'approve' ? shipyard.approve(decision.releaseId, request) : shipyard.reject(decision.releaseId, request)));
    count(route, decision.decision === 'approve' ? 'approved' : 'rejected');
    log.info({ releaseId: decision.releaseId, gate: reply.gate, approver: identity, decision: decision.decision }, 'chat decision');
    return { ok: true, text: decidedText(decision, identity, reply) };
  } catch (err) {
    if (err instanceof ShipyardUsageError) {
      count(route, 'refused');
      return { ok: false, text: `Not done: ${err.message}` };
    }
    throw err;
  }
}
