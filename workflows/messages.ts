// The release workflow's public messages. The client, CLI and gateway import these definitions.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AbortRequest, AnalysisReport, ApprovalReply, ApprovalRequest, ControlReply, ControlRequest, FreezeRequest, LeaseEntry, LeaseState, PauseRequest, ReleaseStatus } from './types.js';

/** Approve the pending gate. The validator refuses unknown approvers, four-eyes violations and repeats. */
export const approveUpdate = defineUpdate<ApprovalReply, [ApprovalRequest]>('approve');
/** Reject the pending gate: the release stops and rolls back. */
export const rejectUpdate = defineUpdate<ApprovalReply, [ApprovalRequest]>('reject');
/** Abort, pause or resume as an update (the gateway's API uses it): a refusal reaches the caller. */
export const controlUpdate = defineUpdate<ControlReply, [ControlRequest]>('control');
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

// ---- leases: the lease workflow and the releases holding or waiting for it ----

/** A release asks for the lease (sent by the requestLease activity with signal-with-start). */
export const leaseRequestSignal = defineSignal<[LeaseEntry]>('leaseRequest');
/** A release gives the lease back, or leaves the queue. */
export const leaseReleaseSignal = defineSignal<[{ releaseId: string; runId: string }]>('leaseRelease');
/** Lease -> release: the lease is yours / busy (concurrency reject) / superseded by a newer release / your place. */
export const leaseGrantedSignal = defineSignal<[{ key: string }]>('leaseGranted');
export const leaseDeniedSignal = defineSignal<[{ key: string; holder: string }]>('leaseDenied');
export const leaseSupersededSignal = defineSignal<[{ key: string; by: string }]>('leaseSuperseded');
export const leaseQueuedSignal = defineSignal<[{ key: string; position: number; holder: string | null }]>('leaseQueued');
/** Lease -> holder, now and then: a closed holder makes the signal fail, and the lease moves on. */
export const leasePingSignal = defineSignal<[]>('leasePing');

// ---- freeze subscriptions ----

/** A release subscribes to the line freeze (sent by the subscribeFreeze activity with signal-with-start). */
export const freezeSubscribeSignal = defineSignal<[{ releaseId: string; runId: string; service: string }]>('freezeSubscribe');
export const freezeUnsubscribeSignal = defineSignal<[{ releaseId: string; runId: string }]>('freezeUnsubscribe');

// ---- background analysis child -> release ----

/** Measurements taken since the last report (batched: the release's history stays bounded). */
export const analysisReportSignal = defineSignal<[AnalysisReport]>('analysisReport');
/** Release -> background analysis: stop after the current round and return. */
export const analysisStopSignal = defineSignal<[]>('analysisStop');

/** The lease of one (service, environment): which release holds it and which wait, in order. */
export const leaseStateQuery = defineQuery<LeaseState>('leaseState');

/**
 * One lease workflow per (service, environment[, cluster]) and line: like the freeze, a line is an
 * orchestrator task queue (a dedicated worker pool is its own line).
 */
export function leaseWorkflowId(service: string, environment: string, opts: { line?: string; cluster?: string } = {}): string {
  const line = !opts.line || opts.line === TASK_QUEUES.orchestrator ? '' : `${opts.line}/`;
  return `shipyard/lease/${line}${service}/${environment}${opts.cluster ? `/${opts.cluster}` : ''}`;
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
