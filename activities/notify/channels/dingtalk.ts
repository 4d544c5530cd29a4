// DingTalk custom robot: an ActionCard with the release fields and a link to the Temporal UI.
// Approvals in DingTalk go through the outgoing robot command ("approve <release ID>") the card names.
import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { NotificationMessage } from '../message.js';
import { parseBody, postJson, secretFromEnv } from '../http.js';

const RETRYABLE = new Set([130101, -1]); // sending too fast; system busy

export function dingtalkActionCard(m: NotificationMessage) {
  const lines = [`### ${m.title}`, '', m.text, '', ...m.fields.map((f) => `- **${f.label}**: ${f.value}`)];
  if (m.approval) lines.push('', `Reply \`approve ${m.approval.releaseId} gate=${m.approval.gate}\` or \`reject ...\` to decide.`);
  return {
    msgtype: 'actionCard',
    actionCard: { title: m.title, text: lines.join('\n'), btnOrientation: '1', btns: [{ title: 'Open in Temporal UI', actionURL: m.url }] },
  };
}

export async function sendDingtalk(m: NotificationMessage, spec: { webhookEnv: string; secretEnv?: string }): Promise<void> {
  let url = secretFromEnv(spec.webhookEnv, 'DingTalk robot webhook URL');
  if (spec.secretEnv) {
    const secret = secretFromEnv(spec.secretEnv, 'DingTalk robot signing secret');
    const timestamp = String(Date.now());
    const sign = createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
    url += `${url.includes('?') ? '&' : '?'}timestamp=${timestamp}&sign=${encodeURIComponent(sign)}`;
  }
  const res = parseBody(await postJson('dingtalk', url, dingtalkActionCard(m)));
  const code = Number(res.errcode ?? 0);
  if (code !== 0) {
    const message = `dingtalk: errcode ${code} ${String(res.errmsg ?? '')}`;
    throw RETRYABLE.has(code) ? ApplicationFailure.retryable(message, 'RateLimited') : ApplicationFailure.nonRetryable(message, 'RequestRefused');
  }
}
