// How a release stops: why (the error), the compensations with what each read back, the outcome,
// the leases and freeze subscription given back, the last notifications and JIRA.
import { ApplicationFailure, CancellationScope, isCancellation, log } from '@temporalio/workflow';
import type { RestoreTrafficInput } from '../../activities/types.js';
import { releaseMetrics } from '../metrics.js';
import { errorMessage, failureType, type UndoStep } from '../saga.js';
import { SA } from '../search-attributes.js';
import type { Outcome } from '../types.js';
import { REJECTED, releaseLease, unsubscribeFromFreeze } from './gates.js';
import type { Notifier } from './notify.js';
import type { ReleaseState } from './state.js';
import { clustersAfterCompensation } from './stages/waves.js';

/** Records why the release stopped, runs the compensations, and returns the outcome. */
export async function unwind(r: ReleaseState, notifier: Notifier, failure: unknown): Promise<Outcome> {
  const current = r.status.stages[r.status.stages.length - 1];
  const aborted = r.abortRequest !== null || isCancellation(failure);
  const rejected = failure instanceof ApplicationFailure && failure.type === REJECTED;
  if (aborted && !r.abortRequest) r.status.abort = { by: 'temporal', reason: 'workflow cancellation requested' };
  r.status.error = {
    stage: r.status.stage,
    environment: r.status.environment,
    type: aborted ? (r.abortRequest?.by.startsWith('shipyard (superseded') ? 'Superseded' : 'Aborted') : failureType(failure),
    message: aborted ? `aborted by ${r.status.abort!.by}${r.status.abort!.reason ? `: ${r.status.abort!.reason}` : ''}` : errorMessage(failure),
  };
  if (current && !current.endedAt) {
    current.detail = r.status.error.message;
    r.endStage(current, aborted ? 'cancelled' : 'failed');
  }
  r.status.approvals.pending = null;
  log.warn('release stopping', { ...r.status.error });
  if (!aborted && !rejected && r.status.stage === 'health') notifier.notify('health-degraded', r.status.environment);

  const hadWork = r.saga.pendingCount > 0;
  if (hadWork) {
    releaseMetrics.rolledBack(r.spec.service);
    r.setStage('compensating', r.status.environment);
    const ok = await r.saga.compensate(
      (step) => (r.acts.compensate(step.timeout, step.budget ?? 'change')[step.activity] as (input: unknown) => Promise<unknown>)(step.input),
      (step, result) => onUndone(r, step, result.weights),
    );
    const skipped = r.saga.records.filter((c) => c.status === 'skipped').length;
    r.closeStage(ok ? 'ok' : 'failed', ok ? (skipped ? `${skipped} undo(s) skipped: target not found` : undefined) : 'some compensations failed; see compensation');
  }
  if (r.status.clusters) clustersAfterCompensation(r);
  if (aborted) return 'aborted';
  if (rejected) return 'rejected';
  const undone = r.saga.records.filter((c) => c.status === 'done' || c.status === 'unchanged').length;
  const failedUndos = r.saga.records.filter((c) => c.status === 'failed').length;
  return hadWork && undone > 0 && failedUndos === 0 ? 'rolled-back' : 'failed';
}

/** Status follows what an undo read back: the canary weight after traffic was restored. */
function onUndone(r: ReleaseState, step: UndoStep, weights?: { stable: number; canary: number }): void {
  if (step.activity === 'restoreTraffic' && weights) {
    const env = (step.input as RestoreTrafficInput).environment ?? r.status.environment ?? '';
    r.setCanaryWeight(env, weights.canary, 'restored by compensation');
  }
}

export async function finish(r: ReleaseState, notifier: Notifier, outcome: Outcome): Promise<void> {
  r.status.outcome = outcome;
  r.status.endedAt = new Date().toISOString();
  r.setStage('done');
  r.closeStage(outcome === 'succeeded' ? 'ok' : 'failed');
  r.upsert([{ key: SA.outcome, value: outcome }]);
  releaseMetrics.finished(r.spec.service, outcome);
  await CancellationScope.nonCancellable(async () => {
    // Compensation (if any) is over: every lease this release holds or waits for goes back.
    for (const environment of r.leases.keys()) await releaseLease(r, environment);
    await unsubscribeFromFreeze(r);
    await notifier.abandonStale();
    const finalFrom = notifier.mark;
    if (outcome === 'succeeded') notifier.notify('succeeded');
    else notifier.notify(outcome === 'rolled-back' ? 'rolled-back' : 'failed');
    if (r.spec.jira) {
      const jira = r.spec.jira;
      // The commit scan runs where the source is (the build worker); the deploy worker only talks to JIRA.
      const work = r.acts.build
        .scanJiraIssues({ ...r.ref(), jira, repo: r.spec.source.repo })
        .then(({ issues }) => r.acts.integration.updateJira({ ...r.ref(), jira, outcome, repo: r.spec.source.repo, issues }))
        .then(() => undefined);
      notifier.track('jira', undefined, work);
    }
    await notifier.drain(finalFrom);
  });
}

/** The outcome message: where it stopped, why, and what compensation did (or did not) undo. */
export function summary(r: ReleaseState, outcome: Outcome): string {
  const err = r.status.error;
  const where = err ? `${err.stage}${err.environment ? ` in ${err.environment}` : ''}` : '';
  const records = r.saga.records;
  const count = (s: string) => records.filter((c) => c.status === s).length;
  const parts: string[] = [];
  if (count('done')) parts.push(`${count('done')} step(s) rolled back`);
  if (count('unchanged')) parts.push(`${count('unchanged')} already as before`);
  for (const c of records.filter((x) => x.status === 'skipped')) parts.push(`skipped: ${c.detail ?? c.description}`);
  if (count('failed')) parts.push(`${count('failed')} compensation(s) FAILED`);
  return `release ${outcome} at ${where}: ${err?.message ?? 'unknown error'}${parts.length ? `; ${parts.join('; ')}` : ''}`;
}
