// Chat callbacks: Slack interactivity, Feishu card callbacks, DingTalk outgoing robot.
// The platforms give an answer about 3 s; a slow Temporal must not make them retry or show an error.
//   Slack   200 with an empty body at once (acknowledges block_actions), the result posted to the
//           payload's response_url afterwards (replace_original when decided, ephemeral otherwise).
//   Feishu  with app credentials: a toast "received" at once, then the card updated through the
//           delayed-update API; without them: the result as a toast, waiting at most ANSWER_WITHIN_MS.
//   DingTalk  the result as the answer, waiting at most ANSWER_WITHIN_MS.
// Every check (signature, replay, parse) happens before anything is acknowledged, and while the
// breaker is open (Temporal known down) the answer is 503 + Retry-After, never an acknowledgement.
// A result is never claimed before the workflow recorded it.
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { ShipyardClient } from '../index.js';
import { parseButtonValue, parseCommand, type ChatDecision } from './chat.js';
import { decide, type ChatProvider, type DecideResult } from './chat-decide.js';
import type { LoadedGatewayConfig } from './config.js';
import { decisionCard, FeishuApi } from './feishu-api.js';
import { headerOf, mediaType, parseJson, problem, type Req } from './http.js';
import type { SecretSet } from './secrets.js';
import { decryptFeishu, verifyDingtalk, verifyFeishuSignature, verifyFeishuToken, verifySlack, type Verdict } from './signatures.js';
import { TemporalUnavailable, type TemporalGuard } from './temporal-guard.js';
import type { GatewayIdentity } from './identity.js';

/** The longest a synchronous chat answer waits for the decision: under the platforms' ~3 s. */
export const ANSWER_WITHIN_MS = 2500;

export interface ChatRoutesContext {
  config: LoadedGatewayConfig;
  shipyard: ShipyardClient;
  guard: TemporalGuard;
  secrets: { slack: SecretSet; feishuToken: SecretSet; feishuKey: SecretSet; feishuAppId: SecretSet; feishuAppSecret: SecretSet; dingtalk: SecretSet };
  now: () => number;
  /** Replay window, seconds. */
  window: number;
  /** Slack response_url prefix the gateway may post message updates to. */
  slackPrefix: string;
  count: (route: string, outcome: string) => void;
  /** Answers 409 when this request was accepted before; undefined the first time. */
  replayed: (reply: FastifyReply, route: string, ...key: (string | Buffer | undefined)[]) => FastifyReply | undefined;
  unauthorized: (reply: FastifyReply, route: string, provider: string, verdict: Verdict & { ok: false }) => FastifyReply;
  unavailable: (reply: FastifyReply, route: string, err: Error) => FastifyReply;
  answerWithinMs?: number;
  /** Signs decision statements for mapped chat users (when signing keys are configured). */
  identity?: GatewayIdentity;
}

const UNAVAILABLE_TEXT = 'Not done: Temporal is unavailable right now; try again in a minute.';

export function registerChatRoutes(app: FastifyInstance, ctx: ChatRoutesContext): void {
  const { config, secrets, now, window, count, replayed, unauthorized, unavailable } = ctx;
  const answerWithin = ctx.answerWithinMs ?? ANSWER_WITHIN_MS;
  const feishuApi =
    secrets.feishuAppId.configured && secrets.feishuAppSecret.configured ? new FeishuApi(config.chat.feishuApiBase, secrets.feishuAppId, secrets.feishuAppSecret, now) : undefined;

  // Deliveries still running; closing the gateway waits for them (they are bounded by the guard's
  // timeout and the delivery's own).
  const pending = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  app.addHook('onClose', async () => {
    await Promise.allSettled([...pending]);
  });

  const run = (log: FastifyBaseLogger, route: string, provider: ChatProvider, chatUser: unknown, decision: ChatDecision) =>
    decide({ config, shipyard: ctx.shipyard, guard: ctx.guard, count, log, identity: ctx.identity }, route, provider, chatUser, decision);

  /** The decision's result for a later delivery: Temporal being down is a "not done", never a success. */
  const settle = async (log: FastifyBaseLogger, route: string, decision: Promise<DecideResult>): Promise<DecideResult> => {
    try {
      return await decision;
    } catch (err) {
      if (err instanceof TemporalUnavailable) {
        count(route, 'unavailable');
        log.warn({ err: err.message }, 'chat decision not done: Temporal unavailable');
        return { ok: false, text: UNAVAILABLE_TEXT };
      }
      log.error({ err }, 'chat decision failed');
      return { ok: false, text: 'Not done: the gateway failed to pass the decision on; try again or use the CLI.' };
    }
  };

  /**
   * Waits at most `answerWithin` for the decision. Temporal unavailable within that time is thrown
   * (the error handler answers 503); a later result can only be logged.
   */
  const bounded = async (log: FastifyBaseLogger, route: string, decision: Promise<DecideResult>): Promise<DecideResult | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), answerWithin)));
    try {
      const first = await Promise.race([decision, late]);
      if (first) return first;
    } finally {
      clearTimeout(timer);
    }
    count(route, 'answered_before_result');
    track(
      settle(log, route, decision).then((result) =>
        log.warn({ ok: result.ok, text: result.text }, 'chat result could not be delivered: answered before the decision, and this platform has no later channel configured'),
      ),
    );
    return undefined;
  };
  const slowText = (decision: ChatDecision) =>
    `Received; Temporal is slow to answer, so the result is not known yet: check \`shipyard status ${decision.releaseId}\`.`;

  /** Known down: refuse before acknowledging anything, so the platform (or person) retries. */
  const breakerOpen = (reply: FastifyReply, route: string) =>
    ctx.guard.state === 'open' ? unavailable(reply, route, new TemporalUnavailable('Temporal is unreachable (circuit breaker open)')) : undefined;

  // ---- Slack ----

  const postToSlack = async (log: FastifyBaseLogger, responseUrl: string, result: DecideResult) => {
    const body = result.ok ? { replace_original: true, text: result.text } : { response_type: 'ephemeral', replace_original: false, text: result.text };
    try {
      const res = await fetch(responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
      if (!res.ok) log.warn({ status: res.status }, 'slack response_url refused the update');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'slack response_url update failed');
    }
  };

  app.post('/chat/slack/interactions', async (req: Req, reply) => {
    const route = 'chat_slack';
    if (mediaType(req) !== 'application/x-www-form-urlencoded') return problem(reply, 415, 'unsupported media type', 'Slack interactivity posts application/x-www-form-urlencoded');
    if (!secrets.slack.configured) return problem(reply, 404, 'not configured', 'Slack has no signing secret configured on this gateway');
    const raw = req.body ?? Buffer.alloc(0);
    const verdict = verifySlack(req.headers, raw, secrets.slack, now(), window);
    if (!verdict.ok) return unauthorized(reply, route, 'slack', verdict);
    const again = replayed(reply, route, headerOf(req, 'x-slack-signature'), raw);
    if (again) return again;
    const payloadText = new URLSearchParams(raw.toString('utf8')).get('payload');
    const parsed = payloadText ? parseJson(Buffer.from(payloadText)) : { ok: false as const };
    if (!parsed.ok) {
      count(route, 'bad_request');
      return problem(reply, 400, 'malformed payload', 'expected a payload= form field holding JSON');
    }
    const payload = parsed.value;
    if (payload.type !== 'block_actions' || !Array.isArray(payload.actions) || !payload.actions[0]) {
      count(route, 'ignored');
      return reply.code(200).send({ status: 'ignored', reason: `interaction type '${String(payload.type).slice(0, 40)}' is not an approval` });
    }
    const decision = parseButtonValue(payload.actions[0].value);
    if ('invalid' in decision) {
      count(route, 'bad_request');
      return problem(reply, 400, 'bad action', decision.invalid);
    }
    const down = breakerOpen(reply, route);
    if (down) return down;
    const responseUrl = typeof payload.response_url === 'string' && payload.response_url.startsWith(ctx.slackPrefix) ? payload.response_url : undefined;
    const decided = run(req.log, route, 'slack', payload.user?.id, decision);
    if (!responseUrl) {
      // Nowhere to post later: answer with the result, bounded.
      const result = await bounded(req.log, route, decided);
      return reply.code(200).send(result ?? { ok: false, text: slowText(decision) });
    }
    // An empty 200 acknowledges a block_actions interaction; the message is updated when decided,
    // so the channel sees who decided (or the person alone sees why not).
    reply.code(200).send();
    track(settle(req.log, route, decided).then((result) => postToSlack(req.log, responseUrl, result)));
    return reply;
  });

  // ---- Feishu ----

  /** Resolves once the answer is on the wire: Feishu ignores card updates made before the answer. */
  const answered = (reply: FastifyReply) =>
    new Promise<void>((resolve) => {
      if (reply.raw.writableFinished) return resolve();
      reply.raw.once('finish', resolve);
      reply.raw.once('close', resolve);
    });

  const updateFeishuCard = async (log: FastifyBaseLogger, route: string, api: FeishuApi, updateToken: string, operator: unknown, decision: ChatDecision, result: DecideResult) => {
    try {
      if (result.ok) await api.updateCard(updateToken, decisionCard(result.text, 'decided', decision));
      else await api.updateCard(updateToken, decisionCard(result.text, 'not-done', decision), typeof operator === 'string' ? [operator] : undefined);
    } catch (err) {
      count(route, 'undelivered');
      log.warn({ err: (err as Error).message, ok: result.ok, text: result.text }, 'feishu card update failed: the result was not shown in chat');
    }
  };

  app.post('/chat/feishu/callback', async (req: Req, reply) => {
    const route = 'chat_feishu';
    if (mediaType(req) !== 'application/json') return problem(reply, 415, 'unsupported media type', 'send application/json');
    if (!secrets.feishuToken.configured) return problem(reply, 404, 'not configured', 'Feishu has no verification token configured on this gateway');
    const raw = req.body ?? Buffer.alloc(0);
    let parsed = parseJson(raw);
    if (!parsed.ok) {
      count(route, 'bad_request');
      return problem(reply, 400, 'malformed JSON', 'the body is not a JSON object');
    }
    let body = parsed.value;
    let signed = false;
    if (secrets.feishuKey.configured) {
      // With an encrypt key, Feishu signs every request; accept nothing unsigned.
      const verdict = verifyFeishuSignature(req.headers, raw, secrets.feishuKey, now(), window);
      if (!verdict.ok) return unauthorized(reply, route, 'feishu', verdict);
      signed = true;
      if (typeof body.encrypt === 'string') {
        const plain = decryptFeishu(body.encrypt, secrets.feishuKey);
        if (!plain) return unauthorized(reply, route, 'feishu', { ok: false, reason: 'encrypted payload does not decrypt with the configured key' });
        parsed = parseJson(Buffer.from(plain));
        if (!parsed.ok) return problem(reply, 400, 'malformed JSON', 'the decrypted payload is not a JSON object');
        body = parsed.value;
      }
    }
    const token = body.header?.token ?? body.token;
    const tokenVerdict = verifyFeishuToken(token, secrets.feishuToken);
    if (!tokenVerdict.ok) return unauthorized(reply, route, 'feishu', tokenVerdict);
    if (body.type === 'url_verification') {
      count(route, 'url_verification');
      return reply.code(200).send({ challenge: String(body.challenge ?? '') });
    }
    if (!signed) {
      // Token-only mode has no request timestamp; the event's own create_time (ms) bounds replays.
      const created = Number(body.header?.create_time);
      if (!Number.isFinite(created) || Math.abs(now() - created) / 1000 > window) {
        return unauthorized(reply, route, 'feishu', { ok: false, reason: `event create_time is missing or outside the ${window}s replay window` });
      }
    }
    // Signed or token-only, the same request is accepted once (url_verification above may repeat).
    const again = replayed(reply, route, headerOf(req, 'x-lark-signature'), raw);
    if (again) return again;
    const event = body.event ?? body;
    const decision = parseButtonValue(event.action?.value);
    if ('invalid' in decision) {
      count(route, 'bad_request');
      return problem(reply, 400, 'bad action', decision.invalid);
    }
    const down = breakerOpen(reply, route);
    if (down) return down;
    const operator = event.operator?.open_id ?? event.open_id;
    // card.action.trigger carries the card's update token as event.token (the old format: token).
    const updateToken = typeof event.token === 'string' && event.token ? event.token : undefined;
    const decided = run(req.log, route, 'feishu', operator, decision);
    if (feishuApi && updateToken) {
      reply.code(200).send({ toast: { type: 'info', content: 'Received; the card will show the result.' } });
      const api = feishuApi;
      track(
        Promise.all([settle(req.log, route, decided), answered(reply)]).then(([result]) => updateFeishuCard(req.log, route, api, updateToken, operator, decision, result)),
      );
      return reply;
    }
    const result = await bounded(req.log, route, decided);
    if (!result) return reply.code(200).send({ toast: { type: 'info', content: slowText(decision) } });
    return reply.code(200).send({ toast: { type: result.ok ? 'success' : 'error', content: result.text } });
  });

  // ---- DingTalk ----

  app.post('/chat/dingtalk/callback', async (req: Req, reply) => {
    const route = 'chat_dingtalk';
    if (mediaType(req) !== 'application/json') return problem(reply, 415, 'unsupported media type', 'send application/json');
    if (!secrets.dingtalk.configured) return problem(reply, 404, 'not configured', 'DingTalk has no app secret configured on this gateway');
    const verdict = verifyDingtalk(req.headers, secrets.dingtalk, now(), window);
    if (!verdict.ok) return unauthorized(reply, route, 'dingtalk', verdict);
    // DingTalk's sign covers only the timestamp: the body is part of what must not repeat.
    const again = replayed(reply, route, headerOf(req, 'sign'), headerOf(req, 'timestamp'), req.body ?? Buffer.alloc(0));
    if (again) return again;
    const parsed = parseJson(req.body ?? Buffer.alloc(0));
    if (!parsed.ok) {
      count(route, 'bad_request');
      return problem(reply, 400, 'malformed JSON', 'the body is not a JSON object');
    }
    const body = parsed.value;
    const decision = parseCommand(body.text?.content);
    if ('invalid' in decision) {
      count(route, 'bad_request');
      return reply.code(200).send({ msgtype: 'text', text: { content: decision.invalid } });
    }
    const down = breakerOpen(reply, route);
    if (down) return down;
    const result = await bounded(req.log, route, run(req.log, route, 'dingtalk', body.senderStaffId ?? body.senderId, decision));
    return reply.code(200).send({ msgtype: 'text', text: { content: result ? result.text : slowText(decision) } });
  });
}
