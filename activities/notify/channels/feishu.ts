// Feishu (Lark) custom bot: an interactive card with the release fields, a link to the Temporal UI,
// and on waiting-approval Approve/Reject buttons whose callbacks reach the gateway.
import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { NotificationMessage } from '../message.js';
import { parseBody, postJson, secretFromEnv } from '../http.js';

const COLORS = { blue: 'blue', green: 'green', red: 'red', orange: 'orange', grey: 'grey' } as const;
// Codes that mean "slow down" rather than "this request is wrong".
const RETRYABLE_CODES = new Set([11232, 9499]);

export function feishuCard(m: NotificationMessage) {
  const button = (text: string, type: string, extra: object) => ({ tag: 'button', text: { tag: 'plain_text', content: text }, type, ...extra });
  const actions = [button('Open in Temporal UI', 'default', { url: m.url })];
  if (m.approval) {
    for (const decision of ['approve', 'reject'] as const) {
      actions.push(
        button(decision === 'approve' ? 'Approve' : 'Reject', decision === 'approve' ? 'primary' : 'danger', {
          value: { releaseId: m.approval.releaseId, gate: m.approval.gate, decision },
        }),
      );
    }
  }
  return {
    config: { wide_screen_mode: true },
    header: { title: { tag: 'plain_text', content: m.title }, template: COLORS[m.color] },
    elements: [
      { tag: 'div', text: { tag: 'lark_md', content: m.text } },
      { tag: 'div', fields: m.fields.map((f) => ({ is_short: true, text: { tag: 'lark_md', content: `**${f.label}**\n${f.value}` } })) },
      { tag: 'action', actions },
    ],
  };
}

export async function sendFeishu(m: NotificationMessage, spec: { webhookEnv: string; secretEnv?: string }): Promise<void> {
  const url = secretFromEnv(spec.webhookEnv, 'Feishu bot webhook URL');
  const body: Record<string, unknown> = { msg_type: 'interactive', card: feishuCard(m) };
  if (spec.secretEnv) {
    const secret = secretFromEnv(spec.secretEnv, 'Feishu bot signing secret');
    const timestamp = String(Math.floor(Date.now() / 1000));
    body.timestamp = timestamp;
    body.sign = createHmac('sha256', `${timestamp}\n${secret}`).update('').digest('base64');
  }
  const res = parseBody(await postJson('feishu', url, body));
  const code = Number(res.code ?? res.StatusCode ?? 0);
  if (code !== 0) {
    const message = `feishu: code ${code} ${String(res.msg ?? res.StatusMessage ?? '')}`;
    throw RETRYABLE_CODES.has(code) ? ApplicationFailure.retryable(message, 'RateLimited') : ApplicationFailure.nonRetryable(message, 'RequestRefused');
  }
}
