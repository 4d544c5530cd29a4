// Generic JSON webhook: the message and the release fields; Idempotency-Key lets receivers dedupe.
import type { NotificationMessage } from '../message.js';
import { postJson, secretFromEnv } from '../http.js';

export async function sendWebhook(m: NotificationMessage, spec: { urlEnv: string }, releaseId: string, idempotencyKey: string): Promise<void> {
  const body = { event: m.event, releaseId, title: m.title, text: m.text, url: m.url, fields: Object.fromEntries(m.fields.map((f) => [f.label, f.value])), approval: m.approval ?? null };
  await postJson('webhook', secretFromEnv(spec.urlEnv, 'notification webhook URL'), body, { 'idempotency-key': idempotencyKey });
}
