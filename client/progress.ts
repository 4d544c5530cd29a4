// Human-readable release progress for `shipyard release start --wait` and `shipyard wait`.
// Progress is built from the timestamped facts in the status (stage start/end, measurements, traffic
// changes, approval decisions, pauses, leases) and printed in the order they happened, each once.
// Polling sees several facts at a time; printing them in the order of the status fields instead
// showed "weight 50%" before the last measurement of the step before it, and "promote" before
// "weight 100%".
import type { ReleaseStatus, StageRecord } from '../workflows/types.js';

export interface ProgressEvent {
  /** When it happened (ISO). */
  at: string;
  /** Its place within its stage at one instant: START, FACT, WAIT, END or LATE. */
  rank: number;
  /** The index in status.stages of the stage it belongs to; computed from `at` when absent. */
  stage?: number;
  /** Identity: a fact is printed once, however often it is seen. */
  key: string;
  lines: string[];
}

// One workflow task shares one clock reading, so many facts carry the same instant: a stage ends,
// the next starts and ends, the one after starts. Ties are broken by the stage each fact belongs to
// (in stages order), then by its place in that stage.
const START = 0;
const FACT = 1;
const WAIT = 2;
const LATE = 3;
const END = 4;

const where = (environment?: string) => (environment ? ` (${environment})` : '');

/** The latest instant the status knows of: "now" as far as the release's own clock goes. */
export function latestFact(s: ReleaseStatus): string {
  const times: string[] = [s.startedAt];
  if (s.endedAt) times.push(s.endedAt);
  for (const st of s.stages) times.push(st.startedAt, ...(st.endedAt ? [st.endedAt] : []));
  for (const m of s.metrics) times.push(m.at);
  for (const c of s.canaryHistory ?? []) times.push(c.at);
  for (const d of s.approvals.decisions) times.push(d.at);
  if (s.approvals.pending) times.push(s.approvals.pending.openedAt);
  if (s.paused) times.push(s.paused.at);
  for (const l of Object.values(s.leases ?? {})) times.push(l.since);
  return times.filter(Boolean).reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const total = Math.floor(s);
  if (total < 3600) return `${Math.floor(total / 60)}m${pad(total % 60)}s`;
  if (total < 86400) return `${Math.floor(total / 3600)}h${pad(Math.floor((total % 3600) / 60))}m`;
  return `${Math.floor(total / 86400)}d${pad(Math.floor((total % 86400) / 3600))}h`;
}

function lastStage(s: ReleaseStatus, stage: StageRecord['stage'], environment?: string): StageRecord | undefined {
  for (let i = s.stages.length - 1; i >= 0; i--) {
    const st = s.stages[i];
    if (st.stage === stage && (environment === undefined || st.environment === environment)) return st;
  }
  return undefined;
}

/** Every progress fact of a status, unordered (see orderedEvents). Pure. */
export function progressEvents(s: ReleaseStatus): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  const add = (at: string, rank: number, key: string, ...lines: string[]) => {
    const e: ProgressEvent = { at, rank, key, lines };
    events.push(e);
    return e;
  };

  s.stages.forEach((st, index) => {
    if (st.stage === 'done') return;
    const id = `${st.stage}:${st.environment ?? ''}:${st.startedAt}`;
    add(st.startedAt, START, `stage:${id}`, `${st.stage}${where(st.environment)}${!st.endedAt && st.detail ? `: ${st.detail}` : ''}`).stage = index;
    if (st.endedAt) {
      const took = formatDuration(Date.parse(st.endedAt) - Date.parse(st.startedAt));
      add(st.endedAt, END, `end:${id}`, `${st.stage}${where(st.environment)} ${st.result ?? 'ended'} in ${took}${st.detail ? ` - ${st.detail}` : ''}`).stage = index;
    }
  });

  for (const [environment, lease] of Object.entries(s.leases ?? {})) {
    if (lease.state === 'waiting') add(lease.since, WAIT, `lease:${environment}:waiting:${lease.since}`, `queued for the ${environment} lease (another release of ${s.service} holds it)`);
    if (lease.state === 'held') add(lease.since, FACT, `lease:${environment}:held:${lease.since}`, `got the ${environment} lease`);
  }

  const policyAt = lastStage(s, 'policy')?.startedAt ?? s.startedAt;
  if (s.policy?.frozen) {
    const f = s.policy.frozen;
    // The line may have been frozen before this release started; it holds from its own start.
    const at = Date.parse(f.at) > Date.parse(s.startedAt) ? f.at : s.startedAt;
    add(at, WAIT, `frozen:${f.at}`, `held by a freeze (${f.by}${f.reason ? `: ${f.reason}` : ''}); shipyard unfreeze to continue`);
  } else if (s.policy?.waitingUntil) {
    add(policyAt, WAIT, `window:${s.policy.waitingUntil}`, `waiting for deploy window: ${s.policy.reason} until ${s.policy.waitingUntil}`);
  }

  for (const m of s.metrics) {
    add(m.at, FACT, `metric:${m.environment}:${m.analysis}:${m.metric}:${m.at}`, `  metric ${m.metric} = ${m.value ?? 'no data'} -> ${m.phase}${m.message ? ` (${m.message})` : ''}${m.dryRun ? ' [dry run]' : ''}`);
  }

  const canaryLine = (environment: string, step: number, weight: number, description: string) => {
    const steps = s.canary?.environment === environment && s.canary.steps ? `/${s.canary.steps}` : '';
    return `canary ${environment}: weight ${weight}% (step ${step + 1}${steps}: ${description})`;
  };
  if (s.canaryHistory) {
    for (const c of s.canaryHistory) add(c.at, FACT, `canary:${c.environment}:${c.step}:${c.weight}:${c.at}`, canaryLine(c.environment, c.step, c.weight, c.description));
  } else if (s.canary) {
    // Histories from before canaryHistory: only the current weight, with no time. It was set before
    // its canary stage ended; while the stage runs, after everything seen so far.
    const c = s.canary;
    const stage = lastStage(s, 'canary', c.environment);
    const key = `canary:${c.environment}:${c.step}:${c.weight}`;
    const line = canaryLine(c.environment, c.step, c.weight, c.description);
    if (stage?.endedAt) add(stage.endedAt, FACT, key, line).stage = s.stages.indexOf(stage);
    else add(latestFact(s), LATE, key, line).stage = s.stages.length - 1;
  }

  const pending = s.approvals.pending;
  if (pending) {
    add(
      pending.openedAt,
      WAIT,
      `gate:${pending.gate}:${pending.openedAt}`,
      `waiting for approval ${pending.gate}: ${pending.required} of ${pending.approvers.join(', ')} until ${pending.timeoutAt}`,
      `  shipyard approve ${s.releaseId} --as <approver>   |   shipyard reject ${s.releaseId} --as <approver>`,
    );
  }
  for (const d of s.approvals.decisions) {
    add(d.at, FACT, `decision:${d.gate}:${d.approver}:${d.decision}:${d.at}`, `${d.gate} ${d.decision} by ${d.approver}${d.comment ? `: ${d.comment}` : ''}`);
  }

  if (s.paused) add(s.paused.at, FACT, `pause:${s.paused.by}:${s.paused.at}`, `paused by ${s.paused.by}${s.paused.reason ? `: ${s.paused.reason}` : ''}`);

  // Undo records carry no time: they run inside the compensating stage, newest first. A record
  // marked done before any compensation (a step that undid itself) is not an undo to report.
  const compensating = lastStage(s, 'compensating');
  if (compensating) {
    for (const c of [...s.compensation].reverse()) {
      if (c.status !== 'done' && c.status !== 'failed') continue;
      add(compensating.startedAt, FACT, `undo:${c.id}:${c.status}`, `  undo ${c.status}: ${c.description}${c.error ? ` (${c.error})` : ''}`).stage = s.stages.indexOf(compensating);
    }
  }
  return events;
}

/**
 * The stage an event at `at` belongs to. A fact: the first (in stages order) that had started by
 * then and not ended before it (a weight set in the task that ends the canary belongs to the
 * canary). A wait: the last one started by then (a gate opens in the approval stage, not in the
 * stage that ended when approval started).
 */
function stageAt(stages: StageRecord[], at: number, rank: number): number {
  let last = -1;
  for (let i = 0; i < stages.length; i++) {
    const st = stages[i];
    if (Date.parse(st.startedAt) > at) break;
    if (rank === FACT && (!st.endedAt || Date.parse(st.endedAt) >= at)) return i;
    last = i;
  }
  return last;
}

/** Sorts events by time, then stage, then place in the stage; equal ones keep their order. Pure. */
export function sortEvents(events: ProgressEvent[], stages: StageRecord[]): ProgressEvent[] {
  return events
    .map((e, i) => {
      const t = Date.parse(e.at);
      return { e, i, t, stage: e.stage ?? stageAt(stages, t, e.rank) };
    })
    .sort((a, b) => a.t - b.t || a.stage - b.stage || a.e.rank - b.e.rank || a.i - b.i)
    .map((x) => x.e);
}

/** The progress of a status in the order it happened. Pure. */
export function orderedEvents(s: ReleaseStatus): ProgressEvent[] {
  return sortEvents(progressEvents(s), s.stages);
}

const clock = (iso: string) => (iso.length >= 19 ? iso.slice(11, 19) : iso);

/** Prints the facts of each status it is given that it has not printed yet, oldest first. */
export class ProgressPrinter {
  private readonly printed = new Set<string>();
  private paused: { key: string; at: string } | undefined;

  constructor(private readonly write: (line: string) => void) {}

  update(s: ReleaseStatus): void {
    const events = progressEvents(s);
    // A resume leaves no record in the status: it is the pause going away, after the pause.
    if (this.paused && !s.paused) {
      const latest = latestFact(s);
      const at = Date.parse(latest) > Date.parse(this.paused.at) ? latest : this.paused.at;
      events.push({ at, rank: FACT, key: `resume:${this.paused.key}`, lines: ['resumed'] });
    }
    this.paused = s.paused ? { key: `${s.paused.by}@${s.paused.at}`, at: s.paused.at } : undefined;
    for (const e of sortEvents(events.filter((e) => !this.printed.has(e.key)), s.stages)) {
      this.printed.add(e.key);
      for (const line of e.lines) this.write(`[${clock(e.at)}] ${line}`);
    }
  }
}
