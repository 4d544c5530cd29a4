// What the gateway's read API answers, as types only: the server builds these (client/list.ts,
// client/release-view.ts) and the dashboard (ui/) reads them. No runtime imports, nothing that needs
// Node: the browser code type-checks against this file.
import type { ReleaseStatus } from '../workflows/types.js';

export interface ReleaseSummary {
  releaseId: string;
  runId: string;
  status: string;
  service?: string;
  environment?: string;
  version?: string;
  commit?: string;
  /** ShipyardStage; `queued` for a running release no stage was recorded for yet. */
  stage?: string;
  canaryWeight?: number;
  /** How it ended (or running). Ended outside Shipyard (terminated, canceled, timed out) is said so. */
  outcome?: string;
  /** For a release that did not succeed: the type of the error that stopped it (status.error.type). */
  failureType?: string;
  trigger?: string;
  /** The release train it belongs to, if any. */
  train?: string;
  /** Started by code that subscribes to the freeze workflow (memo). */
  subscribed?: boolean;
  startTime: string;
  closeTime?: string;
  url: string;
}

/** What the page needs of an environment's spec: enough to draw thresholds, not the whole spec. */
export interface EnvironmentPlan {
  name: string;
  clusters?: string[];
  approval?: { approvers: string[]; required: number };
  canary?: {
    steps: string[];
    metrics: { name: string; min?: number; max?: number; interval: string; dryRun: boolean }[];
    judge?: { pass: number; marginal: number; metrics: string[] };
  };
}

export interface ReleaseView {
  releaseId: string;
  runId: string;
  /** The workflow's execution status (RUNNING, COMPLETED, FAILED, ...). */
  execution: string;
  outcome: string;
  /** Why it ended the way it did (the failure's message), for releases that did not succeed. */
  message?: string;
  startTime: string;
  closeTime?: string;
  historyLength: number;
  train?: string;
  /** The workflow in the Temporal UI. */
  url: string;
  status: ReleaseStatus | null;
  plan: EnvironmentPlan[];
}

