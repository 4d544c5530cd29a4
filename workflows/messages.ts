// The release workflow's public messages. The client, CLI and gateway import these definitions.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AbortRequest, ApprovalReply, ApprovalRequest, PauseRequest, ReleaseStatus } from './types.js';

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
