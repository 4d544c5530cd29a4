// The release page: what the release reports about itself, refreshed while it runs.
import { actionBar } from './actions';
import { ApiError, enc, get, type Session } from './api';
import { announce, fill, h } from './dom';
import { badge, between, duration, time } from './format';
import { approvals, canaryWeights, clusters, compensation, judgements, measurements, timeline } from './release-sections';
import { REFRESH_MS } from './releases';
import type { ReleaseView } from './types';

export function releasePage(main: HTMLElement, id: string, session: Session): () => void {
  const result = h('div', { class: 'action-result' });
  const body = h('div', {});
  fill(main, h('p', {}, h('a', { href: '#/' }, '← All releases')), h('h1', {}, id), result, body);
  let stopped = false;
  let timer: number | undefined;
  let first = true;

  const load = async () => {
    clearTimeout(timer);
    // Never redraw under an open confirmation dialog.
    if (document.querySelector('dialog[open]')) {
      timer = window.setTimeout(load, 1000);
      return;
    }
    let view: ReleaseView;
    try {
      view = await get<ReleaseView>(`/api/releases/${enc(id)}`);
    } catch (err) {
      if (stopped) return;
      const msg = err instanceof ApiError && err.status === 404 ? `No release with ID ${id}.` : `Could not load the release: ${(err as Error).message}`;
      fill(body, h('p', { class: 'error', role: 'alert' }, msg));
      if (!(err instanceof ApiError && err.status === 404)) timer = window.setTimeout(load, REFRESH_MS);
      return;
    }
    if (stopped) return;
    render(view);
    if (first) announce(`Release ${view.status?.service ?? id} loaded`);
    first = false;
    if (view.execution === 'RUNNING') timer = window.setTimeout(load, REFRESH_MS);
  };

  function render(view: ReleaseView) {
    const s = view.status;
    const heading = main.querySelector('h1')!;
    fill(heading, s ? `${s.service} ${s.version} ` : `${id} `, badge(view.outcome));
    const facts: [string, Node | string][] = [
      ['Release', view.releaseId],
      ['Stage', s ? `${s.stage}${s.environment ? ` in ${s.environment}` : ''}` : '—'],
      ['Environments', s?.environments.join(', ') || '—'],
      ['Commit', s ? s.commit.slice(0, 12) : '—'],
      ['Triggered by', s ? `${s.trigger.by} (${s.trigger.kind}${s.trigger.authenticated === true ? ', verified' : s.trigger.authenticated === false ? ', unauthenticated' : ''})` : '—'],
      ['Started', time(view.startTime)],
      ['Duration', duration(between(view.startTime, view.closeTime))],
      ['Temporal', h('a', { href: view.url, target: '_blank', rel: 'noopener noreferrer' }, 'Open the workflow in the Temporal UI')],
    ];
    if (view.train) facts.push(['Train', h('a', { href: `#/trains/${enc(view.train)}` }, view.train)]);
    if (s?.paused) facts.push(['Paused', `by ${s.paused.by} since ${time(s.paused.at)}${s.paused.reason ? `: ${s.paused.reason}` : ''}`]);
    if (s?.canary) facts.push(['Canary', `${s.canary.environment}: step ${s.canary.step + 1} of ${s.canary.steps}, ${s.canary.weight}% — ${s.canary.description}`]);
    fill(
      body,
      actionBar({ releaseId: view.releaseId, status: s, execution: view.execution, session, onDone: () => void load(), result }),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      view.message || s?.error ? h('p', { class: 'error-box' }, s?.error ? `${s.error.type} in ${s.error.stage}${s.error.environment ? ` (${s.error.environment})` : ''}: ${s.error.message}` : view.message!) : null,
      s ? [timeline(s), canaryWeights(s), measurements(s, view.plan), judgements(s, view.plan), clusters(s), approvals(s), compensation(s)] : h('p', {}, 'This release ended without a status (terminated outside Shipyard).'),
    );
  }

  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
