// The notify activity: render the event for its channel, send it once per idempotency key, through
// the endpoint's circuit breaker. Failures are the workflow's to record; they never fail a release.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { NotifyInput } from '../types.js';
import { EndpointBreakers, DEFAULT_BREAKER, type BreakerSettings } from './breaker.js';
import { buildMessage, escapeHtml, escapeMarkdown, escapeSlack, noEscape, type Escape } from './message.js';
import { SentLog } from './sent-log.js';
import { sendDingtalk } from './channels/dingtalk.js';
import { sendEmail } from './channels/email.js';
import { sendFeishu } from './channels/feishu.js';
import { sendSlack } from './channels/slack.js';
import { sendWebhook } from './channels/webhook.js';

export interface NotifySettings {
  uiUrl: string;
  namespace: string;
  stateDir: string;
  breaker: BreakerSettings;
}

export function notifySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): NotifySettings {
  return {
    uiUrl: env.SHIPYARD_UI_URL || 'http://localhost:8233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    stateDir: env.SHIPYARD_STATE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'shipyard', 'state'),
    breaker: DEFAULT_BREAKER,
  };
}

/** The channel kind and the endpoint it names (the env var), e.g. feishu:FEISHU_WEBHOOK. */
export function channelKey(channel: NotifyInput['channel']): string {
  if (channel.feishu) return `feishu:${channel.feishu.webhookEnv}`;
  if (channel.dingtalk) return `dingtalk:${channel.dingtalk.webhookEnv}`;
  if (channel.slack) return `slack:${channel.slack.webhookEnv}`;
  if (channel.webhook) return `webhook:${channel.webhook.urlEnv}`;
  return `email:${channel.email?.smtpUrlEnv}`;
}

export function createNotifier(settings: NotifySettings = notifySettingsFromEnv()) {
  const sent = new SentLog(join(settings.stateDir, 'notifications'));
  const breakers = new EndpointBreakers(settings.breaker);
  async function notify(input: NotifyInput): Promise<void> {
    if (sent.has(input.idempotencyKey)) return; // a retry of a delivered notification
    const { channel } = input;
    const escape: Escape = channel.slack ? escapeSlack : channel.feishu || channel.dingtalk ? escapeMarkdown : channel.email ? escapeHtml : noEscape;
    const message = buildMessage(input, settings.uiUrl, settings.namespace, escape);
    await breakers.run(channelKey(channel), async () => {
      if (channel.feishu) await sendFeishu(message, channel.feishu);
      else if (channel.dingtalk) await sendDingtalk(message, channel.dingtalk);
      else if (channel.slack) await sendSlack(message, channel.slack);
      else if (channel.webhook) await sendWebhook(message, channel.webhook, input.releaseId, input.idempotencyKey);
      else if (channel.email) await sendEmail(message, channel.email, input.idempotencyKey);
    });
    sent.record(input.idempotencyKey);
  }
  return { notify, breakers };
}
