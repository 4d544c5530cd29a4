// POST /webhooks/alertmanager: Alertmanager's webhook receiver. A firing alert labelled with a service
// and an environment aborts, at once, every running release of that service in its canary stage in
// that environment, instead of waiting for the canary's next analysis. Checks: auth (bearer token or
// basic auth, constant time; 401) -> content type (415) -> payload (400) -> per alert: visibility
// query, then the same abort as the decision API's (control.ts), signed for the configured identity.
// The answer is 200 with what was done per alert; 503 when Temporal is unreachable (Alertmanager
// retries non-2xx), so no alert is acknowledged that aborted nothing it should have.
// Repeats are harmless: a release already aborting answers `changed: false` and compensates once.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ShipyardClient } from '../index.js';
import { ShipyardUsageError } from '../errors.js';
import { alertIntent, parseAlertmanagerPayload, type AlertTarget } from './alerts.js';
import type { AlertmanagerConfig } from './config.js';
import { sendControl } from './control.js';
import { headerOf, mediaType, parseJson, problem, type Req } from './http.js';
import type { Caller, GatewayIdentity } from './identity.js';
import { noteOutcome } from './access-log.js';
import { SecretSet } from './secrets.js';
import { safeEqual, type Verdict } from './signatures.js';
import type { TemporalGuard } from './temporal-guard.js';

export const ALERT_ROUTE = 'webhook_alertmanager';

export interface AlertRoutesContext {
  config?: AlertmanagerConfig;
  shipyard: ShipyardClient;
  guard: TemporalGuard;
  identity: GatewayIdentity;
  env: NodeJS.ProcessEnv;
  count: (route: string, outcome: string) => void;
  unauthorized: (reply: FastifyReply, route: string, provider: string, verdict: Verdict & { ok: false }) => FastifyReply;
}

/** What was done for one alert of the payload. */
export interface AlertResult {
  fingerprint: string;
  alertname?: string;
  status: 'firing' | 'resolved';
  service?: string;
  environment?: string;
  /** Releases this alert aborted (the release recorded the abort now). */
  aborted: string[];
  /** Releases that were already aborting (a repeat or a second alert): nothing changed. */
  unchanged: string[];
  /** Releases that refused the abort (their validator), with why. */
  refused: { releaseId: string; detail: string }[];
  /** Why nothing was done. */
  ignored?: string;
}

/** Checks the Authorization header against the configured bearer tokens or basic auth. */
export function verifyAlertmanagerAuth(authorization: string | undefined, bearer: SecretSet, basicUser: string | undefined, basicPassword: SecretSet): Verdict {
  if (!bearer.configured && !basicPassword.configured) return { ok: true };
  if (!authorization) return { ok: false, reason: 'missing Authorization header' };
  const m = /^(Bearer|Basic) +(\S+)$/i.exec(authorization);
  if (!m) return { ok: false, reason: 'Authorization must be Bearer or Basic' };
  if (m[1].toLowerCase() === 'bearer') {
    const token = Buffer.from(m[2]);
    // Every configured token is compared (no early exit on a match).
    const hits = bearer.values().map((t) => safeEqual(token, t));
    return hits.includes(true) ? { ok: true } : { ok: false, reason: 'bearer token does not match' };
  }
  const decoded = Buffer.from(m[2], 'base64').toString('utf8');
  const cut = decoded.indexOf(':');
  if (cut < 0 || basicUser === undefined) return { ok: false, reason: 'basic auth does not match' };
  const userOk = safeEqual(Buffer.from(decoded.slice(0, cut)), Buffer.from(basicUser));
  const password = Buffer.from(decoded.slice(cut + 1));
  const passOk = basicPassword.values().map((p) => safeEqual(password, p)).includes(true);
  return userOk && passOk ? { ok: true } : { ok: false, reason: 'basic auth does not match' };
}

export function registerAlertRoutes(app: FastifyInstance, ctx: AlertRoutesContext): void {
  const { config, count } = ctx;
  const bearer = new SecretSet('alertmanager', config?.bearer ?? [], ctx.env);
  const basicPassword = new SecretSet('alertmanager', config?.basic?.password ?? [], ctx.env);
  const caller: Caller | undefined = config && {
    identity: config.identity,
    groups: [],
    // Without credentials configured (development only; checkGatewaySecurity refuses it in production)
    // nobody vouched for the sender: the abort is sent unsigned and recorded as unauthenticated.
    authenticated: bearer.configured || basicPassword.configured,
    idp: 'alertmanager',
    via: 'alertmanager',
  };

  /** Running releases of the service whose current environment is `environment` and stage is canary. */
  const canaries = async (t: AlertTarget) =>
    (await ctx.guard.call(() => ctx.shipyard.list({ service: t.service, environment: t.environment, stage: 'canary', running: true, limit: 100 }))).map((r) => r.releaseId);

  app.post('/webhooks/alertmanager', { bodyLimit: config?.bodyLimit }, async (req: Req, reply) => {
    if (!config || !caller) {
      count(ALERT_ROUTE, 'not_configured');
      return problem(reply, 404, 'not configured', 'this gateway has no alertmanager section');
    }
    const verdict = verifyAlertmanagerAuth(headerOf(req, 'authorization'), bearer, config.basic?.username, basicPassword);
    if (!verdict.ok) {
      reply.header('WWW-Authenticate', config.bearer ? 'Bearer' : 'Basic realm="shipyard"');
      return ctx.unauthorized(reply, ALERT_ROUTE, 'alertmanager', verdict);
    }
    if (mediaType(req) !== 'application/json') {
      count(ALERT_ROUTE, 'unsupported_media_type');
      return problem(reply, 415, 'unsupported media type', 'send application/json');
    }
    const json = parseJson(req.body ?? Buffer.alloc(0));
    const parsed = json.ok ? parseAlertmanagerPayload(json.value) : { ok: false as const, detail: 'the body is not a JSON object' };
    if (!parsed.ok) {
      count(ALERT_ROUTE, 'bad_request');
      return problem(reply, 400, 'bad payload', parsed.detail);
    }
    const results: AlertResult[] = [];
    for (const alert of parsed.payload.alerts) {
      const intent = alertIntent(alert, config.matchers);
      const result: AlertResult = { fingerprint: alert.fingerprint, alertname: alert.labels.alertname, status: alert.status, aborted: [], unchanged: [], refused: [] };
      results.push(result);
      if ('ignored' in intent) {
        result.ignored = intent.ignored;
        continue;
      }
      Object.assign(result, intent.abort);
      const ids = await canaries(intent.abort);
      if (ids.length === 0) {
        result.ignored = `no release of ${intent.abort.service} in its canary stage in ${intent.abort.environment}`;
        continue;
      }
      for (const id of ids) {
        try {
          const done = await sendControl(ctx, caller, id, 'abort', intent.reason);
          (done.changed ? result.aborted : result.unchanged).push(id);
        } catch (err) {
          // Ended between the query and the abort, or refused by the release's validator.
          if (!(err instanceof ShipyardUsageError)) throw err;
          if (/is not running/.test(err.message) || err.kind === 'not-found') result.unchanged.push(id);
          else result.refused.push({ releaseId: id, detail: err.message });
        }
      }
    }
    const aborted = results.flatMap((r) => r.aborted);
    count(ALERT_ROUTE, aborted.length ? 'aborted' : 'ignored');
    noteOutcome(req, { outcome: aborted.length ? 'aborted' : 'ignored', aborted, alerts: results.length, groupKey: parsed.payload.groupKey });
    if (aborted.length) req.log.warn({ aborted, by: caller.identity }, 'alert aborted canaries');
    return reply.code(200).send({ status: parsed.payload.status, aborted, alerts: results });
  });
}
