// Alertmanager's webhook payload (version 4) and what each alert in it asks of Shipyard: pure, no I/O.
// A firing alert that names a service and an environment (by the configured labels) targets the
// releases of that service in their canary stage there; everything else is ignored, with the why.
// https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
import { z } from 'zod';
import { KEYWORD } from '../list.js';

const Labels = z.record(z.string(), z.string());

const AlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(128),
});

/** Alertmanager adds fields over time; only these are required (unknown ones are kept and ignored). */
const PayloadSchema = z.object({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  alerts: z.array(AlertSchema).max(1000),
});

export type Alert = z.output<typeof AlertSchema>;
export type AlertmanagerPayload = z.output<typeof PayloadSchema>;

/** The payload, or why it is not Alertmanager's webhook payload (a 400). */
export function parseAlertmanagerPayload(body: unknown): { ok: true; payload: AlertmanagerPayload } | { ok: false; detail: string } {
  const result = PayloadSchema.safeParse(body);
  if (result.success) return { ok: true, payload: result.data };
  const first = result.error.issues[0];
  return { ok: false, detail: `not an Alertmanager webhook payload (version "4"): ${first.path.join('.') || '(body)'}: ${first.message}` };
}

export interface LabelMatchers {
  service: string;
  environment: string;
}

export interface AlertTarget {
  service: string;
  environment: string;
}

/** One alert's intent: abort the canaries of a (service, environment), or nothing and why. */
export type AlertIntent = { abort: AlertTarget; reason: string } | { ignored: string };

const REASON_MAX = 2000;

/**
 * What one alert asks for. Resolved alerts and alerts without both labels ask nothing; label values a
 * visibility query cannot hold are refused here rather than quoted into one.
 */
export function alertIntent(alert: Alert, matchers: LabelMatchers): AlertIntent {
  if (alert.status !== 'firing') return { ignored: 'resolved' };
  const service = alert.labels[matchers.service];
  const environment = alert.labels[matchers.environment];
  const missing = [!service && matchers.service, !environment && matchers.environment].filter(Boolean);
  if (missing.length) return { ignored: `no ${missing.join(' or ')} label` };
  if (!KEYWORD.test(service) || !KEYWORD.test(environment)) return { ignored: `label value not usable as a release filter (${KEYWORD})` };
  return { abort: { service, environment }, reason: abortReason(alert) };
}

/** The reason the release records: alert name, its summary (or description), and its fingerprint. */
export function abortReason(alert: Alert): string {
  const name = alert.labels.alertname ?? 'unnamed alert';
  const full = alert.annotations.summary ?? alert.annotations.description;
  // The annotation is cut, never the name or the fingerprint (the reason holds at most 2000 characters).
  const room = REASON_MAX - 64 - name.length - alert.fingerprint.length;
  const text = full && full.length > room ? `${full.slice(0, Math.max(0, room - 1))}…` : full;
  return `alert ${name.slice(0, 200)} firing${text ? `: ${text}` : ''} (fingerprint ${alert.fingerprint})`;
}
