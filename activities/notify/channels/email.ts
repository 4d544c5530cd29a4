// Email over SMTP (nodemailer). The Message-ID derives from the idempotency key, so mail systems
// can also drop a duplicate.
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import { ApplicationFailure } from '@temporalio/common';
import { escapeHtml, type NotificationMessage } from '../message.js';
import { secretFromEnv } from '../http.js';
import { checkEgress } from '../../egress.js';

export async function sendEmail(m: NotificationMessage, spec: { to: string[]; from: string; smtpUrlEnv: string }, idempotencyKey: string): Promise<void> {
  const smtpUrl = secretFromEnv(spec.smtpUrlEnv, 'SMTP URL');
  checkEgress(smtpUrl, 'email');
  const transport = nodemailer.createTransport(smtpUrl, { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 });
  const rows = m.fields.map((f) => `<tr><th align="left">${escapeHtml(f.label)}</th><td>${f.value}</td></tr>`).join('');
  try {
    await transport.sendMail({
      from: spec.from,
      to: spec.to,
      subject: m.title,
      messageId: `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@shipyard>`,
      text: `${m.text}\n\n${m.fields.map((f) => `${f.label}: ${f.value}`).join('\n')}\n\n${m.url}`,
      html: `<p>${m.text}</p><table>${rows}</table><p><a href="${escapeHtml(m.url)}">Open in Temporal UI</a></p>`,
    });
  } catch (err) {
    const e = err as { responseCode?: number; message: string };
    if (e.responseCode && e.responseCode >= 500) {
      throw ApplicationFailure.nonRetryable(`smtp: ${e.message}`, 'RequestRefused');
    }
    throw ApplicationFailure.retryable(`smtp: ${e.message}`, 'Unreachable');
  } finally {
    transport.close();
  }
}
