// `shipyard list`: releases from visibility, filtered on Shipyard's search attributes, with the
// outcome as it ended and, for unsuccessful ones, the type of the error that stopped them.
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { SA } from '../workflows/search-attributes.js';
import type { ReleaseStatus } from '../workflows/types.js';
import { ShipyardUsageError } from './errors.js';
import type { ReleaseSummary } from './view-types.js';

export type { ReleaseSummary };

/** What a keyword filter value (and a version tag) may hold. */
export const KEYWORD = /^[A-Za-z0-9._\/:+-]{1,200}$/;

export interface ListFilter {
  service?: string;
  stage?: string;
  environment?: string;
  outcome?: string;
  /** Releases of one train (ShipyardTrain). */
  train?: string;
  running?: boolean;
  /** Only releases whose workflow runs on this task queue (a worker pool / line). */
  taskQueue?: string;
  limit?: number;
}

export interface ListContext {
  url: (id: string) => string;
  /** How a closed run ended (ShipyardClient.final). */
  final: (id: string, d: WorkflowExecutionDescription) => Promise<{ status: ReleaseStatus | null }>;
}

/** Newest first. */
export async function listReleases(client: Client, filter: ListFilter, ctx: ListContext): Promise<ReleaseSummary[]> {
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
  eq(SA.train.name, filter.train);
  if (filter.running) clauses.push("ExecutionStatus = 'Running'");
  eq('TaskQueue', filter.taskQueue);
  const limit = filter.limit ?? 50;
  const out: ReleaseSummary[] = [];
  for await (const w of client.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(limit, 100) })) {
    const sa = w.typedSearchAttributes;
    const running = w.status.name === 'RUNNING';
    out.push({
      releaseId: w.workflowId,
      runId: w.runId,
      status: w.status.name,
      service: sa.get(SA.service),
      environment: sa.get(SA.environment),
      version: sa.get(SA.version),
      commit: sa.get(SA.commit),
      // A release no worker has picked up yet, or one waiting for its environment's lease.
      stage: sa.get(SA.stage) ?? (running ? 'queued' : undefined),
      canaryWeight: sa.get(SA.canaryWeight),
      outcome: rowOutcome(w.status.name, sa.get(SA.outcome)),
      trigger: sa.get(SA.trigger),
      train: sa.get(SA.train),
      subscribed: Boolean((w.memo as { subscribed?: boolean } | undefined)?.subscribed),
      startTime: w.startTime.toISOString(),
      closeTime: w.closeTime?.toISOString(),
      url: ctx.url(w.workflowId),
    });
    if (out.length >= limit) break;
  }
  await addFailureTypes(client, out, ctx);
  return out;
}

/** The outcome column: the search attribute, unless the workflow ended without Shipyard setting it. */
export function rowOutcome(status: string, outcome: string | undefined): string | undefined {
  if (status === 'RUNNING') return outcome ?? 'running';
  if (outcome && outcome !== 'running') return outcome;
  const ended: Record<string, string> = { TERMINATED: 'terminated', CANCELLED: 'canceled', TIMED_OUT: 'timed-out', FAILED: 'failed', COMPLETED: 'succeeded' };
  return ended[status] ?? outcome;
}

/** Reads why each unsuccessful release stopped from its failure: one close-event read each, 8 at a time. */
async function addFailureTypes(client: Client, rows: ReleaseSummary[], ctx: ListContext): Promise<void> {
  const ended = rows.filter((r) => r.status !== 'RUNNING' && r.outcome !== 'succeeded');
  for (let i = 0; i < ended.length; i += 8) {
    await Promise.all(
      ended.slice(i, i + 8).map(async (r) => {
        try {
          const d = await client.workflow.getHandle(r.releaseId, r.runId).describe();
          r.failureType = (await ctx.final(r.releaseId, d)).status?.error?.type;
        } catch {
          // Gone (retention) or unreadable: the row still says how it ended.
        }
      }),
    );
  }
}
