// The release workflow's public messages. The client, CLI and gateway import these definitions.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AbortRequest, ApprovalReply, ApprovalRequest, FreezeRequest, LeaseState, PauseRequest, ReleaseStatus } from './types.js';

/** Approve the pending gate. The validator refuses unknown approvers, four-eyes violations and repeats. */
export const approveUpdate = defineUpdate<ApprovalReply, [ApprovalRequest]>('approve');
/** Reject the pending gate: the release stops and rolls back. */
export const rejectUpdate = defineUpdate<ApprovalReply, [ApprovalRequest]>('reject');
/** Stop the release now and roll back. */
export const abortSignal = defineSignal<[AbortRequest]>('abort');
/** Hold the release at the next step boundary. */
export const pauseSignal = defineSignal<[PauseRequest]>('pause');
/** Continue after pause, or end a canary `pause: {}` step. */
export const resumeSignal = defineSignal<[PauseRequest]>('resume');
export const statusQuery = defineQuery<ReleaseStatus>('status');
/** Stop the line: hold before the next deploy step until unfrozen (to a release, or the freeze workflow). */
export const freezeSignal = defineSignal<[FreezeRequest]>('freeze');
export const unfreezeSignal = defineSignal<[FreezeRequest]>('unfreeze');

/**
 * The singleton holding the line-wide freeze (its memo says whether the line is frozen). One per
 * orchestrator task queue: releases on a dedicated worker pool are their own line.
 */
export function freezeWorkflowId(orchestratorQueue?: string): string {
  return !orchestratorQueue || orchestratorQueue === TASK_QUEUES.orchestrator ? 'shipyard/freeze' : `shipyard/freeze/${orchestratorQueue}`;
}

/** The lease of one (service, environment): which release holds it and which wait, in order. */
export const leaseStateQuery = defineQuery<LeaseState>('leaseState');

/** One lease workflow per (service, environment[, cluster]); releases of any line share it. */
export function leaseWorkflowId(service: string, environment: string, cluster?: string): string {
  return `shipyard/lease/${service}/${environment}${cluster ? `/${cluster}` : ''}`;
}

export const TASK_QUEUES = {
  orchestrator: 'shipyard-orchestrator',
  build: 'shipyard-build',
  deploy: 'shipyard-deploy',
} as const;

/** Failure types a finished release carries (ApplicationFailure.type); the CLI maps them to exit codes. */
export const RELEASE_FAILURE_TYPES = {
  failed: 'ReleaseFailed',
  'rolled-back': 'ReleaseRolledBack',
  rejected: 'ReleaseRejected',
  aborted: 'ReleaseAborted',
} as const;
