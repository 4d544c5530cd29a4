// Release trains: the list, and one train's services in dependency order with their gates.
import { enc, get } from './api';
import { fill, h, table } from './dom';
import { badge, time } from './format';
import { releaseLink } from './releases';

interface TrainRow { trainId: string; status: string; outcome: string; startedAt: string; url: string }
interface Train {
  trainId: string;
  name: string;
  outcome: string;
  rollback: string;
  url: string;
  failure?: { service: string; message: string };
  services: { name: string; dependsOn: string[]; releaseId: string; commit: string; state: string; outcome?: string; message?: string }[];
  gates: { after: string; state: string; approvers: string[]; required: number; approvedBy: string[]; decisions: { decision: string; by: string; at: string; comment?: string; authenticated: boolean }[] }[];
  stages?: Record<string, string>;
}

export function trainsPage(main: HTMLElement): () => void {
  const out = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, h('h1', {}, 'Trains'), out);
  void get<{ trains: TrainRow[] }>('/api/trains').then(
    ({ trains }) =>
      fill(out, trains.length ? table('Release trains', ['Train', 'Outcome', 'Started'], trains.map((t) => [h('a', { href: `#/trains/${enc(t.trainId)}` }, t.trainId), badge(t.outcome || t.status.toLowerCase()), time(t.startedAt)])) : h('p', {}, 'No trains.')),
    (err) => fill(out, h('p', { class: 'error', role: 'alert' }, `Could not load trains: ${err.message}`)),
  );
  return () => undefined;
}

export function trainPage(main: HTMLElement, id: string): () => void {
  const out = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, h('p', {}, h('a', { href: '#/trains' }, '← All trains')), h('h1', {}, id), out);
  void get<Train>(`/api/trains/${enc(id)}`).then(
    (t) =>
      fill(
        out,
        h('p', {}, badge(t.outcome), ` rollback: ${t.rollback} · `, h('a', { href: t.url, target: '_blank', rel: 'noopener noreferrer' }, 'Open in the Temporal UI')),
        t.failure ? h('p', { class: 'error-box' }, `${t.failure.service}: ${t.failure.message}`) : null,
        table(
          'Services in dependency order',
          ['Service', 'Depends on', 'State', 'Release', 'Now', 'Message'],
          t.services.map((s) => [s.name, s.dependsOn.join(', ') || '—', badge(s.state), s.state === 'pending' || s.state === 'skipped' ? '—' : releaseLink(s.releaseId, s.commit.slice(0, 12)), t.stages?.[s.name] ?? '—', s.message ?? '']),
        ),
        t.gates.length
          ? table('Gates', ['After', 'State', 'Approvers', 'Approved by', 'Decisions'], t.gates.map((g) => [g.after, badge(g.state), `${g.approvers.join(', ')} (${g.required} needed)`, g.approvedBy.join(', ') || '—', g.decisions.map((d) => `${d.decision} by ${d.by}${d.authenticated ? '' : ' (unauthenticated)'} ${time(d.at)}${d.comment ? `: ${d.comment}` : ''}`).join('; ') || '—']))
          : null,
      ),
    (err) => fill(out, h('p', { class: 'error', role: 'alert' }, `Could not load the train: ${err.message}`)),
  );
  return () => undefined;
}
