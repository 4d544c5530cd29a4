// Shapes of a train (workflows/train.ts) that cross the workflow boundary: input, status, messages.
import type { TrainSpec } from '../spec/train-schema.js';
import type { Outcome, ReleaseStatus, Trigger } from './types.js';

export interface TrainInput {
  /** The validated train, each service with its parsed release spec (spec/train-load.ts). */
  train: TrainSpec;
  /** service -> full commit: every service of the train has one. */
  commits: Record<string, string>;
  /** service -> version (default: the commit's first 12 digits). */
  versions?: Record<string, string>;
  trigger: Trigger;
  /** Activity task queues for the releases (the releases run on the train's own orchestrator queue). */
  taskQueues?: { build?: string; deploy?: string };
}

export type TrainServiceState = 'pending' | 'running' | 'released' | 'succeeded' | 'rolled-back' | 'failed' | 'skipped';

export interface TrainServiceStatus {
  name: string;
  dependsOn: string[];
  /** The child release's workflow ID: <train ID>/<service>. */
  releaseId: string;
  commit: string;
  state: TrainServiceState;
  /** How the release ended (its outcome and message), or why it was skipped. */
  outcome?: string;
  message?: string;
  startedAt?: string;
  releasedAt?: string;
  endedAt?: string;
}

export interface TrainGateStatus {
  after: string;
  /** closed: its service is not released yet; none: no approval, opens on release. */
  state: 'closed' | 'pending' | 'approved' | 'rejected' | 'timed-out';
  approvers: string[];
  required: number;
  timeout: string;
  approvedBy: string[];
  /** The train's trigger may not approve (spec: approval.fourEyes). */
  fourEyes?: boolean;
  /** Four-eyes in production with a trigger no start statement vouched for: two different approvers are needed. */
  fourEyesUnverifiedTrigger?: boolean;
  openedAt?: string;
  /** authenticated: a statement signed for this train and gate vouched for `by` (and its groups, via). */
  decisions: { decision: 'approved' | 'rejected'; by: string; comment?: string; at: string; authenticated: boolean; via?: string; groups?: string[] }[];
}

export interface TrainStatus {
  trainId: string;
  name: string;
  rollback: 'train' | 'service';
  maxParallel: number;
  trigger: { kind: string; by: string };
  /** aborted: cancelled from Temporal (its releases undone). */
  outcome: Outcome;
  /** Why the train stopped: the service that failed and its message. */
  failure?: { service: string; message: string; gate?: boolean };
  services: TrainServiceStatus[];
  gates: TrainGateStatus[];
  startedAt: string;
  endedAt?: string;
}

/** Release -> train: released (every environment promoted), holding for the verdict. */
export interface TrainReleasedReport {
  service: string;
  releaseId: string;
  stage: ReleaseStatus['stage'];
  environments: string[];
}

export interface TrainVerdict {
  verdict: 'commit' | 'rollback';
  /** Why (rollback): shown as the release's error. */
  reason?: string;
}

export interface TrainDecisionRequest {
  /** The service the gate is after. */
  gate: string;
  /** Development mode: who decides (recorded as unauthenticated). */
  approver?: string;
  comment?: string;
  /** A decision statement signed by the gateway for this train ID (rel) and gate (the service name). */
  statement?: string;
  via?: string;
}

export interface TrainDecisionReply {
  gate: string;
  decision: 'approved' | 'rejected';
  approvals: number;
  required: number;
  closed: boolean;
}
