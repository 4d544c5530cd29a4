// Contracts of the coordination activities: Temporal calls a workflow cannot make itself
// (signal-with-start), run on the orchestrator's own task queue.
import type { LeaseEntry } from '../workflows/types.js';

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

export interface CoordinationActivities {
  /** Signal-with-start of the lease workflow; the lease answers the release by signal. Repeatable: the lease ignores a repeated request. */
  requestLease(input: LeaseRequestInput): Promise<void>;
  /** Signal-with-start of the freeze workflow; it answers with the current freeze state by signal. Repeatable. */
  subscribeFreeze(input: FreezeSubscribeInput): Promise<void>;
  /** Read-only: the status of one run (RUNNING, COMPLETED, TERMINATED, ..., or NOT_FOUND). The lease's watchdog. */
  describeRun(input: { workflowId: string; runId: string }): Promise<string>;
}
