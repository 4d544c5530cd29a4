// Feishu Open API, as far as the gateway needs it: a tenant access token for the configured app
// (POST /open-apis/auth/v3/tenant_access_token/internal, cached until shortly before it expires) and
// the delayed card update (POST /open-apis/interactive/v1/card/update with the callback's update
// token, usable for 30 minutes and only after the callback was answered). The base URL is
// configurable (chat.feishuApiBase; Lark: https://open.larksuite.com), so tests use a local server.
import { buttonValue, type ChatDecision } from './chat.js';
import type { SecretSet } from './secrets.js';

const TIMEOUT_MS = 5000;
/** Refresh the tenant token this long before Feishu says it expires. */
const EARLY_MS = 5 * 60_000;

export class FeishuApiError extends Error {
  override name = 'FeishuApiError';
}

export class FeishuApi {
  private token: { value: string; until: number } | undefined;

  constructor(
    private readonly base: string,
    private readonly appId: SecretSet,
    private readonly appSecret: SecretSet,
    private readonly now: () => number = Date.now,
  ) {}

  private url(path: string): string {
    return `${this.base.replace(/\/+$/, '')}${path}`;
  }

  private async post(path: string, body: unknown, bearer?: string): Promise<Record<string, any>> {
    const res = await fetch(this.url(path), {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    let data: Record<string, any> = {};
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: reported below with the HTTP status
    }
    const code = Number(data.code ?? (res.ok ? 0 : -1));
    if (!res.ok || code !== 0) throw new FeishuApiError(`feishu ${path}: HTTP ${res.status}, code ${code} ${String(data.msg ?? '').slice(0, 200)}`);
    return data;
  }

  async tenantToken(): Promise<string> {
    if (this.token && this.now() < this.token.until) return this.token.value;
    const [appId] = this.appId.values(this.now());
    const [appSecret] = this.appSecret.values(this.now());
    if (!appId || !appSecret) throw new FeishuApiError('feishu app id or app secret is configured but not set');
    const data = await this.post('/open-apis/auth/v3/tenant_access_token/internal', { app_id: appId.toString(), app_secret: appSecret.toString() });
    if (typeof data.tenant_access_token !== 'string') throw new FeishuApiError('feishu tenant_access_token missing in the answer');
    const expireMs = Number(data.expire ?? 0) * 1000;
    this.token = { value: data.tenant_access_token, until: this.now() + Math.max(0, expireMs - EARLY_MS) };
    return this.token.value;
  }

  /** Replaces the card the user pressed a button on (for `openIds` only, when given). */
  async updateCard(updateToken: string, card: Record<string, unknown>, openIds?: string[]): Promise<void> {
    const bearer = await this.tenantToken();
    await this.post('/open-apis/interactive/v1/card/update', { token: updateToken, card: openIds ? { ...card, open_ids: openIds } : card }, bearer);
  }
}

/**
 * The card shown after a decision: decided (green/red, no buttons, for everyone), or not done
 * (orange, the text and the buttons again so the person can retry; shown to that person only).
 */
export function decisionCard(text: string, outcome: 'decided' | 'not-done', decision: ChatDecision) {
  const button = (d: 'approve' | 'reject') => ({
    tag: 'button',
    text: { tag: 'plain_text', content: d === 'approve' ? 'Approve' : 'Reject' },
    type: d === 'approve' ? 'primary' : 'danger',
    value: JSON.parse(buttonValue({ ...decision, decision: d })),
  });
  const color = outcome === 'not-done' ? 'orange' : decision.decision === 'approve' ? 'green' : 'red';
  const title = outcome === 'not-done' ? 'Not done' : decision.decision === 'approve' ? 'Approved' : 'Rejected';
  return {
    // Same config as the notification's card (activities/notify/channels/feishu.ts): not shared.
    config: { wide_screen_mode: true },
    header: { title: { tag: 'plain_text', content: `${title}: ${decision.releaseId}` }, template: color },
    elements: [
      { tag: 'div', text: { tag: 'plain_text', content: text } },
      ...(outcome === 'not-done' ? [{ tag: 'action', actions: [button('approve'), button('reject')] }] : []),
    ],
  };
}
