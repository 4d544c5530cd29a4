// Shapes that cross the workflow boundary: the release input, the status query, the result.
// Plain JSON only; they are stored in history.
import type { ReleaseSpec, MetricSpec } from '../spec/schema.js';
import type { BuildManifest, CanaryJudgement, ChartArchive, ImageRef, PlumbingObject, RouteWeights } from '../activities/types.js';

export type Stage =
  | 'queued'
  | 'policy'
  | 'build'
  | 'images'
  | 'approval'
  | 'deploy'
  | 'health'
  | 'canary'
  | 'promote'
  /** A release of a train: released, holding its compensation and leases until the train's verdict. */
  | 'train'
  | 'compensating'
  | 'done';

/** How a release ended. `running` until then. */
export type Outcome = 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'rejected' | 'aborted';

export type TriggerKind = 'cli' | 'jenkins' | 'webhook' | 'chat' | 'demo' | 'api';

export interface Trigger {
  kind: TriggerKind;
  /** Who or what started the release (a Shipyard identity; four-eyes compares approvers with it). */
  by: string;
  /** Git ref that triggered it (refs/tags/v1.2.3, refs/heads/main), when known. */
  ref?: string;
  /** Webhook delivery ID or CI build URL, for tracing. */
  deliveryId?: string;
  /**
   * When the released commit was made (ISO 8601), for the lead time of DORA metrics (client/dora.ts);
   * set by the starter (the gateway from the webhook payload, the CLI from its git checkout or
   * --commit-time), absent when unknown.
   */
  commitTime?: string;
  /**
   * A start statement signed by the gateway (decision-statement.ts) vouching for `by`; without a valid
   * one the trigger is recorded as unauthenticated. Never shown in status.
   */
  statement?: string;
}

/** The trigger as status shows it: whether a signed statement vouched for `by`, never the statement. */
export interface TriggerRecord extends Omit<Trigger, 'statement'> {
  /** Set on releases whose orchestrator checks identities: true when a trusted statement vouched for `by`. */
  authenticated?: boolean;
  /** Who vouched (the ID token's issuer, or the git host) when authenticated; why not otherwise. */
  verification?: string;
}

export interface ReleaseInput {
  /** The validated spec, defaults applied (spec/ parses it before the start). */
  spec: ReleaseSpec;
  commit: string;
  version: string;
  /** Environments to release to, a subset of spec.environments in spec order; all when empty. */
  environments?: string[];
  trigger: Trigger;
  /** The line was frozen when this release started: it holds before its first deploy until unfrozen. */
  frozen?: FreezeState;
  /** Only the test gate and build matrix (e.g. for a pull request): no images, no environments. */
  buildOnly?: boolean;
  /** The source is untrusted (a pull request): the test gate and compiler run sandboxed (bubblewrap). */
  untrusted?: boolean;
  /** Activity task queues, when this release's work goes to other worker pools than the defaults. */
  taskQueues?: { build?: string; deploy?: string };
  /** How often a lease pings its holder (a terminated holder is noticed within this); default 30s. */
  leaseCheckInterval?: string;
  /** Background analyses report to the release after this many measurements (default 50). */
  analysisReportEvery?: number;
  /** Background analyses continue as new at this many events per run (default 4,000). */
  analysisHistoryBudget?: number;
  /**
   * Charts by content, keyed by the spec's `chart` string (deploy.helm.chart, canary.promote.helm.chart):
   * helmDeploy/helmPromote deploy these instead of reading the chart from the deploy worker's disk.
   */
  charts?: Record<string, ChartArchive>;
  /** Where the spec was read from, when it came from the app repository. */
  specSource?: { repo: string; path: string; sha256: string; pipelineId?: string };
  /**
   * Released as part of a train (workflows/train.ts): at the end the release keeps its compensation
   * and leases (rollback scope `release`), signals the train and waits for its verdict (commit or rollback).
   */
  train?: TrainMembership;
}

export interface TrainMembership {
  workflowId: string;
  runId: string;
  service: string;
}

export interface StageRecord {
  stage: Stage;
  environment?: string;
  startedAt: string;
  endedAt?: string;
  result?: 'ok' | 'failed' | 'skipped' | 'cancelled';
  detail?: string;
}

export interface ApprovalRequest {
  /** Shipyard identity of the person deciding (chat users are mapped to one by the gateway). */
  approver: string;
  comment?: string;
  /** The gate the decision is for; when set it must be the pending one (guards stale chat buttons). */
  gate?: string;
  /** Where the decision came from: cli, slack, feishu, dingtalk, ui... */
  via?: string;
  /** A decision statement signed by the gateway: approver, gate and comment are taken from it. */
  statement?: string;
}

export interface ApprovalDecision {
  gate: string;
  decision: 'approved' | 'rejected' | 'timed-out';
  approver: string;
  comment?: string;
  via?: string;
  at: string;
  /** False when no signed statement vouched for the approver (development mode). */
  authenticated?: boolean;
  /** The approver's groups, from the statement. */
  groups?: string[];
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
  /** Four-eyes with a trigger no statement vouched for: two different approvers are needed. */
  fourEyesUnverifiedTrigger?: boolean;
}

export interface ApprovalReply {
  gate: string;
  decision: 'approved' | 'rejected';
  approvals: number;
  required: number;
  /** True when this decision closed the gate. */
  closed: boolean;
}

export interface AbortRequest {
  by: string;
  reason?: string;
  /** A statement signed by the gateway; required in production mode. */
  statement?: string;
  /** Recorded by the release: whether a statement vouched for `by`. */
  authenticated?: boolean;
}

export interface PauseRequest {
  by: string;
  reason?: string;
  statement?: string;
  authenticated?: boolean;
}

/** abort, pause or resume as an update: the validator's refusal reaches the caller. */
export interface ControlRequest {
  action: 'abort' | 'pause' | 'resume';
  /** Development mode: who (unauthenticated). With a statement: taken from it. */
  by?: string;
  reason?: string;
  statement?: string;
}

export interface ControlReply {
  action: 'abort' | 'pause' | 'resume';
  by: string;
  authenticated: boolean;
  /** False when it changed nothing (already paused, not paused, already aborting or finished). */
  changed: boolean;
}

/** A decision the release refused after the fact (a signal cannot be refused to its sender). */
export interface RefusedDecision {
  action: string;
  by: string;
  reason: string;
  at: string;
}

export interface FreezeRequest {
  by: string;
  reason?: string;
  /** Only this service (freeze workflow); the whole line when unset. */
  service?: string;
  /** Set by the freeze workflow on what it pushes to releases: a release ignores an older push. */
  seq?: number;
}

export interface FreezeState extends FreezeRequest {
  at: string;
}

export interface MetricMeasurement {
  environment: string;
  metric: string;
  /** Which analysis: steps[i] or background-from-step-i. */
  analysis: string;
  at: string;
  value: number | null;
  phase: 'successful' | 'failed' | 'inconclusive' | 'error';
  /** Why there is no value (an error, or a web metric's timeout / non-2xx answer). */
  message?: string;
  /** A web metric's HTTP status. */
  status?: number;
  dryRun: boolean;
}

export interface AnalysisRecord {
  environment: string;
  analysis: string;
  metrics: string[];
  phase: 'running' | 'successful' | 'failed' | 'cancelled';
  message?: string;
  /** Background analyses run as a child workflow (continuing as new); its ID, rounds and runs. */
  workflowId?: string;
  rounds?: number;
  runs?: number;
}

/** One judge step's judgement (canary.judge): the score, the verdict and each metric's test. */
export interface JudgementRecord extends CanaryJudgement {
  environment: string;
  step: string;
  /** The end of the judged window. */
  at: string;
  window: string;
  /** What a marginal verdict led to (canary.judge.marginal); a failed or marginal-failed one rolled back. */
  action?: 'continued' | 'approval';
}

export interface CompensationRecord {
  id: number;
  description: string;
  environment?: string;
  /**
   * done: the undo changed the world back; unchanged: it was already so; skipped: the target no
   * longer exists (nothing was undone; `detail` names it); committed: not needed (promoted);
   * resolved: the step undid itself (a fault removed on schedule).
   */
  status: 'pending' | 'running' | 'done' | 'unchanged' | 'skipped' | 'failed' | 'committed' | 'resolved';
  /** What the undo read back (UndoResult.detail). */
  detail?: string;
  error?: string;
}

/** Background analysis child -> release: the measurements since its last report. */
export interface AnalysisReport {
  environment: string;
  analysis: string;
  measurements: MetricMeasurement[];
  /** Rounds measured so far (all metrics), across continue-as-new. */
  rounds: number;
  /** Runs of the analysis workflow so far (1 + continue-as-new count). */
  runs: number;
}

/** A release holding or waiting for an environment's lease. */
export interface LeaseEntry {
  releaseId: string;
  runId: string;
  /** When it asked (waiting) or was granted (holder). */
  since: string;
  concurrency: 'queue' | 'supersede' | 'reject';
  /** When the release started: supersede replaces only releases that started before it. */
  releaseStartedAt?: string;
}

/** The lease of one (service, environment): the holder and the queue in grant order. */
export interface LeaseState {
  key: string;
  holder: LeaseEntry | null;
  queue: LeaseEntry[];
}

/** One change of the canary's traffic, as read back from the router. */
export interface CanaryChange {
  at: string;
  environment: string;
  step: number;
  weight: number;
  description: string;
}

export interface CanaryState {
  environment: string;
  /** Index of the current step (0-based) and how many there are. */
  step: number;
  steps: number;
  weight: number;
  description: string;
}

/** One cluster of a multi-cluster environment (environments[].clusters), as this release left it. */
export interface ClusterState {
  environment: string;
  cluster: string;
  /** 1-based: the wave the cluster goes in. */
  wave: number;
  /** The stage the cluster is in or stopped in (`waiting`: its wave has not started). */
  stage: Stage | 'waiting';
  /**
   * waiting (its wave has not started), running, promoted; failed or cancelled (a sibling failed);
   * after compensation: rolled-back (its undos changed the world back or found it so), undo-failed,
   * or not-started (nothing there to undo).
   */
  outcome: 'waiting' | 'running' | 'promoted' | 'failed' | 'cancelled' | 'rolled-back' | 'undo-failed' | 'not-started';
  /** The cluster's canary weight as last read back from its router. */
  canaryWeight?: number;
  /** Why it stopped (its error), when it did. */
  detail?: string;
}

export interface DeploymentRecord {
  environment: string;
  /** generated-canary: the canary Deployment generated from the stable one (canary.generate). */
  kind: 'helm' | 'gitops' | 'generated-canary';
  detail: Record<string, unknown>;
  promoted: boolean;
}

/** One object of a generated canary; `removed` once this release deleted it (promotion). */
export interface PlumbingRecord extends PlumbingObject {
  environment: string;
  removed?: boolean;
}

export interface NotificationRecord {
  event: string;
  environment?: string;
  channel: string;
  status: 'sent' | 'failed';
  error?: string;
}

export interface ReleaseError {
  stage: Stage;
  environment?: string;
  type: string;
  message: string;
}

export interface ReleaseStatus {
  releaseId: string;
  service: string;
  version: string;
  commit: string;
  trigger: TriggerRecord;
  environments: string[];
  stage: Stage;
  environment?: string;
  outcome: Outcome;
  paused: (PauseRequest & { at: string }) | null;
  policy: { waitingUntil?: string; reason?: string; frozen?: FreezeState } | null;
  canary: CanaryState | null;
  /** Every traffic change read back from the router, oldest first (bounded). Absent in old histories. */
  canaryHistory?: CanaryChange[];
  /** This attempt (ReleaseRef.attempt). Absent in old histories. */
  attempt?: string;
  /** Leases this release holds or waits for, by environment (queued: waiting its turn). Absent in old histories. */
  leases?: Record<string, { key: string; state: 'waiting' | 'held' | 'released'; since: string; workflowId?: string }>;
  stages: StageRecord[];
  approvals: { pending: PendingApproval | null; decisions: ApprovalDecision[] };
  metrics: MetricMeasurement[];
  analyses: AnalysisRecord[];
  /** Judge steps' judgements, oldest first (bounded). Absent when no judge step ran. */
  judgements?: JudgementRecord[];
  compensation: CompensationRecord[];
  build: BuildManifest | null;
  image: ImageRef | null;
  deployments: DeploymentRecord[];
  /** Multi-cluster environments: every cluster, its wave, stage and outcome. Absent without environments[].clusters. */
  clusters?: ClusterState[];
  /** Objects of generated canary plumbing (canary.generate) as the API server returned them. Absent otherwise. */
  plumbing?: PlumbingRecord[];
  notifications: NotificationRecord[];
  error: ReleaseError | null;
  abort: AbortRequest | null;
  /** Decisions refused after the fact (unsigned or invalid abort/pause/resume signals), newest last (bounded). */
  refusals?: RefusedDecision[];
  startedAt: string;
  endedAt?: string;
}

/** The workflow's result (and, for unsuccessful releases, the details of its failure). */
export type ReleaseResult = ReleaseStatus;

export type { MetricSpec, RouteWeights };
