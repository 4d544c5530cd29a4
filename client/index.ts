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
import { dataConverterFor } from '../config/payload-codec.js';
import { releaseUrl, taskQueueOverrides, temporalSettings, type TaskQueueOverrides, type TemporalSettings } from '../config/temporal.js';
import {
  abortSignal,
  approveUpdate,
  controlUpdate,
  pauseSignal,
  rejectUpdate,
  RELEASE_FAILURE_TYPES,
  resumeSignal,
  statusQuery,
  TASK_QUEUES,
} from '../workflows/messages.js';
import { SA } from '../workflows/search-attributes.js';
import { validateVersion } from '../spec/version.js';
import type {
  ApprovalReply,
  ApprovalRequest,
  ControlReply,
  ControlRequest,
  FreezeState,
  Outcome,
  ReleaseInput,
  ReleaseStatus,
  Trigger,
} from '../workflows/types.js';
import { releaseId, releaseIdFor, selectEnvironments } from './release-id.js';
import { resolveCommit } from './commit.js';
import { withCommitTime } from './commit-time.js';
import { ShipyardUsageError } from './errors.js';
import { readLeases, type LeaseView } from './leases.js';
import { LineFreeze } from './freeze.js';
import { listReleases, type ListFilter, type ReleaseSummary } from './list.js';
import { startOrAttach } from './start-or-attach.js';
import { LazyNativeConnection } from './native-connection.js';

export type { LeaseView } from './leases.js';
export type { ListFilter, ReleaseSummary } from './list.js';
export { releaseId, releaseIdFor } from './release-id.js';
export { ShipyardUsageError } from './errors.js';
export type { ReleaseStatus, Outcome, Trigger, ApprovalReply };

export interface StartReleaseOptions {
  spec: ReleaseSpec;
  commit: string;
  version?: string;
  environments?: string[];
  trigger: Trigger;
  /** Signs a start statement for the release ID (the gateway's signer, or the CLI asking the gateway); optional. */
  signStart?: (releaseId: string) => Promise<string | undefined>;
  /** Only the test gate and build (pull requests): release ID release/<service>/build/<commit>. */
  buildOnly?: boolean;
  /** Untrusted source (pull requests, routes marked untrusted): the build runs sandboxed. */
  untrusted?: boolean;
  /** Start a new attempt when an earlier release of this commit failed (not when it succeeded). */
  retryFailed?: boolean;
  /** Task queues for this release's workflow and activities (dedicated worker pools); defaults to TASK_QUEUES. */
  taskQueues?: { orchestrator?: string; build?: string; deploy?: string };
  /** How often an environment lease checks that its holder still runs (default 30s). */
  leaseCheckInterval?: string;
  /** Background analyses continue as new at this many history events per run (default 4,000). */
  analysisHistoryBudget?: number;
  /** A git checkout where a short commit hash is looked up first (the CLI: its working directory). */
  checkout?: string;
  /** Charts packaged from the app repository, by the spec's `chart` string (pipelines as code). */
  charts?: ReleaseInput['charts'];
  /** Where the spec came from, when it was read from the app repository. */
  specSource?: ReleaseInput['specSource'];
}

export interface StartedRelease {
  releaseId: string;
  runId: string;
  /** False when the release already existed and this call attached to it. */
  started: boolean;
  /** started: this call started it; running: it was already running; ended: it had already ended. */
  state: 'started' | 'running' | 'ended';
  /** How the existing release ended, when state is ended (from final(), without its status). */
  ended?: { outcome: FinalState['outcome']; message?: string };
  /** The full commit hash the release was started (or found) with. */
  commit: string;
  url: string;
}

export interface FinalState {
  outcome: Outcome | 'canceled' | 'terminated' | 'timed-out';
  status: ReleaseStatus | null;
  message?: string;
}

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
    return new ShipyardClient(new Client({ connection, namespace: settings.namespace, ...dataConverterFor(settings.payloadCodec) }), settings, taskQueues);
  }

  /**
   * A client whose connection is made on first use: a process can start while Temporal is down.
   * `native` uses the SDK's Rust core client (less CPU per call; the gateway's default).
   */
  static lazy(settings: TemporalSettings = temporalSettings(), taskQueues = taskQueueOverrides(), kind: 'grpc-js' | 'native' = 'grpc-js'): ShipyardClient {
    const connection =
      kind === 'native'
        ? new LazyNativeConnection(settings)
        : Connection.lazy({ address: settings.address, tls: settings.tls, apiKey: settings.apiKey, connectTimeout: '5s' });
    return new ShipyardClient(new Client({ connection, namespace: settings.namespace, ...dataConverterFor(settings.payloadCodec) }), settings, taskQueues);
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
    const known = opts.spec.environments.map((e) => e.name);
    if (opts.buildOnly && !opts.spec.build) throw new ShipyardUsageError(`a build-only release needs a build section in the spec of ${opts.spec.service}`);
    // Cheap checks first: no git work for a start that is refused anyway.
    const selection = selectEnvironments(known, opts.buildOnly ? [] : opts.environments);
    const requestedVersion = opts.version;
    if (requestedVersion !== undefined) {
      try {
        validateVersion(requestedVersion);
      } catch (err) {
        throw new ShipyardUsageError((err as Error).message);
      }
    }
    const commit = await resolveCommit(opts.commit, { repo: opts.spec.source.repo, checkout: opts.checkout });
    const environments = opts.buildOnly ? [] : selection.environments;
    const id = opts.buildOnly ? releaseId(opts.spec.service, ['build'], commit) : releaseIdFor(opts.spec.service, known, opts.environments, commit);
    const queues = { ...this.taskQueues, ...opts.taskQueues };
    const version = requestedVersion ?? commit.slice(0, 12);
    const input: ReleaseInput = {
      spec: opts.spec,
      commit,
      version,
      // Every environment is the same release as none named: the workflow gets the same input.
      environments: selection.all || opts.buildOnly ? undefined : environments,
      buildOnly: opts.buildOnly || undefined,
      untrusted: opts.untrusted || undefined,
      trigger: await withStartStatement(await withCommitTime(opts.trigger, commit, opts.checkout, opts.spec.source.repo), id, opts.signStart),
      taskQueues: queues.build || queues.deploy ? { build: queues.build, deploy: queues.deploy } : undefined,
      leaseCheckInterval: opts.leaseCheckInterval,
      analysisHistoryBudget: opts.analysisHistoryBudget,
      charts: opts.charts && Object.keys(opts.charts).length ? opts.charts : undefined,
      specSource: opts.specSource,
    };
    try {
      // One RPC: a running release with this ID is attached to (USE_EXISTING) and the answer says so.
      const { runId, started } = await startOrAttach(this.client, 'releaseWorkflow', {
        workflowId: id,
        taskQueue: queues.orchestrator ?? TASK_QUEUES.orchestrator,
        args: [input],
        // A finished one: attach too (described below), unless asked to retry a release that did not succeed.
        workflowIdReusePolicy: opts.retryFailed ? 'ALLOW_DUPLICATE_FAILED_ONLY' : 'REJECT_DUPLICATE',
        typedSearchAttributes: new TypedSearchAttributes([
          { key: SA.service, value: opts.spec.service },
          { key: SA.environment, value: environments[0] ?? 'build' },
          { key: SA.version, value: version },
          { key: SA.commit, value: commit },
          { key: SA.stage, value: 'queued' },
          { key: SA.outcome, value: 'running' },
          { key: SA.trigger, value: opts.trigger.kind },
          { key: SA.canaryWeight, value: 0 },
        ]),
        memo: { environments, triggeredBy: opts.trigger.by, ref: opts.trigger.ref ?? null },
      });
      const url = this.url(id);
      return started ? { releaseId: id, runId, started: true, state: 'started', commit, url } : { releaseId: id, runId, started: false, state: 'running', commit, url };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // Only a closed release gets here (REJECT_DUPLICATE); it may have been running a moment ago.
      const existing = await this.client.workflow.getHandle(id).describe();
      const attached = { releaseId: id, runId: existing.runId, started: false, commit, url: this.url(id) };
      if (existing.status.name === 'RUNNING') return { ...attached, state: 'running' };
      // Ended: say how, so a re-run never reads as "attached" to something that is over.
      const final = await this.final(id, existing);
      return { ...attached, state: 'ended', ended: { outcome: final.outcome, message: final.message } };
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
    return this.finalOfRun(id, d.runId, d.status.name);
  }

  /**
   * final() of a closed run known by its ID and how it closed (a visibility list entry's status name):
   * no describe call. The result or failure is read from the run's close event.
   */
  async finalOfRun(id: string, runId: string, closedAs: string): Promise<FinalState> {
    const handle = this.client.workflow.getHandle(id, runId);
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
      const name = closedAs;
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

  /** Abort, pause or resume as an update: the release's refusal (e.g. an unsigned request in production mode) comes back. */
  async control(id: string, request: ControlRequest): Promise<ControlReply> {
    await this.requireRunning(id);
    try {
      return await this.handle(id).executeUpdate(controlUpdate, { args: [request] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new ShipyardUsageError(`${request.action} refused: ${err.cause?.message ?? err.message}`, 'refused');
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

  /** The line freeze: read, set and lift it through the freeze workflow (client/freeze.ts). */
  readonly line = new LineFreeze(this);

  /** The line-wide freeze, if any (the freeze workflow's memo; cached for a second). */
  lineFreeze(): Promise<FreezeState | null> {
    return this.line.current();
  }

  /** Stops the line (or one service); returns the running releases it applies to. */
  freeze(by: string, reason?: string, service?: string): Promise<string[]> {
    return this.line.freeze(by, reason, service);
  }

  /** Lifts the freeze; returns the running releases it applied to (they go on). */
  unfreeze(by: string, service?: string): Promise<string[]> {
    return this.line.unfreeze(by, service);
  }

  /** Releases from visibility, filtered on Shipyard's search attributes; newest first. */
  async list(filter: ListFilter = {}): Promise<ReleaseSummary[]> {
    return listReleases(this.client, filter, { url: (id) => this.url(id), final: (id, d) => this.final(id, d) });
  }

  /** The leases the release holds or waits for, with holder and queue from the lease workflows. */
  async leases(status: ReleaseStatus): Promise<Record<string, LeaseView>> {
    return readLeases(this.client, status);
  }

  /** The release's history events (what the Temporal UI shows), newest last. */
  async history(id: string) {
    await this.describe(id);
    const history = await this.handle(id).fetchHistory();
    return history.events ?? [];
  }
}

/**
 * The trigger with a start statement for `id` (signStart: the gateway's signer, or the CLI asking the
 * gateway for one). Without one the release records its trigger as unauthenticated.
 */
export async function withStartStatement(trigger: Trigger, id: string, signStart?: (id: string) => Promise<string | undefined>): Promise<Trigger> {
  const statement = signStart ? await signStart(id) : undefined;
  return statement ? { ...trigger, statement } : trigger;
}

/** Changes whenever a progress fact could have been added (bounded lists keep their length when full). */
function fingerprint(s: ReleaseStatus): string {
  const last = s.stages[s.stages.length - 1];
  return JSON.stringify([
    s.stage,
    s.environment,
    s.outcome,
    s.canary,
    s.canaryHistory?.length,
    s.canaryHistory?.[s.canaryHistory.length - 1]?.at,
    s.approvals.pending?.gate,
    s.approvals.pending?.approvedBy.length,
    s.approvals.decisions.length,
    s.paused?.at,
    s.policy,
    s.metrics.length,
    s.metrics[s.metrics.length - 1]?.at,
    s.stages.length,
    last?.endedAt,
    last?.detail,
    s.leases,
    s.compensation.map((c) => c.status).join(),
  ]);
}
