// The release's message handlers: approve/reject updates (validated), abort/pause/resume and freeze
// signals, the lease's answers, background analysis reports, and the status query. Handlers only
// change ReleaseState; the stages wait on it.
import { getExternalWorkflowHandle, log, setHandler } from '@temporalio/workflow';
import { authenticate, validateDecision, type Decider } from '../approval.js';
import {
  abortSignal,
  analysisReportSignal,
  approveUpdate,
  controlUpdate,
  freezeSignal,
  leaseDeniedSignal,
  leaseGrantedSignal,
  leaseReleaseSignal,
  leasePingSignal,
  leaseQueuedSignal,
  leaseSupersededSignal,
  pauseSignal,
  rejectUpdate,
  resumeSignal,
  statusQuery,
  unfreezeSignal,
} from '../messages.js';
import { releaseMetrics } from '../metrics.js';
import { trainVerdictSignal } from '../train-messages.js';
import type { AbortRequest, ApprovalReply, ApprovalRequest, ControlReply, ControlRequest, FreezeRequest, PauseRequest } from '../types.js';
import { refuse, remember, trustContext } from './identity.js';
import type { ReleaseState } from './state.js';

export function installHandlers(r: ReleaseState): void {
  setHandler(statusQuery, () => r.status);
  const check = (req: ApprovalRequest, kind: 'approve' | 'reject') =>
    validateDecision(r.status.approvals.pending, req, { by: r.input.trigger.by, verified: r.triggerVerified }, kind, trustContext(r));
  setHandler(approveUpdate, (req) => decide(r, check(req, 'approve'), 'approve'), {
    validator: (req) => void check(req, 'approve'),
    description: 'Approve the pending gate: { statement } signed by the gateway, or (development mode) { approver, comment?, gate? }',
  });
  setHandler(rejectUpdate, (req) => decide(r, check(req, 'reject'), 'reject'), {
    validator: (req) => void check(req, 'reject'),
    description: 'Reject the pending gate; the release rolls back: { statement }, or (development mode) { approver, comment?, gate? }',
  });
  setHandler(controlUpdate, (req) => control(r, req, authenticate(req, [req.action], trustContext(r))), {
    validator: (req) => {
      if (!req || !['abort', 'pause', 'resume'].includes(req.action)) throw new Error('action must be abort, pause or resume');
      authenticate(req, [req.action], trustContext(r));
    },
    description: 'Abort, pause or resume with a verified identity: { action, statement } (development mode: { action, by, reason? })',
  });
  // The signals stay for older clients. A release that checks identities takes them only as the
  // update would (a valid statement, or unsigned in development mode); a refused one shows in status.
  const fromSignal = (action: 'abort' | 'pause' | 'resume', req: AbortRequest | PauseRequest | undefined): Decider | undefined => {
    // Unsigned in development mode (and every signal on releases from before signed decisions): as before.
    if (!r.trust || (req?.statement === undefined && !r.trust.requireSigned)) return { identity: req?.by || 'unknown', groups: [], authenticated: false, reason: req?.reason };
    try {
      return authenticate(req, [action], trustContext(r));
    } catch (err) {
      refuse(r, action, req?.by, (err as Error).message);
      return undefined;
    }
  };
  setHandler(abortSignal, (req) => {
    const d = fromSignal('abort', req);
    if (d) control(r, { action: 'abort' }, d);
  });
  setHandler(pauseSignal, (req) => {
    const d = fromSignal('pause', req);
    if (d) control(r, { action: 'pause' }, d);
  });
  setHandler(resumeSignal, (req) => {
    const d = fromSignal('resume', req);
    if (d) control(r, { action: 'resume' }, d);
  });
  setHandler(freezeSignal, (req) => onFreeze(r, req, true));
  setHandler(unfreezeSignal, (req) => onFreeze(r, req, false));

  setHandler(leaseGrantedSignal, ({ key }) => {
    // A grant for a lease this release already gave back (it crossed the give-back): return it again.
    for (const t of r.leases.values()) {
      if (t.key === key && t.state === 'released') {
        void getExternalWorkflowHandle(t.leaseId).signal(leaseReleaseSignal, { releaseId: r.status.releaseId, runId: r.runId }).catch(() => undefined);
      }
    }
    ticket(r, key, (t) => (t.state = 'held'));
  });
  setHandler(leaseDeniedSignal, ({ key, holder }) => ticket(r, key, (t) => (t.denied = holder)));
  setHandler(leaseQueuedSignal, ({ key, position, holder }) =>
    ticket(r, key, (t) => {
      const env = [...r.leases].find(([, v]) => v === t)?.[0];
      if (env && t.state === 'waiting') r.setStage('queued', env, `waiting for ${key}: position ${position}${holder ? `, held by ${holder}` : ''}`);
    }),
  );
  setHandler(leaseSupersededSignal, ({ key, by }) =>
    ticket(r, key, (t) => {
      t.supersededBy = by;
      const env = [...r.leases].find(([, v]) => v === t)?.[0] ?? '';
      // Stand down only before deploying there or while waiting at an approval there; later, the newer release queues.
      if (t.state === 'waiting' || !r.deployedIn(env) || r.status.approvals.pending?.environment === env) {
        requestAbort(r, `shipyard (superseded by ${by})`, `a newer release of ${r.spec.service} to ${env} superseded this one`);
      }
    }),
  );
  setHandler(leasePingSignal, () => undefined);

  // Only a train's releases listen for its verdict (older histories never had the handler).
  if (r.input.train) {
    setHandler(trainVerdictSignal, (v) => {
      if (r.trainVerdict === undefined && (v?.verdict === 'commit' || v?.verdict === 'rollback')) r.trainVerdict = { verdict: v.verdict, reason: typeof v.reason === 'string' ? v.reason.slice(0, 2000) : undefined };
    });
  }

  setHandler(analysisReportSignal, (report) => {
    for (const m of report.measurements) r.record(r.status.metrics, m);
    const record = r.status.analyses.find((a) => a.environment === report.environment && a.analysis === report.analysis);
    if (record) {
      record.rounds = report.rounds;
      record.runs = report.runs;
    }
  });
}

export function requestAbort(r: ReleaseState, by: string, reason?: string, authenticated?: boolean): void {
  if (r.abortRequest || r.status.outcome !== 'running') return;
  r.abortRequest = { by, reason, ...(authenticated !== undefined ? { authenticated } : {}) };
  r.status.abort = r.abortRequest;
  log.info('abort requested', { by, reason });
  r.mainScope.cancel();
}

function onFreeze(r: ReleaseState, req: FreezeRequest | undefined, frozen: boolean): void {
  // The freeze workflow is the one source (its pushes are numbered; an older one arriving late
  // changes nothing). Unnumbered freeze signals are meant for releases started by older code.
  if (req?.seq === undefined || req.seq <= r.freezeSeq) return;
  r.freezeSeq = req.seq;
  r.freezeKnown = true;
  r.frozen = frozen ? { by: req?.by || 'unknown', reason: req?.reason, at: new Date().toISOString() } : null;
}

function ticket(r: ReleaseState, key: string, apply: (t: NonNullable<ReturnType<ReleaseState['leases']['get']>>) => void): void {
  for (const [env, t] of r.leases) {
    // A lease given back is over: late signals about it change nothing.
    if (t.key !== key || t.state === 'released') continue;
    apply(t);
    if (r.status.leases?.[env]) r.status.leases[env].state = t.state;
  }
}

/** Applies abort, pause or resume for a decider the caller has authenticated. */
function control(r: ReleaseState, req: Pick<ControlRequest, 'action'>, d: Decider): ControlReply {
  remember(r, d);
  // Only releases that check identities say whether the decider was authenticated.
  const auth = r.trust ? { authenticated: d.authenticated } : {};
  let changed = false;
  if (req.action === 'abort') {
    changed = !r.abortRequest && r.status.outcome === 'running';
    requestAbort(r, d.identity, d.reason, r.trust ? d.authenticated : undefined);
  } else if (req.action === 'pause') {
    changed = !r.status.paused;
    if (changed) r.status.paused = { by: d.identity, reason: d.reason, at: new Date().toISOString(), ...auth };
  } else {
    changed = r.status.paused !== null;
    r.status.paused = null;
    r.resumes++;
  }
  return { action: req.action, by: d.identity, authenticated: d.authenticated, changed };
}

function decide(r: ReleaseState, d: Decider, kind: 'approve' | 'reject'): ApprovalReply {
  remember(r, d);
  const pending = r.status.approvals.pending!;
  r.status.approvals.decisions.push({
    gate: pending.gate,
    decision: kind === 'approve' ? 'approved' : 'rejected',
    approver: d.identity,
    comment: d.comment,
    via: d.via,
    at: new Date().toISOString(),
    ...(r.trust ? { authenticated: d.authenticated, ...(d.groups.length ? { groups: d.groups } : {}) } : {}),
  });
  if (kind === 'reject') {
    r.gateResult = 'rejected';
  } else {
    pending.approvedBy.push(d.identity);
    // Four-eyes with an unverified trigger: the triggerer could be anyone, so two people must approve.
    const required = pending.fourEyesUnverifiedTrigger ? Math.max(pending.required, 2) : pending.required;
    if (pending.approvedBy.length >= required) r.gateResult = 'approved';
  }
  const closed = r.gateResult !== undefined;
  if (closed) {
    r.status.approvals.pending = null;
    releaseMetrics.approval(r.spec.service, r.gateResult!, Date.now() - Date.parse(pending.openedAt));
  }
  return {
    gate: pending.gate,
    decision: kind === 'approve' ? 'approved' : 'rejected',
    approvals: pending.approvedBy.length,
    required: pending.fourEyesUnverifiedTrigger ? Math.max(pending.required, 2) : pending.required,
    closed,
  };
}
