// Services: DORA metrics per service and environment over a window, and each service's recent releases.
import { ApiError, enc, get } from './api';
import { fill, h, table } from './dom';
import { duration, percent, time } from './format';
import { RELEASE_HEADERS, releaseRows } from './releases';
import type { DoraResult, DoraRow, ReleaseRow } from './types';

const WINDOWS = ['7d', '30d', '90d'];

function doraTable(rows: DoraRow[], caption: string): HTMLTableElement {
  return table(
    caption,
    ['Service', 'Environment', 'Deployments', 'Per day', 'Lead time (median / p90)', 'Change failure rate', 'Time to restore (median)'],
    rows.map((r) => [
      h('a', { href: `#/services/${enc(r.service)}` }, r.service),
      r.environment,
      r.deployments,
      r.deploymentsPerDay.toFixed(2),
      `${duration(r.leadTime.medianSeconds === null ? null : r.leadTime.medianSeconds * 1000)} / ${duration(r.leadTime.p90Seconds === null ? null : r.leadTime.p90Seconds * 1000)}${r.leadTime.missingCommitTime ? ` (${r.leadTime.measured} of ${r.leadTime.measured + r.leadTime.missingCommitTime} with a commit time)` : ''}`,
      `${percent(r.changeFailureRate)} (${r.failedChanges} of ${r.changes})`,
      `${duration(r.timeToRestore.medianSeconds === null ? null : r.timeToRestore.medianSeconds * 1000)}${r.timeToRestore.openSince ? `; failing since ${time(r.timeToRestore.openSince)}` : ''}`,
    ]),
    { class: 'dora' },
  );
}

function windowPicker(current: string, href: (w: string) => string): HTMLElement {
  return h(
    'nav',
    { 'aria-label': 'DORA window', class: 'window' },
    'Window: ',
    WINDOWS.map((w) => [h('a', { href: href(w), 'aria-current': w === current ? 'page' : undefined }, w), ' ']),
  );
}

async function dora(params: URLSearchParams): Promise<DoraResult | string> {
  try {
    return await get<DoraResult>(`/api/dora?${params}`);
  } catch (err) {
    return err instanceof ApiError && err.status === 404 ? 'DORA metrics are not enabled on this gateway.' : `Could not compute DORA metrics: ${(err as Error).message}`;
  }
}

export function servicesPage(main: HTMLElement, params: URLSearchParams): () => void {
  const win = WINDOWS.includes(params.get('window') ?? '') ? params.get('window')! : '30d';
  const out = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, h('h1', {}, 'Services'), windowPicker(win, (w) => `#/services?window=${w}`), out);
  void (async () => {
    const result = await dora(new URLSearchParams({ window: win }));
    if (typeof result === 'string') return fill(out, h('p', { class: 'error', role: 'alert' }, result));
    fill(
      out,
      result.rows.length ? doraTable(result.rows, `DORA metrics over ${win} (${result.releasesRead} releases read${result.truncated ? ', truncated' : ''})`) : h('p', {}, `No release ended in the last ${win}.`),
    );
  })();
  return () => undefined;
}

export function servicePage(main: HTMLElement, service: string, params: URLSearchParams): () => void {
  const win = WINDOWS.includes(params.get('window') ?? '') ? params.get('window')! : '30d';
  const metrics = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const recent = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(
    main,
    h('p', {}, h('a', { href: '#/services' }, '← All services')),
    h('h1', {}, service),
    h('h2', {}, 'DORA metrics'),
    windowPicker(win, (w) => `#/services/${enc(service)}?window=${w}`),
    metrics,
    h('h2', {}, 'Recent releases'),
    recent,
  );
  void (async () => {
    const result = await dora(new URLSearchParams({ window: win, service }));
    if (typeof result === 'string') fill(metrics, h('p', { class: 'error', role: 'alert' }, result));
    else fill(metrics, result.rows.length ? doraTable(result.rows, `DORA metrics of ${service} over ${win}`) : h('p', {}, `No release of ${service} ended in the last ${win}.`));
  })();
  void (async () => {
    try {
      const { releases } = await get<{ releases: ReleaseRow[] }>(`/api/releases?service=${enc(service)}&limit=20`);
      fill(recent, releases.length ? table(`Recent releases of ${service}`, RELEASE_HEADERS, releaseRows(releases)) : h('p', {}, 'No releases.'));
    } catch (err) {
      fill(recent, h('p', { class: 'error', role: 'alert' }, `Could not load releases: ${(err as Error).message}`));
    }
  })();
  return () => undefined;
}
