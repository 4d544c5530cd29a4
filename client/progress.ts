// Human-readable release progress for `shipyard release start --wait`, `wait` and `status`.
import type { ReleaseStatus } from '../workflows/types.js';

/** Prints only what changed since the previous status it saw. */
export class ProgressPrinter {
  private stages = 0;
  private weight: number | undefined;
  private gate: string | undefined;
  private decisions = 0;
  private metrics = 0;
  private compensation = new Map<number, string>();
  private paused: string | undefined;
  private policy: string | undefined;

  constructor(private readonly write: (line: string) => void) {}

  update(s: ReleaseStatus): void {
    const time = () => new Date().toISOString().slice(11, 19);
    const out = (line: string) => this.write(`[${time()}] ${line}`);
    for (; this.stages < s.stages.length; this.stages++) {
      const st = s.stages[this.stages];
      if (st.stage === 'done') continue;
      out(`${st.stage}${st.environment ? ` (${st.environment})` : ''}${st.detail ? `: ${st.detail}` : ''}`);
    }
    const policyKey = s.policy?.waitingUntil ?? s.policy?.frozen?.at;
    if (policyKey && policyKey !== this.policy) {
      if (s.policy?.frozen) out(`held by a freeze (${s.policy.frozen.by}${s.policy.frozen.reason ? `: ${s.policy.frozen.reason}` : ''}); shipyard unfreeze to continue`);
      else out(`waiting for deploy window: ${s.policy!.reason} until ${s.policy!.waitingUntil}`);
    }
    this.policy = policyKey;
    if (s.canary && s.canary.weight !== this.weight) {
      out(`canary ${s.canary.environment}: weight ${s.canary.weight}% (step ${s.canary.step + 1}/${s.canary.steps}: ${s.canary.description})`);
      this.weight = s.canary.weight;
    }
    for (; this.metrics < s.metrics.length; this.metrics++) {
      const m = s.metrics[this.metrics];
      out(`  metric ${m.metric} = ${m.value ?? 'no data'} -> ${m.phase}${m.message ? ` (${m.message})` : ''}${m.dryRun ? ' [dry run]' : ''}`);
    }
    const pending = s.approvals.pending;
    if (pending && pending.gate !== this.gate) {
      out(`waiting for approval ${pending.gate}: ${pending.required} of ${pending.approvers.join(', ')} until ${pending.timeoutAt}`);
      out(`  shipyard approve ${s.releaseId} --as <approver>   |   shipyard reject ${s.releaseId} --as <approver>`);
    }
    this.gate = pending?.gate;
    for (; this.decisions < s.approvals.decisions.length; this.decisions++) {
      const d = s.approvals.decisions[this.decisions];
      out(`${d.gate} ${d.decision} by ${d.approver}${d.comment ? `: ${d.comment}` : ''}`);
    }
    const pausedKey = s.paused ? `${s.paused.by}@${s.paused.at}` : undefined;
    if (pausedKey !== this.paused) out(s.paused ? `paused by ${s.paused.by}${s.paused.reason ? `: ${s.paused.reason}` : ''}` : 'resumed');
    this.paused = pausedKey;
    for (const c of s.compensation) {
      if (this.compensation.get(c.id) === c.status) continue;
      this.compensation.set(c.id, c.status);
      if (c.status === 'pending' || c.status === 'committed') continue;
      out(`  undo ${c.status}: ${c.description}${c.error ? ` (${c.error})` : ''}`);
    }
  }
}

/** A one-shot summary of a status, for `shipyard status`. */
export function formatStatus(s: ReleaseStatus, url: string): string {
  const lines = [
    `release   ${s.releaseId}`,
    `service   ${s.service} ${s.version} (commit ${s.commit})`,
    `trigger   ${s.trigger.kind} by ${s.trigger.by}${s.trigger.ref ? ` (${s.trigger.ref})` : ''}`,
    `outcome   ${s.outcome}${s.outcome === 'running' ? ` - stage ${s.stage}${s.environment ? ` in ${s.environment}` : ''}` : ''}`,
  ];
  if (s.paused) lines.push(`paused    by ${s.paused.by}${s.paused.reason ? `: ${s.paused.reason}` : ''}`);
  if (s.policy?.waitingUntil) lines.push(`policy    waiting until ${s.policy.waitingUntil}: ${s.policy.reason}`);
  if (s.policy?.frozen) lines.push(`policy    frozen by ${s.policy.frozen.by} since ${s.policy.frozen.at}${s.policy.frozen.reason ? `: ${s.policy.frozen.reason}` : ''}`);
  if (s.canary) lines.push(`canary    ${s.canary.environment} weight ${s.canary.weight}% (step ${s.canary.step + 1}/${s.canary.steps}: ${s.canary.description})`);
  if (s.approvals.pending) {
    const p = s.approvals.pending;
    lines.push(`approval  ${p.gate} pending: ${p.approvedBy.length}/${p.required} from ${p.approvers.join(', ')} until ${p.timeoutAt}`);
  }
  if (s.error) lines.push(`error     ${s.error.stage}${s.error.environment ? ` (${s.error.environment})` : ''}: [${s.error.type}] ${s.error.message}`);
  lines.push('stages');
  for (const st of s.stages) {
    lines.push(`  ${(st.result ?? 'running').padEnd(9)} ${st.stage}${st.environment ? ` (${st.environment})` : ''}${st.detail ? ` - ${st.detail}` : ''}`);
  }
  if (s.approvals.decisions.length) {
    lines.push('approvals');
    for (const d of s.approvals.decisions) lines.push(`  ${d.decision.padEnd(9)} ${d.gate} by ${d.approver}${d.comment ? `: ${d.comment}` : ''}`);
  }
  if (s.metrics.length) {
    lines.push('metrics (latest 10)');
    for (const m of s.metrics.slice(-10)) lines.push(`  ${m.phase.padEnd(12)} ${m.metric} = ${m.value ?? 'no data'} (${m.analysis}, ${m.at})`);
  }
  if (s.compensation.length) {
    lines.push('compensation');
    for (const c of s.compensation) lines.push(`  ${c.status.padEnd(9)} ${c.description}${c.error ? ` - ${c.error}` : ''}`);
  }
  const failedNotes = s.notifications.filter((n) => n.status === 'failed');
  if (failedNotes.length) {
    lines.push('notification failures');
    for (const n of failedNotes.slice(-5)) lines.push(`  ${n.event} via ${n.channel}: ${n.error}`);
  }
  lines.push(`ui        ${url}`);
  return lines.join('\n');
}
