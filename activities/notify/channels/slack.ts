// Slack incoming webhook: Block Kit with the release fields, a link to the Temporal UI, and on
// waiting-approval Approve/Reject buttons handled by the gateway's interactivity endpoint.
import type { NotificationMessage } from '../message.js';
import { postJson, secretFromEnv } from '../http.js';

export function slackBlocks(m: NotificationMessage) {
  const blocks: object[] = [
    { type: 'header', text: { type: 'plain_text', text: m.title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: m.text || ' ' }, fields: m.fields.map((f) => ({ type: 'mrkdwn', text: `*${f.label}*\n${f.value}` })) },
  ];
  const elements: object[] = [{ type: 'button', text: { type: 'plain_text', text: 'Open in Temporal UI' }, url: m.url, action_id: 'shipyard_open' }];
  if (m.approval) {
    for (const decision of ['approve', 'reject'] as const) {
      elements.push({
        type: 'button',
        text: { type: 'plain_text', text: decision === 'approve' ? 'Approve' : 'Reject' },
        style: decision === 'approve' ? 'primary' : 'danger',
        action_id: `shipyard_${decision}`,
        value: JSON.stringify({ releaseId: m.approval.releaseId, gate: m.approval.gate, decision }),
      });
    }
  }
  blocks.push({ type: 'actions', block_id: 'shipyard', elements });
  return { text: m.title, blocks };
}

export async function sendSlack(m: NotificationMessage, spec: { webhookEnv: string }): Promise<void> {
  await postJson('slack', secretFromEnv(spec.webhookEnv, 'Slack incoming webhook URL'), slackBlocks(m));
}
