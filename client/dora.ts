// DORA metrics from release records: pure functions, no Temporal (dora-source.ts reads the records).
//
// Per (service, environment E) over a window [from, to]:
//   deployment            a release that succeeded and promoted to E; it happened at promotedAt(E)
//                         (the end of E's last `promote` stage record with result ok).
//   deployment frequency  deployments in the window / the window's days (and the count).
//   lead time for changes promotedAt(E) − the trigger's commitTime, for the deployments that carry a
//                         commitTime: median and p90 (linear interpolation between the closest ranks,
//                         numpy's default); the others are counted as missingCommitTime.
//   failed change         a release that deployed to E (a `deploy` stage record there) and ended
//                         rolled-back or failed with its error in E (status.error.environment = E, or
//                         unknown); it happened at the release's endedAt. Rejected and aborted releases
//                         are decisions, not failures; a failure in production is not one of staging.
//   change failure rate   failed changes / (deployments + failed changes); null without changes.
//   time to restore       a failure streak in E starts at the endedAt of the first failed change
//                         after a deployment (or the first one seen) and is restored at the next
//                         deployment's promotedAt; the median over the streaks restored in the window.
//                         A streak still open at the window's end is `openSince` its start.
// Multi-cluster stage records name `production@eu-1`: the cluster is stripped, the environment's
// deploy is its first cluster's deploy, its promotion the last cluster's promotion.
import { median, quantileSorted } from 'simple-statistics';
import type { ReleaseStatus } from '../workflows/types.js';

export interface DoraEnvironment {
  name: string;
  /** When the release's first deploy to the environment started. */
  deployedAt?: string;
  /** When its last promotion there ended ok. */
  promotedAt?: string;
}

/** One ended release, as DORA metrics see it. */
export interface DoraRecord {
  releaseId: string;
  service: string;
  /** succeeded, rolled-back, failed, rejected, aborted (how it ended). */
  outcome: string;
  startedAt: string;
  endedAt: string;
  commitTime?: string;
  environments: DoraEnvironment[];
  /** The environment the error that stopped it was in (cluster stripped), when known. */
  errorEnvironment?: string;
}

export interface DoraWindow {
  from: string;
  to: string;
  days: number;
}

export interface DoraRow {
  service: string;
  environment: string;
  window: DoraWindow;
  deployments: number;
  deploymentsPerDay: number;
  leadTime: { medianSeconds: number | null; p90Seconds: number | null; measured: number; missingCommitTime: number };
  changeFailureRate: number | null;
  failedChanges: number;
  changes: number;
  timeToRestore: { medianSeconds: number | null; restored: number; openSince?: string };
}

export interface DoraFilter {
  service?: string;
  environment?: string;
}

const DAY_MS = 86_400_000;

/** `production@eu-1` -> `production`. */
export function environmentOf(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}

/** The DORA record of an ended release from its final status and how it ended (ShipyardClient.final). */
export function doraRecordOf(status: ReleaseStatus, outcome: string): DoraRecord {
  const envs = new Map<string, DoraEnvironment>();
  const envOf = (name: string) => {
    let e = envs.get(name);
    if (!e) envs.set(name, (e = { name }));
    return e;
  };
  for (const name of status.environments) envOf(name);
  // A deploy record trimmed from a long multi-cluster status still leaves health/canary/promote ones.
  const firstSeen = new Map<string, string>();
  for (const s of status.stages) {
    if (!s.environment) continue;
    const name = environmentOf(s.environment);
    if (s.stage === 'deploy') {
      const e = envOf(name);
      if (!e.deployedAt || s.startedAt < e.deployedAt) e.deployedAt = s.startedAt;
    } else if (s.stage === 'health' || s.stage === 'canary' || s.stage === 'promote') {
      if (!firstSeen.has(name)) firstSeen.set(name, s.startedAt);
    }
    if (s.stage === 'promote' && s.result === 'ok' && s.endedAt) {
      const e = envOf(name);
      if (!e.promotedAt || s.endedAt > e.promotedAt) e.promotedAt = s.endedAt;
    }
  }
  for (const [name, at] of firstSeen) {
    const e = envOf(name);
    e.deployedAt ??= at;
  }
  const last = status.stages[status.stages.length - 1];
  const errorEnvironment = status.error?.environment ? environmentOf(status.error.environment) : undefined;
  return {
    releaseId: status.releaseId,
    service: status.service,
    outcome,
    startedAt: status.startedAt,
    endedAt: status.endedAt ?? last?.endedAt ?? status.startedAt,
    ...(status.trigger?.commitTime ? { commitTime: status.trigger.commitTime } : {}),
    environments: [...envs.values()],
    ...(errorEnvironment ? { errorEnvironment } : {}),
  };
}

/** The window ending at `now`, `days` long. */
export function windowOf(days: number, now: Date = new Date()): DoraWindow {
  if (!(days > 0) || !Number.isFinite(days)) throw new Error(`a DORA window must be a positive number of days, not ${days}`);
  return { from: new Date(now.getTime() - days * DAY_MS).toISOString(), to: now.toISOString(), days };
}

interface Event {
  at: number;
  kind: 'deployment' | 'failure';
  record: DoraRecord;
  env: DoraEnvironment;
}

/** What happened to E in a record: a deployment, a failed change, or nothing that counts. */
function eventOf(record: DoraRecord, env: DoraEnvironment): Event | undefined {
  if (record.outcome === 'succeeded' && env.promotedAt) return { at: Date.parse(env.promotedAt), kind: 'deployment', record, env };
  const failed = record.outcome === 'rolled-back' || record.outcome === 'failed';
  if (failed && env.deployedAt && (record.errorEnvironment === undefined || record.errorEnvironment === env.name)) {
    return { at: Date.parse(record.endedAt), kind: 'failure', record, env };
  }
  return undefined;
}

const seconds = (ms: number) => Math.round(ms / 1000);

/** The rows of every (service, environment) a release touched in the window, sorted by service, environment. */
export function computeDora(records: DoraRecord[], window: DoraWindow, filter: DoraFilter = {}): DoraRow[] {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  const inWindow = (t: number) => t >= from && t <= to;
  const byKey = new Map<string, { service: string; environment: string; events: Event[]; touched: boolean }>();
  for (const record of records) {
    if (filter.service !== undefined && record.service !== filter.service) continue;
    for (const env of record.environments) {
      if (filter.environment !== undefined && env.name !== filter.environment) continue;
      const event = eventOf(record, env);
      // Touched: deployed to there by a release that ended in the window, whatever its outcome.
      const touched = Boolean(env.deployedAt) && inWindow(Date.parse(record.endedAt));
      if (!event && !touched) continue;
      const key = `${record.service}\u0000${env.name}`;
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { service: record.service, environment: env.name, events: [], touched: false }));
      entry.touched ||= touched;
      if (event && event.at <= to) entry.events.push(event);
    }
  }
  const rows: DoraRow[] = [];
  for (const { service, environment, events, touched } of byKey.values()) {
    const row = rowOf(service, environment, events, window, inWindow);
    if (touched || row.changes > 0 || row.timeToRestore.restored > 0 || row.timeToRestore.openSince) rows.push(row);
  }
  return rows.sort((a, b) => (a.service === b.service ? cmp(a.environment, b.environment) : cmp(a.service, b.service)));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function rowOf(service: string, environment: string, events: Event[], window: DoraWindow, inWindow: (t: number) => boolean): DoraRow {
  // Failures first at the same instant: a deployment then restores them.
  events.sort((a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'failure' ? -1 : 1));
  const deployments = events.filter((e) => e.kind === 'deployment' && inWindow(e.at));
  const failures = events.filter((e) => e.kind === 'failure' && inWindow(e.at));
  const leads = deployments
    .filter((e) => e.record.commitTime && Number.isFinite(Date.parse(e.record.commitTime)))
    // A commit stamped after its promotion is a skewed clock: no negative lead times.
    .map((e) => Math.max(0, e.at - Date.parse(e.record.commitTime!)))
    .sort((a, b) => a - b);
  const restores: number[] = [];
  let streakStart: number | undefined;
  for (const e of events) {
    if (e.kind === 'failure') streakStart ??= e.at;
    else if (streakStart !== undefined) {
      if (inWindow(e.at)) restores.push(e.at - streakStart);
      streakStart = undefined;
    }
  }
  const changes = deployments.length + failures.length;
  return {
    service,
    environment,
    window,
    deployments: deployments.length,
    deploymentsPerDay: deployments.length / window.days,
    leadTime: {
      medianSeconds: leads.length ? seconds(median(leads)) : null,
      p90Seconds: leads.length ? seconds(quantileSorted(leads, 0.9)) : null,
      measured: leads.length,
      missingCommitTime: deployments.length - leads.length,
    },
    changeFailureRate: changes ? failures.length / changes : null,
    failedChanges: failures.length,
    changes,
    timeToRestore: {
      medianSeconds: restores.length ? seconds(median(restores)) : null,
      restored: restores.length,
      ...(streakStart !== undefined ? { openSince: new Date(streakStart).toISOString() } : {}),
    },
  };
}

/** What readDora (dora-source.ts) answers: the rows and how they were read. */
export interface DoraResult {
  rows: DoraRow[];
  window: DoraWindow;
  /** Closed releases looked at (from the cache or Temporal). */
  releasesRead: number;
  /** True when `limit` releases closed in the window: older ones were not read (the oldest days are short). */
  truncated: boolean;
  /** Ended outside Shipyard (terminated, timed out, canceled before it started): no status, not counted. */
  skipped: number;
}
