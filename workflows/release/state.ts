// The release's one explicit state: what `status` returns, the compensation stack (as data), the
// leases and what the message handlers set. Every stage module reads and writes this object and
// nothing else; the bookkeeping that keeps status, search attributes and metrics in step lives here.
import { CancellationScope, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { EnvironmentSpec, ReleaseSpec } from '../../spec/schema.js';
import { routerNamespaceOf } from '../../spec/router.js';
import type { ReleaseRef } from '../../activities/types.js';
import { createActivityProxies, type ActivityProxies } from '../activity-options.js';
import { releaseMetrics } from '../metrics.js';
import { Saga } from '../saga.js';
import { SA } from '../search-attributes.js';
import type { AbortRequest, FreezeState, ReleaseInput, ReleaseStatus, Stage, StageRecord, Trigger, TriggerRecord } from '../types.js';
import type { DecisionTrust } from '../decision-statement.js';
import type { TrainVerdict } from '../train-types.js';

/** The trigger as status shows it: the statement is evidence, not something to display. */
function triggerRecord(trigger: Trigger): TriggerRecord {
  const { statement: _statement, ...rest } = trigger;
  return rest;
}

const MAX_RECORDS = 200;

/** What the lease signals told this release, per environment. */
export interface LeaseTicket {
  key: string;
  leaseId: string;
  state: 'waiting' | 'held' | 'released';
  denied?: string;
  supersededBy?: string;
}

export class ReleaseState {
  readonly spec: ReleaseSpec;
  readonly status: ReleaseStatus;
  readonly saga: Saga;
  readonly acts: ActivityProxies;
  readonly environments: EnvironmentSpec[];
  /** This attempt: the run that began it (a retry with the same release ID is a new attempt). */
  readonly attempt: string;
  readonly runId: string;
  readonly mainScope = new CancellationScope();
  // Set by the message handlers:
  gateResult: 'approved' | 'rejected' | undefined;
  abortRequest: AbortRequest | null = null;
  resumes = 0;
  frozen: FreezeState | null;
  /** The freeze workflow has answered this release's subscription (or no subscription is needed). */
  freezeKnown = false;
  freezeSeq = 0;
  readonly leases = new Map<string, LeaseTicket>();
  /** The canary Deployment's replicas before this release scaled it, per environment. */
  readonly canaryReplicasBefore = new Map<string, number>();
  /**
   * Generated canary plumbing (canary.generate), per environment: `canary` when the canary Deployment
   * was generated, `first-install` when there was no stable yet (helm installed it; no canary).
   */
  readonly generated = new Map<string, 'canary' | 'first-install'>();
  /** The decision keys and mode of this release's orchestrator (unset on releases from before signed decisions). */
  trust: DecisionTrust | undefined;
  /** Statement ids this release accepted, with their expiry (s): each is accepted once. */
  readonly usedStatements = new Map<string, number>();
  /** A signed start statement vouched for the trigger. */
  triggerVerified = false;

  /** A train's verdict on this release (input.train only): commit or roll back. */
  trainVerdict: TrainVerdict | undefined;

  constructor(readonly input: ReleaseInput) {
    // A train's release keeps every undo until the train decides: rollback scope `release`.
    this.spec = input.train ? { ...input.spec, rollback: { ...input.spec.rollback, scope: 'release' } } : input.spec;
    this.frozen = input.frozen ?? null;
    const info = workflowInfo();
    this.attempt = info.firstExecutionRunId;
    this.runId = info.runId;
    const wanted = input.buildOnly ? [] : input.environments?.length ? input.environments : this.spec.environments.map((e) => e.name);
    this.environments = this.spec.environments.filter((e) => wanted.includes(e.name));
    this.status = {
      releaseId: info.workflowId,
      service: this.spec.service,
      version: input.version,
      commit: input.commit,
      trigger: triggerRecord(input.trigger),
      environments: this.environments.map((e) => e.name),
      attempt: this.attempt,
      stage: 'queued',
      outcome: 'running',
      paused: null,
      policy: null,
      canary: null,
      canaryHistory: [],
      leases: {},
      stages: [],
      approvals: { pending: null, decisions: [] },
      metrics: [],
      analyses: [],
      compensation: [],
      build: null,
      image: null,
      deployments: [],
      notifications: [],
      error: null,
      abort: null,
      startedAt: new Date().toISOString(),
    };
    this.acts = createActivityProxies(input.taskQueues);
    this.saga = new Saga((records) => (this.status.compensation = records));
  }

  /** Identifies this release (and attempt) to an activity: the base of every idempotency key. */
  ref(environment?: string): ReleaseRef {
    return {
      releaseId: this.status.releaseId,
      attempt: this.attempt,
      service: this.spec.service,
      version: this.input.version,
      commit: this.input.commit,
      environment,
    };
  }

  get aborted(): boolean {
    return this.abortRequest !== null;
  }

  /** Where an environment's workloads live. */
  namespaceOf(env: EnvironmentSpec): string {
    // An HTTPRoute often lives in a gateway's namespace, apart from the workloads: its namespace is
    // only the last resort (the Istio router's namespace has always been the workloads' too).
    const gatewayApi = env.canary?.router.gatewayApi;
    if (gatewayApi) return env.health.namespace ?? env.deploy.helm?.namespace ?? gatewayApi.namespace ?? 'default';
    return (env.canary && routerNamespaceOf(env.canary.router)) ?? env.health.namespace ?? env.deploy.helm?.namespace ?? 'default';
  }

  // ---- stages ----

  setStage(stage: Stage, environment?: string, detail?: string): void {
    const last = this.status.stages[this.status.stages.length - 1];
    if (last && !last.endedAt) {
      if (last.stage === stage && last.environment === environment) {
        if (detail) last.detail = detail;
        return;
      }
      this.endStage(last, last.result ?? 'ok');
    }
    this.status.stage = stage;
    if (environment) this.status.environment = environment;
    this.status.stages.push({ stage, environment, startedAt: new Date().toISOString(), detail });
    this.upsert([{ key: SA.stage, value: stage }]);
    if (stage !== 'done') releaseMetrics.stageEntered(this.spec.service, this.status.releaseId, stage, Date.now() / 1000);
  }

  closeStage(result: 'ok' | 'failed', detail?: string): void {
    const last = this.status.stages[this.status.stages.length - 1];
    if (last && !last.endedAt) {
      if (detail) last.detail = detail;
      this.endStage(last, result);
    }
  }

  /** Ends a stage record: its end time, result, duration metric, and the stuck-stage gauge back to 0. */
  endStage(record: StageRecord, result: NonNullable<StageRecord['result']>): void {
    record.endedAt = new Date().toISOString();
    record.result = result;
    if (record.stage === 'done') return;
    releaseMetrics.stage(this.spec.service, record.stage, Date.parse(record.endedAt) - Date.parse(record.startedAt));
    releaseMetrics.stageEntered(this.spec.service, this.status.releaseId, record.stage, 0);
  }

  /**
   * The canary's weight as read back from the router (never the intended one): status, the
   * ShipyardCanaryWeight search attribute and the canary history all follow it.
   */
  setCanaryWeight(environment: string, weight: number, description: string, step?: number, steps?: number): void {
    const previous = this.status.canary;
    this.status.canary = { environment, step: step ?? previous?.step ?? 0, steps: steps ?? previous?.steps ?? 0, weight, description };
    if (previous?.weight !== weight || previous?.environment !== environment) {
      this.record((this.status.canaryHistory ??= []), { at: new Date().toISOString(), environment, step: this.status.canary.step, weight, description });
      this.upsert([{ key: SA.canaryWeight, value: weight }]);
    }
  }

  /** Appends to a bounded list: status stays small however long a release runs. */
  record<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
  }

  upsert(pairs: SearchAttributeUpdatePair[]): void {
    upsertSearchAttributes(pairs);
  }

  /** Whether the environment has seen a deploy of this release (deploy stage started). */
  deployedIn(environment: string): boolean {
    return this.status.stages.some((s) => s.environment === environment && (s.stage === 'deploy' || s.stage === 'health' || s.stage === 'canary' || s.stage === 'promote'));
  }
}
