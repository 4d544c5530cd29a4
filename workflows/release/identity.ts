// Who the release believes: the decision keys and mode of its orchestrator (read at start through a
// local activity, so the starter cannot choose them), whether the trigger was vouched for, and the
// statement ids it has already accepted.
import { log, patched, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { CoordinationActivities } from '../../activities/coordination-types.js';
import { verifyStatement, StatementError } from '../decision-statement.js';
import type { Decider, TrustContext } from '../approval.js';
import type { ReleaseState } from './state.js';

export const PATCH_SIGNED_DECISIONS = 'signed-decisions';
const MAX_REFUSALS = 20;

const local = proxyLocalActivities<Pick<CoordinationActivities, 'decisionTrust'>>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

/**
 * Reads what the orchestrator trusts and checks the trigger's start statement against it. Releases
 * recorded before signed decisions skip this (and keep their old behaviour on replay).
 */
export async function loadTrust(r: ReleaseState): Promise<void> {
  if (!patched(PATCH_SIGNED_DECISIONS)) return;
  r.trust = await local.decisionTrust();
  const trigger = r.status.trigger;
  const statement = r.input.trigger.statement;
  if (statement === undefined) {
    trigger.authenticated = false;
    trigger.verification = 'no start statement (started without a verified identity)';
    return;
  }
  try {
    // The start's own time, as the server recorded it: a start the workers take up late still verifies.
    // A release started by a pipeline (spec read from the repository) carries the pipeline's start
    // statement; it counts only for a pipeline of this very commit.
    const pipeline = r.input.specSource?.pipelineId;
    const alsoFor = pipeline?.endsWith(`/${r.input.commit}`) ? pipeline : undefined;
    const claims = verifyStatement(statement, r.trust, { releaseId: r.status.releaseId, alsoFor, actions: ['start'], now: workflowInfo().startTime.getTime() });
    if (claims.sub !== trigger.by) throw new StatementError('claims', `vouches for ${claims.sub}, not ${trigger.by}`);
    r.triggerVerified = true;
    trigger.authenticated = true;
    trigger.verification = `${claims.via} (${claims.idp})`;
  } catch (err) {
    trigger.authenticated = false;
    trigger.verification = (err as Error).message;
    log.warn('start statement refused; the trigger is unauthenticated', { error: (err as Error).message });
  }
}

/** Refreshes the trusted keys (a gate opening after a key rotation sees the new key). */
export async function refreshTrust(r: ReleaseState): Promise<void> {
  if (r.trust) r.trust = await local.decisionTrust();
}

export function trustContext(r: ReleaseState): TrustContext {
  return { trust: r.trust, releaseId: r.status.releaseId, now: Date.now(), used: r.usedStatements };
}

/** Records an accepted statement so it cannot be used again (ids whose statement expired are dropped). */
export function remember(r: ReleaseState, decider: Decider): void {
  if (!decider.jti) return;
  const nowS = Math.floor(Date.now() / 1000);
  for (const [jti, exp] of r.usedStatements) if (exp < nowS) r.usedStatements.delete(jti);
  r.usedStatements.set(decider.jti, decider.exp ?? nowS);
}

/** A decision that arrived as a signal and was not accepted: it shows in status, since its sender cannot be told. */
export function refuse(r: ReleaseState, action: string, by: unknown, reason: string): void {
  const list = (r.status.refusals ??= []);
  list.push({ action, by: typeof by === 'string' ? by.slice(0, 128) : 'unknown', reason, at: new Date().toISOString() });
  if (list.length > MAX_REFUSALS) list.splice(0, list.length - MAX_REFUSALS);
  log.warn('decision refused', { action, reason });
}
