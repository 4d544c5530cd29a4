// DORA metrics as Prometheus gauges, computed at scrape time (prom-client's async collect()) from
// `read` (readDora over the gateway's client). One read serves every gauge of a scrape and is kept
// for 60 s, so scrapes do not hammer Temporal (after that, served while the next read runs); a failed read is shipyard_dora_up 0 and no DORA
// samples, never a failed scrape (the registry's other metrics are still served).
import { Gauge, type Registry } from 'prom-client';
import type { DoraResult } from './dora-source.js';
import type { DoraRow } from './dora.js';

export interface DoraGaugeOptions {
  /** How long a read (or a failure) is served before the next scrape reads again; default 60 s. */
  ttlMs?: number;
  /** The clock (tests). */
  now?: () => number;
  /** Told about a failed read (the gateway logs it); the scrape goes on. */
  onError?: (err: unknown) => void;
}

export const DORA_METRIC_NAMES = [
  'shipyard_dora_deployments',
  'shipyard_dora_deployment_frequency_per_day',
  'shipyard_dora_lead_time_seconds',
  'shipyard_dora_change_failure_ratio',
  'shipyard_dora_time_to_restore_seconds',
  'shipyard_dora_window_days',
  'shipyard_dora_up',
] as const;

type Read = { ok: true; result: DoraResult } | { ok: false };

/** Adds the DORA gauges to `registry`; returns them (tests, or a process that wants to unregister). */
export function registerDoraGauges(registry: Registry, read: () => Promise<DoraResult>, opts: DoraGaugeOptions = {}) {
  const ttlMs = opts.ttlMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let last: Read | undefined;
  let inflight: Promise<Read> | undefined;
  let readAt = -Infinity;
  // Every gauge of one scrape (collected concurrently) shares one read. Once a read has finished, a
  // scrape never waits for the next one: it is served the last answer while a fresh read runs
  // (a first read over many releases can take seconds; Prometheus scrapes time out).
  const current = (): Promise<Read> => {
    if (!inflight && now() - readAt >= ttlMs) {
      readAt = now();
      inflight = read()
        .then(
          (result): Read => ({ ok: true, result }),
          (err): Read => {
            opts.onError?.(err);
            return { ok: false };
          },
        )
        .then((r) => {
          last = r;
          inflight = undefined;
          return r;
        });
    }
    return last ? Promise.resolve(last) : inflight!;
  };

  const perRow = (name: string, help: string, value: (r: DoraRow) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['service', 'environment'] as const,
      registers: [registry],
      async collect() {
        const r = await current();
        this.reset();
        if (!r.ok) return;
        for (const row of r.result.rows) {
          const v = value(row);
          if (v !== null) this.set({ service: row.service, environment: row.environment }, v);
        }
      },
    });

  const deployments = perRow('shipyard_dora_deployments', 'Releases that succeeded and promoted to the environment in the window', (r) => r.deployments);
  const frequency = perRow('shipyard_dora_deployment_frequency_per_day', 'Deployments per day over the window', (r) => r.deploymentsPerDay);
  const leadTime = new Gauge({
    name: 'shipyard_dora_lead_time_seconds',
    help: "Lead time for changes: commit time to promotion, median (quantile 0.5) and p90 over the window's deployments with a commit time",
    labelNames: ['service', 'environment', 'quantile'] as const,
    registers: [registry],
    async collect() {
      const r = await current();
      this.reset();
      if (!r.ok) return;
      for (const row of r.result.rows) {
        const labels = { service: row.service, environment: row.environment };
        if (row.leadTime.medianSeconds !== null) this.set({ ...labels, quantile: '0.5' }, row.leadTime.medianSeconds);
        if (row.leadTime.p90Seconds !== null) this.set({ ...labels, quantile: '0.9' }, row.leadTime.p90Seconds);
      }
    },
  });
  const failureRatio = perRow('shipyard_dora_change_failure_ratio', 'Failed changes / (deployments + failed changes) in the window; absent without changes', (r) => r.changeFailureRate);
  const timeToRestore = perRow('shipyard_dora_time_to_restore_seconds', 'Median time from a failure streak to the next deployment, over the streaks restored in the window', (r) => r.timeToRestore.medianSeconds);
  const windowDays = new Gauge({
    name: 'shipyard_dora_window_days',
    help: 'The window the DORA metrics are computed over, in days',
    registers: [registry],
    // A label-less gauge always has a sample: after a failed read it keeps the last window read (0 before any).
    async collect() {
      const r = await current();
      if (r.ok) this.set(r.result.window.days);
    },
  });
  const up = new Gauge({
    name: 'shipyard_dora_up',
    help: '1 when the last read of the DORA metrics from Temporal succeeded, 0 when it failed',
    registers: [registry],
    async collect() {
      this.set((await current()).ok ? 1 : 0);
    },
  });
  return { deployments, frequency, leadTime, failureRatio, timeToRestore, windowDays, up };
}
