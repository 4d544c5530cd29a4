// DORA metrics read from Temporal: the releases that closed in the window (visibility), each one's
// final status from its close event (8 at a time), turned into records (dora.ts) and computed.
// A closed run never changes, so its record can be cached by run ID for a long-running process (the
// gateway's /metrics and dashboard): only releases closed since the last read cost a Temporal call.
import { WorkflowNotFoundError } from '@temporalio/client';
import { SA } from '../workflows/search-attributes.js';
import { computeDora, doraRecordOf, windowOf, type DoraRecord, type DoraResult, type DoraRow, type DoraWindow } from './dora.js';

export type { DoraResult };
import { ShipyardUsageError } from './errors.js';
import type { ShipyardClient } from './index.js';
import { KEYWORD } from './list.js';


/** What readDora caches: a run's record, or null for a run without a status (skipped). */
export interface DoraCache {
  get(runId: string): DoraRecord | null | undefined;
  set(runId: string, record: DoraRecord | null): unknown;
}

export interface ReadDoraOptions {
  service?: string;
  environment?: string;
  windowDays: number;
  /** The window's end (default: now). */
  now?: Date;
  /** Records of closed runs by run ID (e.g. a DoraRecordCache held by the gateway). */
  cache?: DoraCache;
  /** At most this many releases, newest first (default 2000). */
  limit?: number;
}

export const DEFAULT_DORA_LIMIT = 2000;
const CONCURRENCY = 8;

/** A bounded LRU of run ID -> record (default 5,000 entries): a closed run's record never changes. */
export class DoraRecordCache implements DoraCache {
  private readonly entries = new Map<string, DoraRecord | null>();
  constructor(readonly maxEntries = 5000) {}

  get(runId: string): DoraRecord | null | undefined {
    const v = this.entries.get(runId);
    if (v === undefined) return undefined;
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(runId);
    this.entries.set(runId, v);
    return v;
  }

  set(runId: string, record: DoraRecord | null): this {
    this.entries.delete(runId);
    this.entries.set(runId, record);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return this;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The visibility query of the releases that closed in the window (of one service). */
export function doraQuery(from: string, service?: string): string {
  const clauses = ["WorkflowType = 'releaseWorkflow'", `CloseTime >= '${from}'`];
  if (service !== undefined) clauses.push(`${SA.service.name} = '${service}'`);
  return clauses.join(' AND ');
}

/** DORA metrics per (service, environment) over the last `windowDays` days. */
export async function readDora(shipyard: ShipyardClient, opts: ReadDoraOptions): Promise<DoraResult> {
  for (const [flag, value] of [['service', opts.service], ['environment', opts.environment]] as const) {
    if (value !== undefined && !KEYWORD.test(value)) throw new ShipyardUsageError(`${flag} '${value}' has characters a filter cannot hold`);
  }
  const window = windowOf(opts.windowDays, opts.now);
  const limit = opts.limit ?? DEFAULT_DORA_LIMIT;
  // Not filtered on ShipyardEnvironment: it holds the last environment a release entered, so a release
  // that went on from staging to production would be missing from staging's numbers. computeDora filters.
  const runs: { id: string; runId: string; closedAs: string }[] = [];
  for await (const w of shipyard.client.workflow.list({ query: doraQuery(window.from, opts.service), pageSize: Math.min(limit, 1000) })) {
    if (w.status.name === 'RUNNING') continue;
    runs.push({ id: w.workflowId, runId: w.runId, closedAs: w.status.name });
    if (runs.length >= limit) break;
  }
  const records: DoraRecord[] = [];
  let skipped = 0;
  for (let i = 0; i < runs.length; i += CONCURRENCY) {
    const batch = await Promise.all(runs.slice(i, i + CONCURRENCY).map((run) => recordOf(shipyard, run, opts.cache)));
    for (const r of batch) {
      if (r) records.push(r);
      else skipped++;
    }
  }
  return {
    rows: computeDora(records, window, { service: opts.service, environment: opts.environment }),
    window,
    releasesRead: runs.length,
    truncated: runs.length >= limit,
    skipped,
  };
}

async function recordOf(shipyard: ShipyardClient, run: { id: string; runId: string; closedAs: string }, cache?: DoraCache): Promise<DoraRecord | null> {
  const cached = cache?.get(run.runId);
  if (cached !== undefined) return cached;
  let record: DoraRecord | null;
  try {
    const final = await shipyard.finalOfRun(run.id, run.runId, run.closedAs);
    record = final.status ? doraRecordOf(final.status, final.outcome) : null;
  } catch (err) {
    // Gone between the list and the read (retention): nothing to count, and nothing to cache.
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  cache?.set(run.runId, record);
  return record;
}
