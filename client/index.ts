// The typed client API: what the CLI, the gateway and Jenkins (through the CLI) use to start,
// inspect and steer releases.
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import type { ReleaseSpec } from '../spec/schema.js';
import { releaseUrl, taskQueueOverrides, temporalSettings, type TaskQueueOverrides, type TemporalSettings } from '../config/temporal.js';
import {
  abortSignal,
  approveUpdate,
  freezeWorkflowId,
  freezeSignal,
  unfreezeSignal,
  pauseSignal,
  rejectUpdate,
  RELEASE_FAILURE_TYPES,
  resumeSignal,
  statusQuery,
  TASK_QUEUES,
} from '../workflows/messages.js';
import { SA } from '../workflows/search-attributes.js';
import { validateVersion } from '../spec/version.js';
import { freezeBookQuery } from '../workflows/freeze.js';
import type {
  ApprovalReply,
  ApprovalRequest,
  FreezeState,
  Outcome,
  ReleaseInput,
  ReleaseStatus,
  Trigger,
} from '../workflows/types.js';
import { releaseId, validateCommit } from './release-id.js';
import { ShipyardUsageError } from './errors.js';

export { releaseId } from './release-id.js';
export { ShipyardUsageError } from './errors.js';
export type { ReleaseStatus, Outcome, Trigger, ApprovalReply };

export interface StartReleaseOptions {
  spec: ReleaseSpec;
  commit: string;
  version?: string;
  environments?: string[];
  trigger: Trigger;
  /** Only the test gate and build (pull requests): release ID release/<service>/build/<commit>. */
  buildOnly?: boolean;
  /** Start a new attempt when an earlier release of this commit failed (not when it succeeded). */
  retryFailed?: boolean;
  /** Task queues for this release's workflow and activities (dedicated worker pools); defaults to TASK_QUEUES. */
  taskQueues?: { orchestrator?: string; build?: string; deploy?: string };
  /** How often an environment lease checks that its holder still runs (default 30s). */
  leaseCheckInterval?: string;
  /** Background analyses continue as new at this many history events per run (default 4,000). */
  analysisHistoryBudget?: number;
}

export interface StartedRelease {
  releaseId: string;
  runId: string;
  /** False when the release already existed and this call attached to it. */
  started: boolean;
  url: string;
}

export interface ReleaseSummary {
  releaseId: string;
  runId: string;
  status: string;
  service?: string;
  environment?: string;
  version?: string;
  commit?: string;
  stage?: string;
  canaryWeight?: number;
  outcome?: string;
  trigger?: string;
  /** Started by code that subscribes to the freeze workflow (memo). */
  subscribed?: boolean;
  startTime: string;
  closeTime?: string;
  url: string;
}

export interface ListFilter {
  service?: string;
  stage?: string;
  environment?: string;
  outcome?: string;
  running?: boolean;
  /** Only releases whose workflow runs on this task queue (a worker pool / line). */
  taskQueue?: string;
  limit?: number;
}

export interface FinalState {
  outcome: Outcome | 'canceled' | 'terminated' | 'timed-out';
  status: ReleaseStatus | null;
  message?: string;
}

const KEYWORD = /^[A-Za-z0-9._\/:+-]{1,200}$/;

export class ShipyardClient {
  constructor(
    readonly client: Client,
    readonly settings: TemporalSettings,
    /** Task queues releases go to unless a start names others (SHIPYARD_*_QUEUE). */
    readonly taskQueues: TaskQueueOverrides = {},
  ) {}

  static async connect(settings: TemporalSettings = temporalSettings(), taskQueues = taskQueueOverrides()): Promise<ShipyardClient> {
    const connection = await Connection.connect({
      address: settings.address,
      tls: settings.tls,
      apiKey: settings.apiKey,
      connectTimeout: '10s',
    });
    return new ShipyardClient(new Client({ connection, namespace: settings.namespace }), settings, taskQueues);
  }

  /** A client whose connection is made on first use: a process can start while Temporal is down. */
  static lazy(settings: TemporalSettings = temporalSettings(), taskQueues = taskQueueOverrides()): ShipyardClient {
    const connection = Connection.lazy({ address: settings.address, tls: settings.tls, apiKey: settings.apiKey, connectTimeout: '5s' });
    return new ShipyardClient(new Client({ connection, namespace: settings.namespace }), settings, taskQueues);
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }

  url(id: string): string {
    return releaseUrl(this.settings, id);
  }

  /**
   * Starts a release, or attaches to the one with the same ID (service, environments, commit):
   * a redelivered webhook or a re-run Jenkins job never starts a second release.
   */
  async start(opts: StartReleaseOptions): Promise<StartedRelease> {
    validateCommit(opts.commit);
    const known = opts.spec.environments.map((e) => e.name);
    const unknown = (opts.environments ?? []).filter((e) => !known.includes(e));
    if (unknown.length) {
      throw new ShipyardUsageError(`unknown environment(s) ${unknown.join(', ')}; the spec has ${known.join(', ')}`);
    }
    if (opts.buildOnly && !opts.spec.build) throw new ShipyardUsageError(`a build-only release needs a build section in the spec of ${opts.spec.service}`);
    const environments = opts.buildOnly ? [] : known.filter((e) => !opts.environments?.length || opts.environments.includes(e));
    const id = opts.buildOnly ? releaseId(opts.spec.service, ['build'], opts.commit) : releaseId(opts.spec.service, opts.environments?.length ? environments : [], opts.commit);
    const queues = { ...this.taskQueues, ...opts.taskQueues };
    const version = opts.version ?? opts.commit.slice(0, 12);
    try {
      validateVersion(version);
    } catch (err) {
      throw new ShipyardUsageError((err as Error).message);
    }
    const input: ReleaseInput = {
      spec: opts.spec,
      commit: opts.commit,
      version,
      environments: opts.environments?.length && !opts.buildOnly ? environments : undefined,
      buildOnly: opts.buildOnly || undefined,
      trigger: opts.trigger,
      taskQueues: queues.build || queues.deploy ? { build: queues.build, deploy: queues.deploy } : undefined,
      leaseCheckInterval: opts.leaseCheckInterval,
      analysisHistoryBudget: opts.analysisHistoryBudget,
    };
    try {
      const handle = await this.client.workflow.start('releaseWorkflow', {
        workflowId: id,
        taskQueue: queues.orchestrator ?? TASK_QUEUES.orchestrator,
        args: [input],
        // A running release with this ID: the start fails and we attach below (we know we did not start it).
        workflowIdConflictPolicy: 'FAIL',
        // A finished one: attach too, unless asked to retry a release that did not succeed.
        workflowIdReusePolicy: opts.retryFailed ? 'ALLOW_DUPLICATE_FAILED_ONLY' : 'REJECT_DUPLICATE',
        typedSearchAttributes: new TypedSearchAttributes([
          { key: SA.service, value: opts.spec.service },
          { key: SA.environment, value: environments[0] ?? 'build' },
          { key: SA.version, value: version },
          { key: SA.commit, value: opts.commit },
          { key: SA.stage, value: 'queued' },
          { key: SA.outcome, value: 'running' },
          { key: SA.trigger, value: opts.trigger.kind },
          { key: SA.canaryWeight, value: 0 },
        ]),
        memo: { environments, triggeredBy: opts.trigger.by, ref: opts.trigger.ref ?? null, subscribed: true },
      });
      return { releaseId: id, runId: handle.firstExecutionRunId, started: true, url: this.url(id) };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const existing = await this.client.workflow.getHandle(id).describe();
      return { releaseId: id, runId: existing.runId, started: false, url: this.url(id) };
    }
  }

  private handle(id: string): WorkflowHandle {
    return this.client.workflow.getHandle(id);
  }

  async describe(id: string): Promise<WorkflowExecutionDescription> {
    try {
      return await this.handle(id).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ShipyardUsageError(`no release with ID ${id}`, 'not-found');
      throw err;
    }
  }

  /** The live status of a running release, or the final one of a finished release. */
  async status(id: string): Promise<ReleaseStatus> {
    const description = await this.describe(id);
    if (description.status.name === 'RUNNING') return this.handle(id).query(statusQuery);
    const final = await this.final(id, description);
    if (final.status) return final.status;
    return this.handle(id).query(statusQuery);
  }

  /** How a finished release ended, from its result or its failure details (no worker needed). */
  async final(id: string, description?: WorkflowExecutionDescription): Promise<FinalState> {
    const d = description ?? (await this.describe(id));
    const handle = this.client.workflow.getHandle(id, d.runId);
    try {
      const status = (await handle.result()) as ReleaseStatus;
      return { outcome: 'succeeded', status };
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const cause = err.cause;
      if (cause instanceof ApplicationFailure) {
        const entry = Object.entries(RELEASE_FAILURE_TYPES).find(([, type]) => type === cause.type);
        const status = (cause.details?.[0] as ReleaseStatus | undefined) ?? null;
        if (entry) return { outcome: entry[0] as Outcome, status, message: cause.message };
        return { outcome: 'failed', status, message: cause.message };
      }
      const name = d.status.name;
      const outcome = name === 'CANCELLED' ? 'canceled' : name === 'TERMINATED' ? 'terminated' : name === 'TIMED_OUT' ? 'timed-out' : 'failed';
      return { outcome, status: null, message: cause?.message ?? err.message };
    }
  }

  /** Waits for the release to finish, calling `onStatus` whenever the status changes. */
  async wait(id: string, onStatus?: (s: ReleaseStatus) => void, pollMs = 1000, reconnectMs = 5 * 60_000): Promise<FinalState> {
    let last = '';
    let unreachableSince: number | undefined;
    for (;;) {
      let d: WorkflowExecutionDescription;
      try {
        d = await this.describe(id);
        unreachableSince = undefined;
      } catch (err) {
        // Temporal restarting: the release is durable, so keep waiting for a while before giving up.
        if (err instanceof ShipyardUsageError) throw err;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > reconnectMs) throw err;
        await new Promise((r) => setTimeout(r, pollMs));
        continue;
      }
      if (d.status.name !== 'RUNNING') {
        const final = await this.final(id, d);
        if (final.status && onStatus && fingerprint(final.status) !== last) onStatus(final.status);
        return final;
      }
      try {
        const status = await this.handle(id).query(statusQuery);
        const print = fingerprint(status);
        if (print !== last) {
          last = print;
          onStatus?.(status);
        }
      } catch {
        // No worker answering queries right now (restarting?); the release itself is durable. Keep waiting.
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async approve(id: string, request: ApprovalRequest): Promise<ApprovalReply> {
    return this.update(id, 'approve', request);
  }

  async reject(id: string, request: ApprovalRequest): Promise<ApprovalReply> {
    return this.update(id, 'reject', request);
  }

  private async update(id: string, kind: 'approve' | 'reject', request: ApprovalRequest): Promise<ApprovalReply> {
    await this.requireRunning(id);
    try {
      return await this.handle(id).executeUpdate(kind === 'approve' ? approveUpdate : rejectUpdate, { args: [request] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new ShipyardUsageError(`${kind} refused: ${err.cause?.message ?? err.message}`, 'refused');
      }
      throw err;
    }
  }

  async abort(id: string, by: string, reason?: string): Promise<void> {
    await this.requireRunning(id);
    await this.handle(id).signal(abortSignal, { by, reason });
  }

  async pause(id: string, by: string, reason?: string): Promise<void> {
    await this.requireRunning(id);
    await this.handle(id).signal(pauseSignal, { by, reason });
  }

  async resume(id: string, by: string, reason?: string): Promise<void> {
    await this.requireRunning(id);
    await this.handle(id).signal(resumeSignal, { by, reason });
  }

  private async requireRunning(id: string): Promise<void> {
    const d = await this.describe(id);
    if (d.status.name !== 'RUNNING') throw new ShipyardUsageError(`release ${id} is not running (${d.status.name.toLowerCase()})`, 'refused');
  }

  private freezeCache: { at: number; state: FreezeState | null } | undefined;

  /**
   * The line-wide freeze, if any (read from the freeze workflow's memo: no worker needed). Cached for
   * a second so a busy gateway does not double its calls per start; freeze/unfreeze clear it.
   */
  async lineFreeze(): Promise<FreezeState | null> {
    if (this.freezeCache && Date.now() - this.freezeCache.at < 1000) return this.freezeCache.state;
    const state = await this.readLineFreeze();
    this.freezeCache = { at: Date.now(), state };
    return state;
  }

  private async readLineFreeze(): Promise<FreezeState | null> {
    try {
      const d = await this.client.workflow.getHandle(freezeWorkflowId(this.taskQueues.orchestrator)).describe();
      if (d.status.name !== 'RUNNING') return null;
      return ((d.memo as { freeze?: FreezeState } | undefined)?.freeze ?? null) as FreezeState | null;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /**
   * Stops the line (or one service): the freeze workflow records it and pushes it to every running
   * release it applies to; each holds before its next deploy step. Returns once the freeze workflow
   * has it (read back by query), so a release started afterwards is held too. Releases started by
   * older workers do not subscribe: they are signalled directly. Returns the release IDs signalled so.
   */
  async freeze(by: string, reason?: string, service?: string): Promise<string[]> {
    this.freezeCache = undefined;
    await this.client.workflow.signalWithStart('freezeWorkflow', {
      workflowId: freezeWorkflowId(this.taskQueues.orchestrator),
      taskQueue: this.taskQueues.orchestrator ?? TASK_QUEUES.orchestrator,
      args: [null],
      signal: freezeSignal,
      signalArgs: [{ by, reason, service }],
    });
    const book = await this.untilBook((b) => (service ? b.services[service]?.by === by : b.line?.by === by && b.line?.reason === reason));
    const legacy = await this.signalLegacy(service, (h) => h.signal(freezeSignal, { by, reason }));
    return [...subscribersOf(book, service), ...legacy];
  }

  /** Waits (up to 10 s) until the freeze workflow has recorded the change (a query: strongly consistent). */
  private async untilBook(done: (b: FreezeBookView) => boolean): Promise<FreezeBookView> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const book = await this.freezeBook();
      if (book && done(book)) {
        this.freezeCache = { at: Date.now(), state: book.line };
        return book;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the freeze workflow did not record the change within 10 s (is an orchestrator worker running?)');
  }

  /** The freeze workflow's state and subscribers (null when there is none). */
  async freezeBook(): Promise<FreezeBookView | null> {
    try {
      return await this.client.workflow.getHandle(freezeWorkflowId(this.taskQueues.orchestrator)).query(freezeBookQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /** Lifts the freeze; returns the running releases it applied to (they go on). */
  async unfreeze(by: string, service?: string): Promise<string[]> {
    this.freezeCache = undefined;
    const before = await this.freezeBook();
    if (before) {
      await this.client.workflow.getHandle(freezeWorkflowId(this.taskQueues.orchestrator)).signal(unfreezeSignal, { by, service });
      await this.untilBook((b) => (service ? !b.services[service] : b.line === null));
    }
    const legacy = await this.signalLegacy(service, (h) => h.signal(unfreezeSignal, { by }));
    return [...(before ? subscribersOf(before, service) : []), ...legacy];
  }

  /** Running releases started before freeze subscriptions existed (no attempt in their memo). */
  private async signalLegacy(service: string | undefined, send: (h: WorkflowHandle) => Promise<void>): Promise<string[]> {
    const running = await this.list({ service, running: true, taskQueue: this.taskQueues.orchestrator ?? TASK_QUEUES.orchestrator, limit: 1000 });
    const legacy = running.filter((r) => !r.subscribed);
    await Promise.all(legacy.map((r) => send(this.handle(r.releaseId)).catch(() => undefined)));
    return legacy.map((r) => r.releaseId);
  }

  /** Releases from visibility, filtered on Shipyard's search attributes; newest first. */
  async list(filter: ListFilter = {}): Promise<ReleaseSummary[]> {
    const clauses = ["WorkflowType = 'releaseWorkflow'"];
    const eq = (attr: string, value: string | undefined) => {
      if (value === undefined) return;
      if (!KEYWORD.test(value)) throw new ShipyardUsageError(`filter value '${value}' has characters a filter cannot hold`);
      clauses.push(`${attr} = '${value}'`);
    };
    eq(SA.service.name, filter.service);
    eq(SA.stage.name, filter.stage);
    eq(SA.environment.name, filter.environment);
    eq(SA.outcome.name, filter.outcome);
    if (filter.running) clauses.push("ExecutionStatus = 'Running'");
    eq('TaskQueue', filter.taskQueue);
    const limit = filter.limit ?? 50;
    const out: ReleaseSummary[] = [];
    for await (const w of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(limit, 100) })) {
      const sa = w.typedSearchAttributes;
      out.push({
        releaseId: w.workflowId,
        runId: w.runId,
        status: w.status.name,
        service: sa.get(SA.service),
        environment: sa.get(SA.environment),
        version: sa.get(SA.version),
        commit: sa.get(SA.commit),
        stage: sa.get(SA.stage),
        canaryWeight: sa.get(SA.canaryWeight),
        outcome: sa.get(SA.outcome),
        trigger: sa.get(SA.trigger),
        subscribed: Boolean((w.memo as { subscribed?: boolean } | undefined)?.subscribed),
        startTime: w.startTime.toISOString(),
        closeTime: w.closeTime?.toISOString(),
        url: this.url(w.workflowId),
      });
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The release's history events (what the Temporal UI shows), newest last. */
  async history(id: string) {
    await this.describe(id);
    const history = await this.handle(id).fetchHistory();
    return history.events ?? [];
  }
}

type FreezeBookView = { line: FreezeState | null; services: Record<string, FreezeState>; subscribers: { releaseId: string; service: string }[] };

/** The running releases a line (or service) freeze applies to. */
function subscribersOf(book: FreezeBookView, service?: string): string[] {
  return book.subscribers.filter((s) => !service || s.service === service).map((s) => s.releaseId);
}

function fingerprint(s: ReleaseStatus): string {
  return JSON.stringify([
    s.stage,
    s.environment,
    s.outcome,
    s.canary?.weight,
    s.canary?.step,
    s.approvals.pending?.gate,
    s.approvals.decisions.length,
    s.paused?.at,
    s.policy?.waitingUntil,
    s.metrics.length,
    s.compensation.map((c) => c.status).join(),
  ]);
}
