// The releases page: every release with its stage, outcome and canary weight, filtered on the
// search attributes (the filters live in the URL, so a filtered view can be shared), refreshed live.
import { enc, get } from './api';
import { announce, fill, h, table } from './dom';
import { badge, between, duration, time } from './format';
import type { ReleaseRow } from './types';

const FILTERS = [
  { key: 'service', label: 'Service' },
  { key: 'environment', label: 'Environment' },
  { key: 'stage', label: 'Stage' },
  { key: 'outcome', label: 'Outcome', options: ['', 'running', 'succeeded', 'rolled-back', 'rejected', 'aborted', 'failed'] },
  { key: 'train', label: 'Train' },
] as const;

export const REFRESH_MS = 5000;

export function releaseLink(id: string, text: string = id): HTMLAnchorElement {
  return h('a', { href: `#/releases/${enc(id)}` }, text);
}

export function releaseRows(releases: ReleaseRow[], opts: { service?: boolean } = { service: true }) {
  return releases.map((r) => [
    releaseLink(r.releaseId, opts.service ? (r.service ?? r.releaseId) : (r.version ?? r.releaseId)),
    ...(opts.service ? [r.version ?? '—'] : []),
    r.environment ?? '—',
    r.stage ?? '—',
    h('span', {}, badge(r.outcome), r.failureType ? h('span', { class: 'muted' }, ` ${r.failureType}`) : null),
    r.canaryWeight === undefined ? '—' : `${r.canaryWeight}%`,
    time(r.startTime),
    duration(between(r.startTime, r.closeTime)),
  ]);
}

export const RELEASE_HEADERS = ['Service', 'Version', 'Environment', 'Stage', 'Outcome', 'Canary weight', 'Started', 'Duration'];

export function releasesPage(main: HTMLElement, params: URLSearchParams): () => void {
  const status = h('p', { class: 'muted', id: 'list-status' }, 'Loading…');
  const results = h('div', { id: 'release-list' });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter releases' },
    FILTERS.map((f) => {
      const id = `filter-${f.key}`;
      const value = params.get(f.key) ?? '';
      const control =
        'options' in f
          ? h('select', { id, name: f.key }, f.options.map((o) => h('option', { value: o, selected: o === value }, o || 'any')))
          : h('input', { id, name: f.key, type: 'text', value, autocomplete: 'off', spellcheck: 'false' });
      return h('div', { class: 'field' }, h('label', { for: id }, f.label), control);
    }),
    h('div', { class: 'field' }, h('label', { for: 'filter-running' }, h('input', { id: 'filter-running', name: 'running', type: 'checkbox', checked: params.get('running') === 'true' }), ' Running only')),
    h('button', { type: 'submit' }, 'Apply filters'),
    h('button', { type: 'reset', class: 'secondary' }, 'Clear'),
  );
  const apply = (e: Event) => {
    e.preventDefault();
    const q = new URLSearchParams();
    const data = new FormData(form);
    for (const f of FILTERS) {
      const v = String(data.get(f.key) ?? '').trim();
      if (v) q.set(f.key, v);
    }
    if (data.get('running')) q.set('running', 'true');
    location.hash = `#/${q.size ? `?${q}` : ''}`;
  };
  form.addEventListener('submit', apply);
  form.addEventListener('reset', () => setTimeout(() => (location.hash = '#/'), 0));
  fill(main, h('h1', {}, 'Releases'), form, status, results);

  let stopped = false;
  let timer: number | undefined;
  const load = async () => {
    const q = new URLSearchParams();
    for (const f of FILTERS) if (params.get(f.key)) q.set(f.key, params.get(f.key)!);
    if (params.get('running') === 'true') q.set('running', 'true');
    try {
      const { releases, readAt } = await get<{ releases: ReleaseRow[]; readAt: string }>(`/api/releases${q.size ? `?${q}` : ''}`);
      if (stopped) return;
      fill(
        results,
        releases.length
          ? table(`Releases (${releases.length})`, RELEASE_HEADERS, releaseRows(releases), { class: 'releases' })
          : h('p', {}, 'No release matches these filters.'),
      );
      status.textContent = `${releases.length} release${releases.length === 1 ? '' : 's'}, updated ${time(readAt)}; refreshes every ${REFRESH_MS / 1000}s.`;
      status.classList.remove('error');
    } catch (err) {
      if (stopped) return;
      status.textContent = `Could not load releases: ${(err as Error).message}`;
      status.classList.add('error');
      announce(status.textContent);
    }
    if (!stopped) timer = window.setTimeout(load, REFRESH_MS);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
