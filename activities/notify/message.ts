// What a notification says, independent of the channel: a title, a text, the release's fields and
// a link to it in the Temporal UI. Templates are Mustache, rendered with the channel's own escaping
// (Slack mrkdwn, Lark markdown, HTML for email), never by string concatenation.
import Mustache from 'mustache';
import type { NotifyInput } from '../types.js';

export interface NotificationMessage {
  event: string;
  title: string;
  text: string;
  fields: { label: string; value: string }[];
  url: string;
  /** Present on waiting-approval: what the Approve/Reject buttons carry. */
  approval?: { releaseId: string; gate: string };
  color: 'blue' | 'green' | 'red' | 'orange' | 'grey';
}

const DEFAULTS: Record<string, { title: string; text: string; color: NotificationMessage['color'] }> = {
  started: { title: '{{service}} {{version}}: release started', text: 'Releasing commit {{commit}} to {{environments}}.', color: 'blue' },
  'waiting-approval': { title: '{{service}} {{version}}: approval needed', text: '{{gate}} waits for {{approvers}}.', color: 'orange' },
  deployed: { title: '{{service}} {{version}}: deployed to {{environment}}', text: 'The rollout in {{environment}} is healthy.', color: 'green' },
  'health-degraded': { title: '{{service}} {{version}}: unhealthy in {{environment}}', text: '{{error}}', color: 'red' },
  'canary-step': { title: '{{service}} {{version}}: canary at {{canaryWeight}}% in {{environment}}', text: 'Step {{step}} of {{steps}}.', color: 'blue' },
  succeeded: { title: '{{service}} {{version}}: release succeeded', text: 'Every environment runs {{version}}.', color: 'green' },
  failed: { title: '{{service}} {{version}}: release failed', text: '{{error}}', color: 'red' },
  'rolled-back': { title: '{{service}} {{version}}: rolled back', text: '{{error}}', color: 'orange' },
};

export type Escape = (text: string) => string;

export function releaseLink(uiUrl: string, namespace: string, releaseId: string): string {
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(releaseId)}`;
}

export function buildMessage(input: NotifyInput, uiUrl: string, namespace: string, escape: Escape): NotificationMessage {
  const url = releaseLink(uiUrl, namespace, input.releaseId);
  const view: Record<string, string> = { event: input.event, url, releaseId: input.releaseId };
  for (const [k, v] of Object.entries(input.fields)) view[k] = v === null || v === undefined ? '' : String(v);
  view.service ||= input.service;
  view.version ||= input.version;
  view.commit = (view.commit || input.commit).slice(0, 12);
  const defaults = DEFAULTS[input.event] ?? { title: '{{service}} {{version}}: {{event}}', text: '', color: 'grey' as const };
  const template = input.channel.template;
  const render = (t: string) => Mustache.render(t, view, undefined, { escape });
  const fields = [
    { label: 'Service', value: view.service },
    { label: 'Version', value: view.version },
    { label: 'Environment', value: view.environment || '-' },
    { label: 'Stage', value: view.stage || '-' },
    { label: 'Canary weight', value: view.canaryWeight ? `${view.canaryWeight}%` : '-' },
    { label: 'Approved by', value: view.approvedBy || '-' },
    { label: 'Commit', value: view.commit },
  ].map((f) => ({ label: f.label, value: escape(f.value) }));
  return {
    event: input.event,
    title: render(template?.title ?? defaults.title),
    text: render(template?.text ?? defaults.text),
    fields,
    url,
    approval: input.event === 'waiting-approval' && view.gate ? { releaseId: input.releaseId, gate: view.gate } : undefined,
    color: defaults.color,
  };
}

/** Slack mrkdwn: &, <, > are control characters. */
export const escapeSlack: Escape = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Lark/DingTalk markdown: neutralise link, emphasis and HTML-ish syntax. */
export const escapeMarkdown: Escape = (t) => t.replace(/[\\`*_{}[\]()#+!|<>~]/g, (c) => `\\${c}`);
export const escapeHtml: Escape = (t) =>
  t.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
export const noEscape: Escape = (t) => t;
