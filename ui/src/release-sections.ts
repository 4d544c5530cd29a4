// The sections of a release page, each from the status the release reported: stage timeline,
// canary weight, measurements against thresholds, judge scores, clusters, approvals, compensation.
import { chart } from './charts';
import { h, table, type Child } from './dom';
import { badge, between, duration, num, time } from './format';
import type { EnvironmentPlan, ReleaseStatus } from './types';

const base = (env: string) => env.split('@')[0];
const section = (id: string, title: string, ...body: Child[]) => h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...body);

/** Groups items by a key, keeping first-seen order. */
function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    if (!out.has(k)) out.set(k, []);
    out.get(k)!.push(t);
  }
  return out;
}

export function timeline(s: ReleaseStatus, now = Date.now()): HTMLElement {
  const start = Date.parse(s.startedAt);
  const end = s.endedAt ? Date.parse(s.endedAt) : now;
  const span = Math.max(1, end - start);
  const bars = h(
    'ol',
    { class: 'timeline', 'aria-hidden': 'true' },
    s.stages.map((st) => {
      const from = Date.parse(st.startedAt) - start;
      const len = (st.endedAt ? Date.parse(st.endedAt) : now) - Date.parse(st.startedAt);
      const bar = h('span', { class: `bar result-${st.result ?? 'running'}` });
      bar.style.marginLeft = `${(100 * from) / span}%`;
      bar.style.width = `${Math.max(0.5, (100 * len) / span)}%`;
      return h('li', {}, h('span', { class: 'label' }, `${st.stage}${st.environment ? ` · ${st.environment}` : ''}`), h('span', { class: 'track' }, bar));
    }),
  );
  return section(
    'sec-timeline',
    'Stages',
    bars,
    table(
      'Stage timeline',
      ['Stage', 'Environment', 'Started', 'Duration', 'Result', 'Detail'],
      s.stages.map((st) => [st.stage, st.environment ?? '—', time(st.startedAt), duration(between(st.startedAt, st.endedAt, now)), st.result ?? (st.endedAt ? '—' : 'running'), st.detail ?? '']),
      { class: 'stages' },
    ),
  );
}

export function canaryWeights(s: ReleaseStatus): HTMLElement | null {
  const history = s.canaryHistory ?? [];
  if (!history.length) return null;
  return section(
    'sec-weight',
    'Canary weight',
    [...groupBy(history, (c) => c.environment)].map(([env, changes]) =>
      chart({
        title: `Canary weight — ${env}`,
        name: `weight-${env}`,
        yLabel: 'canary %',
        series: { label: 'canary weight', points: changes.map((c) => [Date.parse(c.at), c.weight]) },
        stepped: true,
        yRange: [0, 100],
        notes: changes.map((c) => c.description),
      }),
    ),
  );
}

export function measurements(s: ReleaseStatus, plan: EnvironmentPlan[]): HTMLElement | null {
  if (!s.metrics.length) return null;
  const groups = groupBy(s.metrics, (m) => `${m.environment}\u0000${m.metric}`);
  return section(
    'sec-metrics',
    'Metrics against thresholds',
    [...groups].map(([key, ms]) => {
      const [env, metric] = key.split('\u0000');
      const spec = plan.find((p) => p.name === base(env))?.canary?.metrics.find((m) => m.name === metric);
      const lines = [
        ...(spec?.min !== undefined ? [{ label: `min ${spec.min}`, value: spec.min }] : []),
        ...(spec?.max !== undefined ? [{ label: `max ${spec.max}`, value: spec.max }] : []),
      ];
      return chart({
        title: `${metric} — ${env}`,
        name: `metric-${env}-${metric}`,
        yLabel: metric,
        series: { label: metric, points: ms.map((m) => [Date.parse(m.at), m.value]) },
        lines,
        notes: ms.map((m) => `${m.phase}${m.dryRun ? ' (dry run)' : ''}${m.message ? `: ${m.message}` : ''} · ${m.analysis}`),
      });
    }),
    s.analyses.length
      ? table('Analyses', ['Environment', 'Analysis', 'Metrics', 'Phase', 'Message'], s.analyses.map((a) => [a.environment, a.analysis, a.metrics.join(', '), badge(a.phase), a.message ?? '']))
      : null,
  );
}

export function judgements(s: ReleaseStatus, plan: EnvironmentPlan[]): HTMLElement | null {
  const all = s.judgements ?? [];
  if (!all.length) return null;
  return section(
    'sec-judge',
    'Statistical judge',
    [...groupBy(all, (j) => j.environment)].map(([env, js]) => {
      const judge = plan.find((p) => p.name === base(env))?.canary?.judge;
      return h(
        'div',
        {},
        chart({
          title: `Judge score — ${env}`,
          name: `judge-${env}`,
          yLabel: 'score',
          series: { label: 'score', points: js.map((j) => [Date.parse(j.at), j.score]) },
          lines: judge ? [{ label: `pass ${judge.pass}`, value: judge.pass }, { label: `marginal ${judge.marginal}`, value: judge.marginal }] : [],
          yRange: [0, 100],
          notes: js.map((j) => `${j.step}: ${j.verdict}${j.action ? ` (${j.action})` : ''}`),
        }),
        js.map((j) =>
          table(
            `${j.step} in ${env}: score ${j.score}, ${j.verdict} — ${j.reason}`,
            ['Metric', 'Verdict', 'p', 'Effect (canary/baseline)', 'Canary n', 'Baseline n', 'Weight'],
            j.metrics.map((m) => [`${m.metric}${m.critical ? ' (critical)' : ''}`, badge(m.verdict), num(m.p), num(m.effect), m.canary.n, m.baseline.n, m.weight]),
          ),
        ),
      );
    }),
  );
}

export function clusters(s: ReleaseStatus): HTMLElement | null {
  if (!s.clusters?.length) return null;
  return section(
    'sec-clusters',
    'Waves',
    table(
      'Clusters by wave',
      ['Wave', 'Environment', 'Cluster', 'Stage', 'Outcome', 'Canary weight', 'Detail'],
      [...s.clusters].sort((a, b) => a.wave - b.wave).map((c) => [c.wave, c.environment, c.cluster, c.stage, badge(c.outcome), c.canaryWeight === undefined ? '—' : `${c.canaryWeight}%`, c.detail ?? '']),
    ),
  );
}

export function approvals(s: ReleaseStatus): HTMLElement {
  const p = s.approvals.pending;
  return section(
    'sec-approvals',
    'Approvals',
    p ? h('p', { class: 'pending' }, `Waiting at gate ${p.gate} (${p.environment}) since ${time(p.openedAt)}: ${p.approvedBy.length} of ${p.required} from ${p.approvers.join(', ')}${p.fourEyes ? '; four eyes' : ''}; times out ${time(p.timeoutAt)}.`) : null,
    s.approvals.decisions.length
      ? table(
          'Decisions',
          ['Gate', 'Decision', 'By', 'When', 'Comment', 'Via', 'Identity'],
          s.approvals.decisions.map((d) => [d.gate, badge(d.decision), d.approver, time(d.at), d.comment ?? '', d.via ?? '', d.authenticated === false ? 'unauthenticated' : d.authenticated ? 'verified' : '—']),
          { class: 'decisions' },
        )
      : h('p', { class: 'muted' }, 'No decisions recorded.'),
    s.refusals?.length ? table('Refused decisions', ['Action', 'By', 'When', 'Why'], s.refusals.map((r) => [r.action, r.by, time(r.at), r.reason])) : null,
  );
}

export function compensation(s: ReleaseStatus): HTMLElement {
  return section(
    'sec-compensation',
    'Compensation log',
    s.compensation.length
      ? table(
          'Undo steps and what each read back',
          ['#', 'Step', 'Environment', 'Status', 'What was read back'],
          s.compensation.map((c) => [c.id, c.description, c.environment ?? '—', badge(c.status), c.error ?? c.detail ?? '']),
          { class: 'compensation' },
        )
      : h('p', { class: 'muted' }, 'Nothing to undo recorded.'),
  );
}
