// Where a release waits: deploy windows and freezes (policy), approvals, pauses, and the
// environment lease. Each wait is a condition on ReleaseState that the handlers satisfy.
import { ApplicationFailure, CancellationScope, condition, getExternalWorkflowHandle, log, sleep, workflowInfo } from '@temporalio/workflow';
import { formatDuration, parseDuration } from '../../spec/duration.js';
import { freezeUnsubscribeSignal, freezeWorkflowId, leaseReleaseSignal, leaseWorkflowId } from '../messages.js';
import { activeDenyWindow } from '../policy.js';
import { releaseMetrics } from '../metrics.js';
import type { EnvironmentSpec } from '../../spec/schema.js';
import type { PendingApproval } from '../types.js';
import type { Notifier } from './notify.js';
import { refreshTrust } from './identity.js';
import type { ReleaseState } from './state.js';

/** Thrown inside the release when a gate is rejected or times out. */
export const REJECTED = 'ApprovalRejected';

export interface GateOptions {
  approvers: string[];
  required: number;
  timeout: string;
  fourEyes: boolean;
}

/** Step boundary: holds here while the release is paused. */
export async function checkpoint(r: ReleaseState): Promise<void> {
  if (r.status.paused) {
    log.info('release paused', { by: r.status.paused.by });
    await condition(() => r.status.paused === null);
  }
}

/** Waits for the next resume signal (a canary `pause: {}` step). */
export async function waitForResume(r: ReleaseState): Promise<void> {
  const seen = r.resumes;
  await condition(() => r.resumes > seen);
}

/** Deny windows (wait or fail), then, before a deploy, the freeze: held until unfrozen. */
export async function policyGate(r: ReleaseState, environment?: string): Promise<void> {
  await checkpoint(r);
  for (;;) {
    const hit = activeDenyWindow(r.spec.policy, new Date());
    if (!hit) break;
    const until = hit.endsAt.toISOString();
    const reason = `${hit.window.reason} (${hit.window.cron} ${hit.window.timezone} for ${hit.window.duration}) until ${until}`;
    if (r.spec.policy.onDenyWindow === 'fail') {
      r.setStage('policy', environment);
      throw ApplicationFailure.nonRetryable(`deploy window closed: ${reason}`, 'PolicyDenied');
    }
    r.setStage('policy', environment, `waiting: ${reason}`);
    r.status.policy = { waitingUntil: until, reason: hit.window.reason };
    log.info('waiting for deploy window', { until, reason: hit.window.reason });
    await sleep(Math.max(1000, hit.endsAt.getTime() - Date.now()));
  }
  if (environment) {
    // The freeze workflow's answer to this release's subscription is the truth; wait for it.
    await condition(() => r.freezeKnown);
    if (r.frozen) {
      const f = r.frozen;
      r.setStage('policy', environment, `frozen by ${f.by}${f.reason ? `: ${f.reason}` : ''}`);
      r.status.policy = { frozen: f, reason: f.reason ?? 'deploys frozen' };
      log.info('release held by a freeze', { by: f.by, reason: f.reason });
      await condition(() => r.frozen === null);
    }
  }
  if (r.status.policy) {
    r.status.policy = null;
    r.closeStage('ok');
  }
}

/** Subscribes to the line freeze (in the background: only a deploy waits for the answer). */
/** The freeze workflow of this release's line (its orchestrator task queue). */
function lineFreezeId(): string {
  return freezeWorkflowId(workflowInfo().taskQueue);
}

export function subscribeToFreeze(r: ReleaseState): void {
  void r.acts.coordination
    .subscribeFreeze({ freezeId: lineFreezeId(), releaseId: r.status.releaseId, runId: r.runId, service: r.spec.service })
    .catch((err) => {
      // Cannot be told: go by the start-time freeze state rather than hold forever.
      log.warn('freeze subscription failed; going by the freeze state at start', { error: (err as Error).message });
      r.freezeKnown = true;
    });
}

export async function unsubscribeFromFreeze(r: ReleaseState): Promise<void> {
  await getExternalWorkflowHandle(lineFreezeId())
    .signal(freezeUnsubscribeSignal, { releaseId: r.status.releaseId, runId: r.runId })
    .catch(() => undefined);
}

/** Waits for the gate's approvals; a rejection or the timeout rejects the release. */
export async function approvalGate(r: ReleaseState, notifier: Notifier, gate: string, environment: string, options: GateOptions): Promise<void> {
  const timeoutMs = parseDuration(options.timeout);
  await refreshTrust(r);
  const now = Date.now();
  const pending: PendingApproval = {
    gate,
    environment,
    approvers: options.approvers,
    required: options.required,
    fourEyes: options.fourEyes,
    openedAt: new Date(now).toISOString(),
    timeoutAt: new Date(now + timeoutMs).toISOString(),
    approvedBy: [],
    // Production mode cannot tell who an unverified trigger was: four-eyes then takes two approvers.
    ...(options.fourEyes && r.trust?.requireSigned && !r.triggerVerified ? { fourEyesUnverifiedTrigger: true } : {}),
  };
  r.gateResult = undefined;
  r.status.approvals.pending = pending;
  notifier.notify('waiting-approval', environment, { gate, approvers: options.approvers.join(', ') });
  try {
    const decided = await condition(() => r.gateResult !== undefined, timeoutMs);
    if (!decided) {
      releaseMetrics.approval(r.spec.service, 'timed-out', timeoutMs);
      r.status.approvals.decisions.push({ gate, decision: 'timed-out', approver: 'shipyard', comment: `no decision within ${options.timeout}`, at: new Date().toISOString() });
      throw ApplicationFailure.nonRetryable(
        `approval ${gate} timed out after ${formatDuration(timeoutMs)} with ${pending.approvedBy.length}/${pending.required} approvals: a timeout rejects the release`,
        REJECTED,
      );
    }
    if (r.gateResult === 'rejected') {
      const d = r.status.approvals.decisions[r.status.approvals.decisions.length - 1];
      throw ApplicationFailure.nonRetryable(`rejected at ${gate} by ${d.approver}${d.comment ? `: ${d.comment}` : ''}`, REJECTED);
    }
  } finally {
    r.status.approvals.pending = null;
  }
}

/**
 * Takes this environment's lease (FIFO per service and environment), held until the environment is
 * promoted or the release has finished compensating. concurrency reject: EnvironmentBusy at once.
 */
export async function acquireLease(r: ReleaseState, env: EnvironmentSpec): Promise<void> {
  if (r.leases.get(env.name)?.state === 'held') return;
  const line = workflowInfo().taskQueue;
  const leaseId = leaseWorkflowId(r.spec.service, env.name, { line });
  const key = `${r.spec.service}/${env.name}`;
  const ticket = { key, leaseId, state: 'waiting' as const };
  r.leases.set(env.name, ticket);
  const since = new Date().toISOString();
  (r.status.leases ??= {})[env.name] = { key, state: 'waiting', since, workflowId: leaseId };
  await r.acts.coordination.requestLease({
    leaseId,
    key,
    checkInterval: r.input.leaseCheckInterval ?? '30s',
    entry: { releaseId: r.status.releaseId, runId: r.runId, since, concurrency: env.concurrency ?? 'queue', releaseStartedAt: r.status.startedAt },
  });
  const t = r.leases.get(env.name)!;
  await condition(() => t.state === 'held' || t.denied !== undefined);
  if (t.denied !== undefined) {
    t.state = 'released';
    r.status.leases![env.name].state = 'released';
    throw ApplicationFailure.nonRetryable(`${key} is busy: release ${t.denied} holds or waits for it (concurrency: reject)`, 'EnvironmentBusy');
  }
  r.status.leases![env.name] = { key, state: 'held', since: new Date().toISOString(), workflowId: leaseId };
  // A release that had to wait shows a `queued` stage (set when the lease told it its place).
  if (r.status.stage === 'queued' && r.status.environment === env.name) r.closeStage('ok', `lease ${key} held`);
}

/** Gives an environment's lease back (or leaves its queue). Never cancelled: a lease must not leak. */
export async function releaseLease(r: ReleaseState, environment: string): Promise<void> {
  const t = r.leases.get(environment);
  if (!t || t.state === 'released') return;
  t.state = 'released';
  r.status.leases![environment].state = 'released';
  await CancellationScope.nonCancellable(() =>
    getExternalWorkflowHandle(t.leaseId).signal(leaseReleaseSignal, { releaseId: r.status.releaseId, runId: r.runId }).catch((err) => {
      log.warn('could not give a lease back; its watchdog will', { lease: t.key, error: (err as Error).message });
    }),
  );
}
