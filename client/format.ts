// One-shot human views: `shipyard status` and `shipyard list`.
import type { ReleaseStatus } from '../workflows/types.js';
import type { LeaseView } from './leases.js';
import { formatDuration } from './progress.js';

export interface ReleaseRow {
  releaseId: string;
  status: string;
  stage?: string;
  canaryWeight?: number;
  outcome?: string;
  failureType?: string;
  version?: string;
  startTime: string;
}

/** A stage's duration: how long it took, or how long it has been running at `now`. */
export function stageDuration(st: { startedAt: string; endedAt?: string }, now: number): string {
  if (st.endedAt) return formatDuration(Date.parse(st.endedAt) - Date.parse(st.startedAt));
  return `running for ${formatDuration(now - Date.parse(st.startedAt))}`;
}

function shortRun(runId: string): string {
  return runId.slice(0, 8);
}

function leaseLines(environment: string, l: LeaseView): string[] {
  const head = `  ${environment.padEnd(12)} ${l.state} since ${l.since}`;
  if (l.read === 'not-read') return [head];
  if (l.read === 'no-lease') return [`${head} - no lease (no running ${l.workflowId})`];
  if (l.read === 'unavailable') return [`${head} - lease not readable: ${l.error}`];
  const lines = [`${head}${l.position ? ` - ${ordinal(l.position)} in the queue` : ''}`];
  lines.push(`  ${''.padEnd(12)} holder ${l.holder ? `${l.holder.releaseId} (run ${shortRun(l.holder.runId)}, since ${l.holder.since})` : 'none'}`);
  l.queue.forEach((e, i) => lines.push(`  ${''.padEnd(12)} ${i === 0 ? 'queue ' : '      '} ${i + 1}. ${e.releaseId} (${e.concurrency}, since ${e.since})`));
  if (!l.queue.length) lines.push(`  ${''.padEnd(12)} queue  empty`);
  return lines;
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/** A one-shot summary of a status, for `shipyard status`. `now` makes running durations testable. */
export function formatStatus(s: ReleaseStatus, url: string, leases: Record<string, LeaseView> = {}, now = Date.now()): string {
  const lines = [
    `release   ${s.releaseId}${s.attempt ? ` (attempt ${s.attempt})` : ''}`,
    `service   ${s.service} ${s.version} (commit ${s.commit})`,
    `trigger   ${s.trigger.kind} by ${s.trigger.by}${unauth(s.trigger.authenticated)}${s.trigger.ref ? ` (${s.trigger.ref})` : ''}`,
    `outcome   ${s.outcome}${s.outcome === 'running' ? ` - stage ${s.stage}${s.environment ? ` in ${s.environment}` : ''}` : ''}`,
  ];
  if (s.paused) lines.push(`paused    by ${s.paused.by}${unauth(s.paused.authenticated)}${s.paused.reason ? `: ${s.paused.reason}` : ''}`);
  if (s.policy?.waitingUntil) lines.push(`policy    waiting until ${s.policy.waitingUntil}: ${s.policy.reason}`);
  if (s.policy?.frozen) lines.push(`policy    frozen by ${s.policy.frozen.by} since ${s.policy.frozen.at}${s.policy.frozen.reason ? `: ${s.policy.frozen.reason}` : ''}`);
  if (s.canary) lines.push(`canary    ${s.canary.environment} weight ${s.canary.weight}% (step ${s.canary.step + 1}/${s.canary.steps}: ${s.canary.description})`);
  if (s.approvals.pending) {
    const p = s.approvals.pending;
    lines.push(`approval  ${p.gate} pending: ${p.approvedBy.length}/${p.fourEyesUnverifiedTrigger ? Math.max(2, p.required) : p.required} from ${p.approvers.join(', ')} until ${p.timeoutAt}`);
  }
  if (s.error) lines.push(`error     ${s.error.stage}${s.error.environment ? ` (${s.error.environment})` : ''}: [${s.error.type}] ${s.error.message}`);
  if (s.clusters?.length) {
    // Multi-cluster environments: where each cluster is (stage, weight) and how it ended.
    lines.push('clusters');
    for (const c of s.clusters) {
      lines.push(`  ${c.outcome.padEnd(11)} ${c.environment}@${c.cluster} wave ${c.wave}, ${c.stage}${c.canaryWeight !== undefined ? `, canary ${c.canaryWeight}%` : ''}${c.detail ? ` - ${c.detail}` : ''}`);
    }
  }
  lines.push('stages');
  for (const st of s.stages) {
    const took = st.stage === 'done' ? '' : `  (${stageDuration(st, now)})`;
    lines.push(`  ${(st.result ?? 'running').padEnd(9)} ${st.stage}${st.environment ? ` (${st.environment})` : ''}${st.detail ? ` - ${st.detail}` : ''}${took}`);
  }
  const leaseEntries = Object.entries(leases);
  if (leaseEntries.length) {
    lines.push('leases');
    for (const [environment, l] of leaseEntries) lines.push(...leaseLines(environment, l));
  }
  if (s.approvals.decisions.length) {
    lines.push('approvals');
    for (const d of s.approvals.decisions) lines.push(`  ${d.decision.padEnd(9)} ${d.gate} by ${d.approver}${unauth(d.authenticated)}${d.via ? ` via ${d.via}` : ''}${d.comment ? `: ${d.comment}` : ''}`);
  }
  for (const f of s.refusals ?? []) lines.push(`refused   ${f.action} by ${f.by}: ${f.reason}`);
  if (s.metrics.length) {
    lines.push('metrics (latest 10)');
    for (const m of s.metrics.slice(-10)) lines.push(`  ${m.phase.padEnd(12)} ${m.metric} = ${m.value ?? 'no data'} (${m.analysis}, ${m.at})`);
  }
  for (const j of (s.judgements ?? []).slice(-3)) {
    lines.push(`judgement ${j.step} (${j.environment}, ${j.window} to ${j.at}): score ${j.score} ${j.verdict}${j.action ? ` -> ${j.action}` : ''}`);
    for (const m of j.metrics) lines.push(`  ${m.verdict.padEnd(12)} ${m.metric}${m.critical ? ' (critical)' : ''}: ${m.reason}`);
  }
  if (s.plumbing?.length) {
    // Generated canary plumbing: what this release created, adopted or found (kept, not its own).
    lines.push('generated');
    for (const o of s.plumbing) lines.push(`  ${(o.removed ? 'removed' : o.action).padEnd(9)} ${o.kind} ${o.namespace}/${o.name} (${o.environment})`);
  }
  if (s.compensation.length) {
    lines.push('compensation');
    // An undo in one cluster of a multi-cluster environment says which (environment@cluster).
    for (const c of s.compensation) lines.push(`  ${c.status.padEnd(9)} ${c.description}${c.environment?.includes('@') ? ` [${c.environment}]` : ''}${c.error ? ` - ${c.error}` : ''}`);
  }
  const failedNotes = s.notifications.filter((n) => n.status === 'failed');
  if (failedNotes.length) {
    lines.push('notification failures');
    for (const n of failedNotes.slice(-5)) lines.push(`  ${n.event} via ${n.channel}: ${n.error}`);
  }
  lines.push(`ui        ${url}`);
  return lines.join('\n');
}

/** `shipyard list` as aligned columns with a header. */
export function formatList(rows: ReleaseRow[]): string {
  const table = rows.map((r) => [
    r.releaseId,
    r.status.toLowerCase(),
    `${r.stage ?? '-'}${r.canaryWeight ? ` ${r.canaryWeight}%` : ''}`,
    `${r.outcome ?? '-'}${r.failureType ? ` (${r.failureType})` : ''}`,
    r.version ?? '-',
    r.startTime,
  ]);
  const header = ['RELEASE', 'STATE', 'STAGE', 'OUTCOME', 'VERSION', 'STARTED'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  return [header, ...table].map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

/** Marks what no signed statement vouched for (`authenticated` is unset on releases from before identities were checked). */
function unauth(authenticated: boolean | undefined): string {
  return authenticated === false ? ' (unauthenticated)' : '';
}
