// The release's message handlers: approve/reject updates (validated), abort/pause/resume and freeze
// signals, the lease's answers, background analysis reports, and the status query. Handlers only
// change ReleaseState; the stages wait on it.
import { getExternalWorkflowHandle, log, setHandler } from '@temporalio/workflow';
import { validateDecision } from '../approval.js';
import {
  abortSignal,
  analysisReportSignal,
  approveUpdate,
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
import type { ApprovalReply, ApprovalRequest, FreezeRequest } from '../types.js';
import type { ReleaseState } from './state.js';

export function installHandlers(r: ReleaseState): void {
  setHandler(statusQuery, () => r.status);
  setHandler(approveUpdate, (req) => decide(r, req, 'approve'), {
    validator: (req) => validateDecision(r.status.approvals.pending, req, r.input.trigger.by, 'approve'),
    description: 'Approve the pending gate: { approver, comment?, gate? }',
  });
  setHandler(rejectUpdate, (req) => decide(r, req, 'reject'), {
    validator: (req) => validateDecision(r.status.approvals.pending, req, r.input.trigger.by, 'reject'),
    description: 'Reject the pending gate; the release rolls back: { approver, comment?, gate? }',
  });
  setHandler(abortSignal, (req) => requestAbort(r, req?.by || 'unknown', req?.reason));
  setHandler(pauseSignal, (req) => {
    if (r.status.paused) return;
    r.status.paused = { by: req?.by || 'unknown', reason: req?.reason, at: new Date().toISOString() };
  });
  setHandler(resumeSignal, () => {
    r.status.paused = null;
    r.resumes++;
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

  setHandler(analysisReportSignal, (report) => {
    for (const m of report.measurements) r.record(r.status.metrics, m);
    const record = r.status.analyses.find((a) => a.environment === report.environment && a.analysis === report.analysis);
    if (record) {
      record.rounds = report.rounds;
      record.runs = report.runs;
    }
  });
}

export function requestAbort(r: ReleaseState, by: string, reason?: string): void {
  if (r.abortRequest || r.status.outcome !== 'running') return;
  r.abortRequest = { by, reason };
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

function decide(r: ReleaseState, req: ApprovalRequest, kind: 'approve' | 'reject'): ApprovalReply {
  const pending = r.status.approvals.pending!;
  r.status.approvals.decisions.push({
    gate: pending.gate,
    decision: kind === 'approve' ? 'approved' : 'rejected',
    approver: req.approver,
    comment: req.comment,
    via: req.via,
    at: new Date().toISOString(),
  });
  if (kind === 'reject') {
    r.gateResult = 'rejected';
  } else {
    pending.approvedBy.push(req.approver);
    if (pending.approvedBy.length >= pending.required) r.gateResult = 'approved';
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
    required: pending.required,
    closed,
  };
}
