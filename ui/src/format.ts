// How times, durations and outcomes read on the page.
import { h } from './dom';

export function duration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs}h ${m % 60}m`;
  return `${Math.floor(hrs / 24)}d ${hrs % 24}h`;
}

export function between(from: string | undefined, to: string | undefined, now = Date.now()): number | undefined {
  if (!from) return undefined;
  return (to ? Date.parse(to) : now) - Date.parse(from);
}

export function time(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** An outcome as a coloured badge whose text says it (colour is never the only signal). */
export function badge(outcome: string | undefined): HTMLElement {
  const o = outcome ?? 'unknown';
  return h('span', { class: `badge badge-${o.replace(/[^a-z-]/g, '')}` }, o);
}

export function percent(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${Math.round(v * 1000) / 10}%`;
}

export function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined) return '—';
  return Number.isInteger(v) ? String(v) : v.toPrecision(digits);
}
