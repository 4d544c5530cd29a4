// Contracts of the coordination activities: Temporal calls a workflow cannot make itself
// (signal-with-start), run on the orchestrator's own task queue.
import type { LeaseEntry, Trigger } from '../workflows/types.js';
import type { DecisionTrust } from '../workflows/decision-statement.js';
import type { RepoSpecResult } from './types.js';

export interface LeaseRequestInput {
  /** Lease workflow ID (leaseWorkflowId). */
  leaseId: string;
  key: string;
  entry: LeaseEntry;
  /** How often the lease pings its holder. */
  checkInterval: string;
}

export interface FreezeSubscribeInput {
  /** Freeze workflow ID (freezeWorkflowId). */
  freezeId: string;
  releaseId: string;
  runId: string;
  service: string;
}

/** A release whose spec was read from the app repository (pipelines as code), to start or attach to. */
export interface StartLoadedReleaseInput {
  loaded: RepoSpecResult;
  repo: string;
  environments?: string[];
  version?: string;
  buildOnly?: boolean;
  untrusted?: boolean;
  retryFailed?: boolean;
  trigger: Trigger;
  taskQueues?: { orchestrator?: string; build?: string; deploy?: string };
  leaseCheckInterval?: string;
}

/** What starting (or attaching to) that release found; the client's StartedRelease as plain JSON. */
export interface StartedLoadedRelease {
  releaseId: string;
  runId: string;
  started: boolean;
  state: 'started' | 'running' | 'ended';
  ended?: { outcome: string; message?: string };
  commit: string;
  url: string;
}

export interface CoordinationActivities {
  /** Signal-with-start of the lease workflow; the lease answers the release by signal. Repeatable: the lease ignores a repeated request. */
  requestLease(input: LeaseRequestInput): Promise<void>;
  /** Signal-with-start of the freeze workflow; it answers with the current freeze state by signal. Repeatable. */
  subscribeFreeze(input: FreezeSubscribeInput): Promise<void>;
  /** Read-only: the status of one run (RUNNING, COMPLETED, TERMINATED, ..., or NOT_FOUND). The lease's watchdog. */
  describeRun(input: { workflowId: string; runId: string }): Promise<string>;
  /** Starts the release of a spec read from the app repository, or attaches to it (same release ID): repeatable. */
  startLoadedRelease(input: StartLoadedReleaseInput): Promise<StartedLoadedRelease>;
  /** Local activity: the decision keys and mode this orchestrator trusts (from its own configuration, never the starter's). */
  decisionTrust(): Promise<DecisionTrust>;
}
