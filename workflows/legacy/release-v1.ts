// FROZEN: the release workflow as it ran before release-v2 (see ../release/index.ts). Releases whose
// history has no `release-v2` marker (started by older workers, and the committed replay histories)
// run and replay on this code. Do not change it; delete it once no such release is open.
// releaseWorkflow: one release, start to finish.
//   policy gate -> build matrix -> images -> per environment:
//     approval -> policy gate -> deploy -> health -> canary steps -> promote
//   on failure, abort or rejection: the compensation stack in reverse, non-cancellable.
// Deterministic: every side effect is an activity; time is workflow time.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { EnvironmentSpec, ReleaseSpec } from '../../spec/schema.js';
import { formatDuration, parseDuration } from '../../spec/duration.js';
import { routerNamespaceOf } from '../../spec/router.js';
import type { ImageRef, ReleaseRef } from '../../activities/types.js';
import { createActivityProxies, NOTIFICATION_DRAIN_BUDGET, NOTIFICATION_GRACE, type ActivityProxies } from '../activity-options.js';
import { validateDecision } from '../approval.js';
import { runAnalysis, runCanary } from './canary-v1.js';
import {
  abortSignal,
  approveUpdate,
  freezeSignal,
  unfreezeSignal,
  pauseSignal,
  rejectUpdate,
  RELEASE_FAILURE_TYPES,
  resumeSignal,
  statusQuery,
} from '../messages.js';
import { activeDenyWindow, environmentPolicyViolation } from '../policy.js';
import { releaseMetrics } from '../metrics.js';
import { errorMessage, Saga } from './saga-v1.js';
import { SA } from '../search-attributes.js';
import type {
  AbortRequest,
  ApprovalReply,
  ApprovalRequest,
  Outcome,
  PendingApproval,
  ReleaseInput,
  ReleaseResult,
  ReleaseStatus,
  FreezeState,
  Stage,
  StageRecord,
} from '../types.js';

/** patched() IDs: each guards a change that older histories must replay without. */
const PATCH_NOTIFICATION_GRACE = 'notification-grace-v1';
const LEGACY_DRAIN_BUDGET = '2m';

/** Thrown inside the release when a gate is rejected or times out. */
const REJECTED = 'ApprovalRejected';
const MAX_RECORDS = 200;

export async function releaseWorkflowV1(input: ReleaseInput): Promise<ReleaseResult> {
  return new Release(input).run();
}

export interface GateOptions {
  approvers: string[];
  required: number;
  timeout: string;
  fourEyes: boolean;
}

/** The running release: its state (what `status` returns) and its stages. */
export class Release {
  readonly spec: ReleaseSpec;
  readonly status: ReleaseStatus;
  readonly saga: Saga;
  readonly acts: ActivityProxies;
  private readonly environments: EnvironmentSpec[];
  private gateResult: 'approved' | 'rejected' | undefined;
  private abortRequest: AbortRequest | null = null;
  private resumes = 0;
  private frozen: FreezeState | null;
  private notifySeq = 0;
  private readonly inflightNotifications: { done: Promise<void>; settled: boolean; event: string; channel: string; environment?: string }[] = [];
  private readonly mainScope = new CancellationScope();

  constructor(readonly input: ReleaseInput) {
    this.spec = input.spec;
    this.frozen = input.frozen ?? null;
    const wanted = input.buildOnly ? [] : input.environments?.length ? input.environments : this.spec.environments.map((e) => e.name);
    this.environments = this.spec.environments.filter((e) => wanted.includes(e.name));
    const now = new Date().toISOString();
    this.status = {
      releaseId: workflowInfo().workflowId,
      service: this.spec.service,
      version: input.version,
      commit: input.commit,
      trigger: input.trigger,
      environments: this.environments.map((e) => e.name),
      stage: 'queued',
      outcome: 'running',
      paused: null,
      policy: null,
      canary: null,
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
      startedAt: now,
    };
    this.acts = createActivityProxies(input.taskQueues);
    this.saga = new Saga(() => (this.status.compensation = this.saga.records));
    const unknown = (input.environments ?? []).filter((n) => !this.spec.environments.some((e) => e.name === n));
    if (unknown.length) {
      throw ApplicationFailure.nonRetryable(`unknown environment(s): ${unknown.join(', ')}`, 'InvalidReleaseInput');
    }
  }

  ref(environment?: string): ReleaseRef {
    return {
      releaseId: this.status.releaseId,
      service: this.spec.service,
      version: this.input.version,
      commit: this.input.commit,
      environment,
    };
  }

  // ---- messages ----

  private installHandlers(): void {
    setHandler(statusQuery, () => this.status);
    setHandler(approveUpdate, (req) => this.decide(req, 'approve'), {
      validator: (req) => validateDecision(this.status.approvals.pending, req, this.input.trigger.by, 'approve'),
      description: 'Approve the pending gate: { approver, comment?, gate? }',
    });
    setHandler(rejectUpdate, (req) => this.decide(req, 'reject'), {
      validator: (req) => validateDecision(this.status.approvals.pending, req, this.input.trigger.by, 'reject'),
      description: 'Reject the pending gate; the release rolls back: { approver, comment?, gate? }',
    });
    setHandler(abortSignal, (req) => {
      if (this.abortRequest || this.status.outcome !== 'running') return;
      this.abortRequest = { by: req?.by || 'unknown', reason: req?.reason };
      this.status.abort = this.abortRequest;
      log.info('abort requested', { by: this.abortRequest.by, reason: this.abortRequest.reason });
      this.mainScope.cancel();
    });
    setHandler(pauseSignal, (req) => {
      if (this.status.paused) return;
      this.status.paused = { by: req?.by || 'unknown', reason: req?.reason, at: new Date().toISOString() };
    });
    setHandler(resumeSignal, () => {
      this.status.paused = null;
      this.resumes++;
    });
    setHandler(freezeSignal, (req) => {
      this.frozen = { by: req?.by || 'unknown', reason: req?.reason, at: new Date().toISOString() };
    });
    setHandler(unfreezeSignal, () => {
      this.frozen = null;
    });
  }

  private decide(req: ApprovalRequest, kind: 'approve' | 'reject'): ApprovalReply {
    const pending = this.status.approvals.pending!;
    this.status.approvals.decisions.push({
      gate: pending.gate,
      decision: kind === 'approve' ? 'approved' : 'rejected',
      approver: req.approver,
      comment: req.comment,
      via: req.via,
      at: new Date().toISOString(),
    });
    if (kind === 'reject') {
      this.gateResult = 'rejected';
    } else {
      pending.approvedBy.push(req.approver);
      if (pending.approvedBy.length >= pending.required) this.gateResult = 'approved';
    }
    const closed = this.gateResult !== undefined;
    if (closed) {
      this.status.approvals.pending = null;
      releaseMetrics.approval(this.spec.service, this.gateResult!, Date.now() - Date.parse(pending.openedAt));
    }
    return {
      gate: pending.gate,
      decision: kind === 'approve' ? 'approved' : 'rejected',
      approvals: pending.approvedBy.length,
      required: pending.required,
      closed,
    };
  }

  // ---- the release ----

  async run(): Promise<ReleaseResult> {
    this.installHandlers();
    this.upsert([
      { key: SA.service, value: this.spec.service },
      { key: SA.version, value: this.input.version },
      { key: SA.commit, value: this.input.commit },
      { key: SA.trigger, value: this.input.trigger.kind },
      { key: SA.outcome, value: 'running' },
      { key: SA.environment, value: this.status.environments[0] ?? 'none' },
    ]);
    this.notify('started');

    let failure: unknown;
    try {
      await this.mainScope.run(() => this.stages());
    } catch (err) {
      failure = err;
    }

    let outcome: Outcome = 'succeeded';
    if (failure !== undefined) outcome = await this.unwind(failure);
    await this.finish(outcome);

    if (outcome === 'succeeded') return this.status;
    if (isCancellation(failure) && !this.abortRequest) throw failure; // cancelled from Temporal: end as Canceled
    const type = RELEASE_FAILURE_TYPES[outcome as keyof typeof RELEASE_FAILURE_TYPES];
    throw ApplicationFailure.create({
      type,
      message: this.summary(outcome),
      nonRetryable: true,
      details: [this.status],
    });
  }

  private async stages(): Promise<void> {
    await this.policyGate();
    if (this.spec.build) await this.buildStage();
    if (this.input.buildOnly) return;
    if (this.spec.image) await this.imageStage();
    for (const env of this.environments) await this.environmentStage(env);
  }

  /** Records why the release stopped, runs the compensations, and returns the outcome. */
  private async unwind(failure: unknown): Promise<Outcome> {
    const current = this.status.stages[this.status.stages.length - 1];
    const aborted = this.abortRequest !== null || isCancellation(failure);
    const rejected = failure instanceof ApplicationFailure && failure.type === REJECTED;
    if (aborted && !this.abortRequest) this.status.abort = { by: 'temporal', reason: 'workflow cancellation requested' };
    this.status.error = {
      stage: this.status.stage,
      environment: this.status.environment,
      type: aborted ? 'Aborted' : failureType(failure),
      message: aborted
        ? `aborted by ${this.status.abort!.by}${this.status.abort!.reason ? `: ${this.status.abort!.reason}` : ''}`
        : errorMessage(failure),
    };
    if (current && !current.endedAt) {
      current.detail = this.status.error.message;
      this.endStage(current, aborted ? 'cancelled' : 'failed');
    }
    this.status.approvals.pending = null;
    log.warn('release stopping', { ...this.status.error });
    if (!aborted && !rejected && this.status.stage === 'health') this.notify('health-degraded', this.status.environment);

    const hadWork = this.saga.pendingCount > 0;
    if (hadWork) {
      releaseMetrics.rolledBack(this.spec.service);
      this.setStage('compensating', this.status.environment);
      const ok = await this.saga.compensate();
      this.closeStage(ok ? 'ok' : 'failed', ok ? undefined : 'some compensations failed; see compensation');
    }
    if (aborted) return 'aborted';
    if (rejected) return 'rejected';
    const allUndone = this.saga.records.every((r) => r.status !== 'failed');
    return hadWork && allUndone ? 'rolled-back' : 'failed';
  }

  private async finish(outcome: Outcome): Promise<void> {
    this.status.outcome = outcome;
    this.status.endedAt = new Date().toISOString();
    this.setStage('done');
    this.closeStage(outcome === 'succeeded' ? 'ok' : 'failed');
    this.upsert([{ key: SA.outcome, value: outcome }]);
    releaseMetrics.finished(this.spec.service, outcome);
    await CancellationScope.nonCancellable(async () => {
      // Releases recorded before the grace period waited for every notification; they replay that way.
      const grace = patched(PATCH_NOTIFICATION_GRACE);
      if (grace) await this.abandonStaleNotifications();
      const finalFrom = grace ? this.inflightNotifications.length : 0;
      if (outcome === 'succeeded') this.notify('succeeded');
      else this.notify(outcome === 'rolled-back' ? 'rolled-back' : 'failed');
      if (this.spec.jira) {
        const jira = this.acts.integration.updateJira({ ...this.ref(), jira: this.spec.jira, outcome, repo: this.spec.source.repo });
        this.track('jira', undefined, jira.then(() => undefined));
      }
      // The final notifications get a bounded wait; they never hold the release for long.
      const last = this.inflightNotifications.slice(finalFrom).map((n) => n.done);
      if (last.length || !grace) await Promise.race([Promise.all(last), sleep(grace ? NOTIFICATION_DRAIN_BUDGET : LEGACY_DRAIN_BUDGET)]);
    });
  }

  /**
   * Earlier notifications get a short grace; those still retrying after it are abandoned (the
   * release's end is the news now). No timer when nothing is pending.
   */
  private async abandonStaleNotifications(): Promise<void> {
    const pending = this.inflightNotifications.filter((x) => !x.settled);
    if (pending.length) await Promise.race([Promise.all(pending.map((n) => n.done)), sleep(NOTIFICATION_GRACE)]);
    for (const n of this.inflightNotifications.filter((x) => !x.settled)) {
      n.settled = true;
      this.record(this.status.notifications, { event: n.event, environment: n.environment, channel: n.channel, status: 'failed' as const, error: 'still retrying when the release ended; abandoned' });
    }
  }

  private summary(outcome: Outcome): string {
    const err = this.status.error;
    const where = err ? `${err.stage}${err.environment ? ` in ${err.environment}` : ''}` : '';
    const undone = this.saga.records.filter((r) => r.status === 'done').length;
    const failedUndos = this.saga.records.filter((r) => r.status === 'failed').length;
    const comp = failedUndos ? `; ${failedUndos} compensation(s) FAILED` : undone ? `; ${undone} step(s) rolled back` : '';
    return `release ${outcome} at ${where}: ${err?.message ?? 'unknown error'}${comp}`;
  }

  // ---- stages ----

  private async policyGate(environment?: string): Promise<void> {
    await this.checkpoint();
    for (;;) {
      const hit = activeDenyWindow(this.spec.policy, new Date());
      if (!hit) break;
      const until = hit.endsAt.toISOString();
      const reason = `${hit.window.reason} (${hit.window.cron} ${hit.window.timezone} for ${hit.window.duration}) until ${until}`;
      if (this.spec.policy.onDenyWindow === 'fail') {
        this.setStage('policy', environment);
        throw ApplicationFailure.nonRetryable(`deploy window closed: ${reason}`, 'PolicyDenied');
      }
      this.setStage('policy', environment, `waiting: ${reason}`);
      this.status.policy = { waitingUntil: until, reason: hit.window.reason };
      log.info('waiting for deploy window', { until, reason: hit.window.reason });
      await sleep(Math.max(1000, hit.endsAt.getTime() - Date.now()));
    }
    // Frozen line: hold here (before the next deploy) until unfrozen.
    if (this.frozen && environment) {
      const f = this.frozen;
      this.setStage('policy', environment, `frozen by ${f.by}${f.reason ? `: ${f.reason}` : ''}`);
      this.status.policy = { frozen: f, reason: f.reason ?? 'deploys frozen' };
      log.info('release held by a freeze', { by: f.by, reason: f.reason });
      await condition(() => this.frozen === null);
    }
    if (this.status.policy) {
      this.status.policy = null;
      this.closeStage('ok');
    }
  }

  private async buildStage(): Promise<void> {
    const build = this.spec.build!;
    const src = { ...this.ref(), repo: this.spec.source.repo, dir: this.spec.source.dir, goPackage: this.spec.source.goPackage };
    await this.checkpoint();
    this.setStage('build');
    if (build.test) await this.acts.build.runTestGate({ ...src, vet: build.vet });
    // One activity per target, in parallel; the build worker's concurrency bounds them.
    const artifacts = await Promise.all(
      build.targets.map((target) =>
        this.acts.build.buildTarget({ ...src, target, ldflags: build.ldflags, versionVariable: build.versionVariable }),
      ),
    );
    this.status.build = { commit: this.input.commit, version: this.input.version, goVersion: artifacts[0]?.goVersion, artifacts };
    this.closeStage('ok', `${artifacts.length} target(s)`);
  }

  private async imageStage(): Promise<void> {
    const image = this.spec.image!;
    await this.checkpoint();
    this.setStage('images');
    const artifacts = (this.status.build?.artifacts ?? []).filter((a) => image.platforms.includes(a.target));
    this.status.image = await this.acts.build.publishImage({
      ...this.ref(),
      repository: image.repository,
      platforms: image.platforms,
      base: image.base,
      source: this.spec.source.repo,
      artifacts,
    });
    this.closeStage('ok', `${this.status.image.repository}@${this.status.image.digest}`);
  }

  private async environmentStage(env: EnvironmentSpec): Promise<void> {
    this.status.environment = env.name;
    this.upsert([{ key: SA.environment, value: env.name }]);
    const violation = environmentPolicyViolation(this.spec.policy, env.name, this.input.trigger);
    if (violation) {
      this.setStage('policy', env.name);
      throw ApplicationFailure.nonRetryable(`policy: ${violation}`, 'PolicyDenied');
    }
    if (env.approval) {
      await this.checkpoint();
      this.setStage('approval', env.name);
      await this.approvalGate(`${env.name}/approval`, env.name, env.approval);
      this.closeStage('ok');
    }
    await this.policyGate(env.name);
    const image = await this.promoteImage(env);
    await this.deployStage(env, image);
    await this.healthStage(env);
    if (env.canary) {
      this.setStage('canary', env.name);
      await runCanary(this, env);
      this.closeStage('ok');
    }
    await this.promoteStage(env);
  }

  /** The image an environment deploys: the published one, or its copy in the environment's repository. */
  private async promoteImage(env: EnvironmentSpec): Promise<ImageRef | null> {
    if (!env.image || !this.status.image) return this.status.image;
    await this.checkpoint();
    this.setStage('images', env.name, `promote to ${env.image.repository}`);
    const promoted = await this.acts.build.promoteImage({ ...this.ref(env.name), image: this.status.image, repository: env.image.repository });
    this.closeStage('ok', `${promoted.repository}@${promoted.digest}`);
    return promoted;
  }

  private async deployStage(env: EnvironmentSpec, image: ImageRef | null): Promise<void> {
    await this.checkpoint();
    this.setStage('deploy', env.name);
    const ref = this.ref(env.name);
    if (env.deploy.helm) {
      const helm = env.deploy.helm;
      const input = { ...ref, helm, image };
      const before = await this.acts.read.helmCurrentRevision(input);
      const undo = before.revision === null ? `helm uninstall ${helm.release}` : `helm rollback ${helm.release} ${before.revision}`;
      // Pushed before the upgrade: a helm killed half-way is undone too. The rollback checks before acting.
      this.saga.push(`${undo} (namespace ${helm.namespace})`, env.name, () =>
        this.acts.compensate(helm.timeout).helmRollback({ ...ref, helm, toRevision: before.revision }).then(() => undefined),
      );
      const after = await this.acts.mutate(helm.timeout).helmDeploy(input);
      this.status.deployments.push({
        environment: env.name,
        kind: 'helm',
        detail: { release: helm.release, namespace: helm.namespace, revision: after.revision, previousRevision: before.revision },
        promoted: false,
      });
      this.closeStage('ok', `helm revision ${after.revision}`);
    } else {
      const gitops = env.deploy.gitops!;
      const input = { ...ref, gitops, image };
      this.saga.push(`git revert of this release's commit on ${gitops.repo} ${gitops.branch}`, env.name, () =>
        this.acts.compensate().gitopsRevert(input).then(() => undefined),
      );
      const result = await this.acts.mutate(gitops.timeout).gitopsUpdate(input);
      this.status.deployments.push({ environment: env.name, kind: 'gitops', detail: { ...result }, promoted: false });
      this.closeStage('ok', result.commit ? `config commit ${result.commit.slice(0, 12)}` : 'config already at this version');
    }
  }

  private async healthStage(env: EnvironmentSpec): Promise<void> {
    await this.checkpoint();
    this.setStage('health', env.name);
    const gitops = env.deploy.gitops;
    const configCommit = this.status.deployments.find((d) => d.environment === env.name && d.kind === 'gitops')?.detail.commit as string | null | undefined;
    const report = await this.acts.health(env.health.timeout).checkHealth({
      ...this.ref(env.name),
      namespace: this.namespaceOf(env),
      deployment: env.health.deployment ?? env.deploy.helm?.release ?? this.spec.service,
      timeout: env.health.timeout,
      kubeContext: env.kubeContext ?? env.deploy.helm?.kubeContext,
      argocd: gitops?.argocd && configCommit ? { application: gitops.argocd.application, namespace: gitops.argocd.namespace, revision: configCommit } : undefined,
    });
    if (env.checks) {
      // Post-deploy checks: HTTP probes, then Prometheus assertions judged like a canary analysis.
      for (const probe of env.checks.http) await this.acts.health(probe.timeout).httpProbe({ ...this.ref(env.name), ...probe });
      if (env.checks.metrics.length) await runAnalysis(this, env.name, 'post-deploy', env.checks.metrics, false);
    }
    this.closeStage('ok', `${report.readyReplicas}/${report.replicas} ready${env.checks ? ', checks passed' : ''}`);
    this.notify('deployed', env.name);
  }

  private async promoteStage(env: EnvironmentSpec): Promise<void> {
    await this.checkpoint();
    this.setStage('promote', env.name);
    if (env.canary) {
      const { router, workloads, scaling } = env.canary;
      const traffic = { ...this.ref(env.name), router, namespace: this.namespaceOf(env), kubeContext: env.kubeContext };
      if (workloads) {
        // The stable Deployment is about to take the canary's images: remember its own first.
        const images = await this.acts.read.readImages({ ...traffic, deployment: workloads.stable });
        this.saga.push(`restore ${workloads.stable} images`, env.name, () =>
          this.acts.compensate(env.health.timeout).restoreImages({ ...traffic, deployment: workloads.stable, images, timeout: env.health.timeout }).then(() => undefined),
        );
      }
      await this.acts.mutate(env.health.timeout).promoteCanary({ ...traffic, workloads, timeout: env.health.timeout });
      if (scaling && workloads) await this.acts.mutate().scaleCanary({ ...traffic, deployment: workloads.canary, replicas: 0 });
      this.setCanaryWeight(env.name, 0, 'promoted');
    }
    const deployment = this.status.deployments.find((d) => d.environment === env.name);
    if (deployment) deployment.promoted = true;
    if (this.spec.rollback.scope === 'environment') this.saga.commit(env.name);
    this.closeStage('ok');
  }

  namespaceOf(env: EnvironmentSpec): string {
    return (env.canary && routerNamespaceOf(env.canary.router)) ?? env.health.namespace ?? env.deploy.helm?.namespace ?? 'default';
  }

  // ---- approvals, pauses ----

  /** Waits for the gate's approvals; a rejection or the timeout rejects the release. */
  async approvalGate(gate: string, environment: string, options: GateOptions): Promise<void> {
    const timeoutMs = parseDuration(options.timeout);
    const now = Date.now();
    const pending: PendingApproval = {
      gate,
      environment,
      approvers: options.approvers,
      required: options.required,
      fourEyes: options.fourEyes,
      openedAt: new Date(now).toISOString(),
      timeoutAt: new Date(now + timeoutMs).toISOString(),
      approvedBy: [],
    };
    this.gateResult = undefined;
    this.status.approvals.pending = pending;
    this.notify('waiting-approval', environment, { gate, approvers: options.approvers.join(', ') });
    try {
      const decided = await condition(() => this.gateResult !== undefined, timeoutMs);
      if (!decided) {
        releaseMetrics.approval(this.spec.service, 'timed-out', timeoutMs);
        this.status.approvals.decisions.push({
          gate,
          decision: 'timed-out',
          approver: 'shipyard',
          comment: `no decision within ${options.timeout}`,
          at: new Date().toISOString(),
        });
        throw ApplicationFailure.nonRetryable(
          `approval ${gate} timed out after ${formatDuration(timeoutMs)} with ${pending.approvedBy.length}/${pending.required} approvals: a timeout rejects the release`,
          REJECTED,
        );
      }
      if (this.gateResult === 'rejected') {
        const d = this.status.approvals.decisions[this.status.approvals.decisions.length - 1];
        throw ApplicationFailure.nonRetryable(`rejected at ${gate} by ${d.approver}${d.comment ? `: ${d.comment}` : ''}`, REJECTED);
      }
    } finally {
      this.status.approvals.pending = null;
    }
  }

  /** Step boundary: holds here while the release is paused. */
  async checkpoint(): Promise<void> {
    if (this.status.paused) {
      log.info('release paused', { by: this.status.paused.by });
      await condition(() => this.status.paused === null);
    }
  }

  /** Waits for the next resume signal (a canary `pause: {}` step). */
  async waitForResume(): Promise<void> {
    const seen = this.resumes;
    await condition(() => this.resumes > seen);
  }

  // ---- state helpers ----

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
  private endStage(record: StageRecord, result: NonNullable<StageRecord['result']>): void {
    record.endedAt = new Date().toISOString();
    record.result = result;
    if (record.stage === 'done') return;
    releaseMetrics.stage(this.spec.service, record.stage, Date.parse(record.endedAt) - Date.parse(record.startedAt));
    releaseMetrics.stageEntered(this.spec.service, this.status.releaseId, record.stage, 0);
  }

  setCanaryWeight(environment: string, weight: number, description: string, step?: number, steps?: number): void {
    const previous = this.status.canary;
    this.status.canary = {
      environment,
      step: step ?? previous?.step ?? 0,
      steps: steps ?? previous?.steps ?? 0,
      weight,
      description,
    };
    this.upsert([{ key: SA.canaryWeight, value: weight }]);
  }

  /** Appends to a bounded list: status stays small however long a background analysis runs. */
  record<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
  }

  private upsert(pairs: SearchAttributeUpdatePair[]): void {
    upsertSearchAttributes(pairs);
  }

  // ---- notifications ----

  /** Sends `event` to every channel that wants it, in the background; failures are recorded, not thrown. */
  notify(event: string, environment?: string, extra: Record<string, string | number | null> = {}): void {
    const seq = ++this.notifySeq;
    this.spec.notify.forEach((channel, index) => {
      if (!(channel.on as string[]).includes(event)) return;
      const kind = Object.keys(channel).find((k) => k !== 'on') ?? 'unknown';
      const fields = {
        service: this.spec.service,
        version: this.input.version,
        commit: this.input.commit,
        environment: environment ?? null,
        stage: this.status.stage,
        canaryWeight: this.status.canary?.weight ?? null,
        outcome: this.status.outcome,
        error: this.status.error?.message ?? null,
        environments: this.status.environments.join(', '),
        approvedBy: this.status.approvals.decisions.filter((d) => d.decision === 'approved').map((d) => d.approver).join(', ') || null,
        ...extra,
      };
      const sent = CancellationScope.nonCancellable(() =>
        this.acts.integration.notify({
          ...this.ref(environment),
          channel,
          event,
          idempotencyKey: `${this.status.releaseId}/${seq}/${event}/${index}`,
          fields,
        }),
      );
      this.track(`${kind}#${index}`, environment, sent, event);
    });
  }

  private track(channel: string, environment: string | undefined, work: Promise<void>, event = 'jira'): void {
    const entry = { done: Promise.resolve(), settled: false, event, channel, environment };
    entry.done = work.then(
      () => {
        if (entry.settled) return;
        entry.settled = true;
        this.record(this.status.notifications, { event, environment, channel, status: 'sent' as const });
      },
      (err) => {
        if (entry.settled) return;
        entry.settled = true;
        log.warn('notification failed', { event, channel, error: errorMessage(err) });
        this.record(this.status.notifications, { event, environment, channel, status: 'failed' as const, error: errorMessage(err) });
      },
    );
    this.inflightNotifications.push(entry);
  }

  get aborted(): boolean {
    return this.abortRequest !== null;
  }
}

function failureType(err: unknown): string {
  let current = err as { type?: string; cause?: unknown; name?: string } | undefined;
  let type = current?.name ?? 'Error';
  while (current) {
    if (current.type) type = current.type;
    current = current.cause as typeof current;
  }
  return type;
}
