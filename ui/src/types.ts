// The shapes the gateway's read API returns (client/list.ts, client/release-view.ts,
// workflows/types.ts), as far as the page reads them.
export interface ReleaseRow {
  releaseId: string;
  status: string;
  service?: string;
  environment?: string;
  version?: string;
  commit?: string;
  stage?: string;
  canaryWeight?: number;
  outcome?: string;
  failureType?: string;
  trigger?: string;
  train?: string;
  startTime: string;
  closeTime?: string;
  url: string;
}

export interface StageRecord {
  stage: string;
  environment?: string;
  startedAt: string;
  endedAt?: string;
  result?: string;
  detail?: string;
}

export interface Measurement {
  environment: string;
  metric: string;
  analysis: string;
  at: string;
  value: number | null;
  phase: string;
  message?: string;
  dryRun: boolean;
}

export interface MetricJudgement {
  metric: string;
  verdict: string;
  reason: string;
  p: number | null;
  effect: number | null;
  critical: boolean;
  weight: number;
  canary: { n: number; center: number | null };
  baseline: { n: number; center: number | null };
}

export interface Judgement {
  environment: string;
  step: string;
  at: string;
  window: string;
  score: number;
  verdict: string;
  reason: string;
  action?: string;
  metrics: MetricJudgement[];
}

export interface PendingApproval {
  gate: string;
  environment: string;
  approvers: string[];
  required: number;
  fourEyes: boolean;
  openedAt: string;
  timeoutAt: string;
  approvedBy: string[];
}

export interface Decision {
  gate: string;
  decision: string;
  approver: string;
  comment?: string;
  via?: string;
  at: string;
  authenticated?: boolean;
}

export interface ReleaseStatus {
  releaseId: string;
  service: string;
  version: string;
  commit: string;
  trigger: { kind: string; by: string; ref?: string; authenticated?: boolean; commitTime?: string };
  environments: string[];
  stage: string;
  environment?: string;
  outcome: string;
  paused: { by: string; reason?: string; at: string } | null;
  canary: { environment: string; step: number; steps: number; weight: number; description: string } | null;
  canaryHistory?: { at: string; environment: string; step: number; weight: number; description: string }[];
  stages: StageRecord[];
  approvals: { pending: PendingApproval | null; decisions: Decision[] };
  metrics: Measurement[];
  analyses: { environment: string; analysis: string; metrics: string[]; phase: string; message?: string }[];
  judgements?: Judgement[];
  compensation: { id: number; description: string; environment?: string; status: string; detail?: string; error?: string }[];
  clusters?: { environment: string; cluster: string; wave: number; stage: string; outcome: string; canaryWeight?: number; detail?: string }[];
  error: { stage: string; environment?: string; type: string; message: string } | null;
  abort: { by: string; reason?: string; authenticated?: boolean } | null;
  refusals?: { action: string; by: string; reason: string; at: string }[];
  startedAt: string;
  endedAt?: string;
}

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
  execution: string;
  outcome: string;
  message?: string;
  startTime: string;
  closeTime?: string;
  historyLength: number;
  train?: string;
  url: string;
  status: ReleaseStatus | null;
  plan: EnvironmentPlan[];
}

export interface DoraRow {
  service: string;
  environment: string;
  window: { from: string; to: string; days: number };
  deployments: number;
  deploymentsPerDay: number;
  leadTime: { medianSeconds: number | null; p90Seconds: number | null; measured: number; missingCommitTime: number };
  changeFailureRate: number | null;
  failedChanges: number;
  changes: number;
  timeToRestore: { medianSeconds: number | null; restored: number; openSince?: string };
}

export interface DoraResult {
  rows: DoraRow[];
  releasesRead: number;
  truncated: boolean;
  skipped: number;
}
