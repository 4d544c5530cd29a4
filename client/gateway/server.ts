// The HTTP gateway: signed webhooks start releases, chat callbacks approve them (chat-routes.ts).
// Order of checks on every request: size (413) -> content type (415) -> signature over the raw
// bytes (401) -> JSON (400) -> event kind (202 ignored) -> route (202 ignored) -> Temporal
// (503 + Retry-After when unreachable). No 2xx is ever sent for a webhook event Temporal did not
// take; chat callbacks are acknowledged before their decision and told its result later.
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ShipyardClient } from '../index.js';
import { ShipyardUsageError } from '../errors.js';
import { startPipeline } from '../pipeline.js';
import { registerChatRoutes } from './chat-routes.js';
import { checkGatewaySecurity, type LoadedGatewayConfig } from './config.js';
import { registerCodecRoutes } from './codec-routes.js';
import { normalizeGeneric, normalizeGithub, normalizeGitlab, type GitEvent, type Normalized, type Provider } from './events.js';
import { headerOf, mediaType, parseJson, problem, type Req } from './http.js';
import { GatewayMetrics } from './metrics.js';
import { routeEvent } from './routing.js';
import { ReplayCache } from './replay-cache.js';
import { SecretSet } from './secrets.js';
import { verifyGeneric, verifyGithub, verifyGitlab, type Verdict } from './signatures.js';
import { TemporalGuard, TemporalUnavailable, type GuardOptions } from './temporal-guard.js';
import { registerApiRoutes } from './api-routes.js';
import { registerAlertRoutes } from './alert-routes.js';
import { registerReadRoutes } from './read-routes.js';
import { registerUiRoutes } from './ui-routes.js';
import { DoraRecordCache, readDora } from '../dora-source.js';
import { registerDoraGauges } from '../dora-metrics.js';
import { noteOutcome, OneLineLogController } from './access-log.js';
import { createGatewayIdentity, type GatewayIdentity } from './identity.js';

export interface GatewayOptions {
  config: LoadedGatewayConfig;
  shipyard: ShipyardClient;
  /** Clock for replay windows (tests move it). */
  now?: () => number;
  /** Fastify logger setting; JSON logs to stdout by default. */
  logger?: boolean | object;
  guard?: GuardOptions;
  /** Slack response_url prefix the gateway may post message updates to. */
  slackResponseUrlPrefix?: string;
  /** Where `{env: NAME}` secrets and SHIPYARD_MODE are read (process.env by default). */
  env?: NodeJS.ProcessEnv;
  /** Caller verification and statement signing; default from config.identity. */
  identity?: GatewayIdentity;
}

export async function buildGateway(opts: GatewayOptions): Promise<{ app: FastifyInstance; metrics: GatewayMetrics; guard: TemporalGuard }> {
  const { config, shipyard } = opts;
  const now = opts.now ?? Date.now;
  const env = opts.env ?? process.env;
  // Throws in production mode for settings that are only warnings in development.
  const warnings = checkGatewaySecurity(config, env);
  const metrics = new GatewayMetrics();
  const guard = new TemporalGuard({ withDeadline: (deadline, fn) => shipyard.client.withDeadline(deadline, fn), ...opts.guard });
  const secrets = {
    github: new SecretSet('github', config.secrets.github ?? [], env),
    gitlab: new SecretSet('gitlab', config.secrets.gitlab ?? [], env),
    generic: new SecretSet('generic', config.secrets.generic ?? [], env),
    slack: new SecretSet('slack', config.secrets.slack ?? [], env),
    feishuToken: new SecretSet('feishu', config.secrets.feishu?.verificationToken ?? [], env),
    feishuKey: new SecretSet('feishu', config.secrets.feishu?.encryptKey ?? [], env),
    feishuAppId: new SecretSet('feishu', config.secrets.feishu?.appId ?? [], env),
    feishuAppSecret: new SecretSet('feishu', config.secrets.feishu?.appSecret ?? [], env),
    dingtalk: new SecretSet('dingtalk', config.secrets.dingtalk ?? [], env),
  };
  const window = config.replayWindowSeconds;
  const replays = new ReplayCache(window * 1000);
  /** A chat callback seen before (same signature and body): answered 409, decides nothing. */
  const replayed = (reply: FastifyReply, route: string, ...key: (string | Buffer | undefined)[]) => {
    if (replays.firstSeen(now(), route, ...key)) return undefined;
    count(route, 'replayed');
    return problem(reply, 409, 'replayed', 'this request was already accepted once');
  };
  const slackPrefix = opts.slackResponseUrlPrefix ?? 'https://hooks.slack.com/';
  const identity = opts.identity ?? createGatewayIdentity(config, { env });

  const app = Fastify({
    logger: opts.logger ?? { level: 'info', redact: ['req.headers.authorization', 'req.headers["x-gitlab-token"]'] },
    bodyLimit: config.bodyLimit,
    logController: new OneLineLogController(),
  });
  // Bodies stay raw bytes: signatures are over exactly what was sent. Other media types get 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: { code?: string; statusCode?: number; message: string }, req, reply) => {
    // Any handler that could not reach Temporal: 503 + Retry-After, never a 2xx.
    if (err instanceof TemporalUnavailable) return unavailable(reply, routeName(req), err);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return problem(reply, 413, 'payload too large', `body exceeds ${req.routeOptions?.bodyLimit ?? config.bodyLimit} bytes`);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return problem(reply, 415, 'unsupported media type', 'send application/json (Slack: application/x-www-form-urlencoded)');
    if (err.statusCode && err.statusCode < 500) return problem(reply, err.statusCode, 'bad request', err.message);
    req.log.error({ err }, 'gateway error');
    return problem(reply, 500, 'internal error');
  });
  for (const warning of warnings) app.log.warn(warning);
  app.setNotFoundHandler((req, reply) => problem(reply, 404, 'not found', `${req.method} ${req.url.split('?')[0]}`));

  const count = (route: string, outcome: string) => metrics.requests.inc({ route, outcome });
  /** The metrics route label of a request: webhook_github, chat_slack, ... */
  const routeName = (req: FastifyRequest) => {
    const path = req.routeOptions?.url ?? req.url;
    const m = /^\/(webhooks|chat)\/([a-z]+)/.exec(path);
    return m ? `${m[1] === 'webhooks' ? 'webhook' : 'chat'}_${m[2]}` : 'other';
  };
  const unauthorized = (reply: FastifyReply, route: string, provider: string, verdict: Verdict & { ok: false }) => {
    metrics.signatureFailures.inc({ provider });
    count(route, 'unauthorized');
    return problem(reply, 401, 'unauthorized', verdict.reason);
  };
  const unavailable = (reply: FastifyReply, route: string, err: Error) => {
    count(route, 'unavailable');
    metrics.breakerOpen.set(guard.state === 'open' ? 1 : 0);
    reply.header('Retry-After', String(config.retryAfterSeconds));
    return problem(reply, 503, 'temporal unavailable', `${err.message}; retry later`);
  };

  // ---- webhooks ----

  /**
   * Who triggered: with a sender map for the provider, the mapped Shipyard identity, or for a sender
   * not in it `<provider>:<login>`, which names no approver (it cannot pass for one, in four-eyes or
   * anywhere); without a map, the git-host login as given (development).
   */
  const triggeredBy = (event: GitEvent): string => {
    const map = config.senders[event.provider];
    if (!map) return event.sender;
    return Object.hasOwn(map, event.sender) ? map[event.sender] : `${event.provider}:${event.sender}`;
  };

  async function startRelease(req: Req, reply: FastifyReply, route: string, event: GitEvent) {
    const routed = routeEvent(event, config.loadedRoutes);
    if ('ignored' in routed) {
      count(route, 'ignored');
      noteOutcome(req, { deliveryId: event.deliveryId, outcome: 'ignored', reason: routed.ignored });
      return reply.code(202).send({ status: 'ignored', reason: routed.ignored, deliveryId: event.deliveryId });
    }
    const { route: rule, version, untrusted } = routed.routed;
    const started = process.hrtime.bigint();
    const trigger = { kind: 'webhook' as const, by: triggeredBy(event), ref: event.ref, deliveryId: `${event.provider}:${event.deliveryId}`, commitTime: event.commitTime };
    // A mapped sender is vouched for by the webhook's signature: the release gets a start statement.
    const mapped = Object.hasOwn(config.senders[event.provider] ?? {}, event.sender);
    const signStart = mapped
      ? (rel: string) => identity.statement({ identity: trigger.by, groups: [], authenticated: true, idp: event.provider, via: event.provider }, { rel, act: 'start' })
      : undefined;
    try {
      if (!rule.releaseSpec) {
        // Pipelines as code: the build worker reads the spec at the commit; answering does not wait for
        // it (a webhook sender gives up after seconds). The release ID is in the pipeline's result.
        const repo = rule.repoUrl!.replaceAll('{repo}', event.repo);
        const pipeline = await guard.call(() =>
          startPipeline(shipyard, { repo, commit: event.commit, specPath: rule.specPath, version, environments: rule.environments, buildOnly: rule.buildOnly, untrusted: untrusted || undefined, trigger, signStart }),
        );
        metrics.startLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
        metrics.breakerOpen.set(0);
        count(route, 'pipeline');
        noteOutcome(req, { deliveryId: event.deliveryId, outcome: 'reading-spec', pipelineId: pipeline.pipelineId, rule: rule.name });
        return reply.code(202).send({ status: 'reading-spec', pipelineId: pipeline.pipelineId, url: pipeline.url, deliveryId: event.deliveryId });
      }
      const result = await guard.call(() =>
        shipyard.start({
          spec: rule.releaseSpec!,
          commit: event.commit,
          version,
          environments: rule.environments,
          buildOnly: rule.buildOnly,
          untrusted,
          trigger,
          signStart,
        }),
      );
      metrics.startLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      metrics.breakerOpen.set(0);
      const status = result.started ? 'started' : 'existing';
      count(route, status);
      noteOutcome(req, { deliveryId: event.deliveryId, outcome: status, releaseId: result.releaseId, rule: rule.name });
      return reply.code(202).send({ status, releaseId: result.releaseId, url: result.url, deliveryId: event.deliveryId });
    } catch (err) {
      if (err instanceof ShipyardUsageError) {
        count(route, 'unprocessable');
        return problem(reply, 422, 'cannot start release', err.message);
      }
      throw err;
    }
  }

  function webhook(
    provider: Provider,
    verify: (req: Req) => Verdict,
    normalize: (req: Req, body: any) => Normalized,
  ) {
    const route = `webhook_${provider}`;
    return async (req: Req, reply: FastifyReply) => {
      if (mediaType(req) !== 'application/json') {
        count(route, 'unsupported_media_type');
        return problem(reply, 415, 'unsupported media type', 'send application/json');
      }
      const secretSet = secrets[provider];
      if (!secretSet.configured) {
        count(route, 'not_configured');
        return problem(reply, 404, 'not configured', `${provider} webhooks have no secret configured on this gateway`);
      }
      const raw = req.body ?? Buffer.alloc(0);
      const verdict = verify(req);
      if (!verdict.ok) return unauthorized(reply, route, provider, verdict);
      const parsed = parseJson(raw);
      if (!parsed.ok) {
        count(route, 'bad_request');
        return problem(reply, 400, 'malformed JSON', 'the body is not a JSON object');
      }
      const normalized = normalize(req, parsed.value);
      if ('ping' in normalized) {
        count(route, 'ping');
        return reply.code(200).send({ status: 'pong' });
      }
      if ('invalid' in normalized) {
        count(route, 'bad_request');
        return problem(reply, 400, 'bad event', normalized.invalid);
      }
      if ('ignored' in normalized) {
        count(route, 'ignored');
        return reply.code(202).send({ status: 'ignored', reason: normalized.ignored });
      }
      return startRelease(req, reply, route, normalized.event);
    };
  }

  /** A delivery ID from the header, or a stable one derived from the body (same body, same ID). */
  const deliveryId = (req: Req, ...headers: string[]) => {
    for (const h of headers) {
      const v = headerOf(req, h);
      if (v && /^[A-Za-z0-9._:-]{1,128}$/.test(v)) return v;
    }
    return `body-${createHash('sha256').update(req.body ?? '').digest('hex').slice(0, 24)}`;
  };

  app.post('/webhooks/github', webhook(
    'github',
    (req) => verifyGithub(req.headers, req.body ?? Buffer.alloc(0), secrets.github),
    (req, body) => normalizeGithub(headerOf(req, 'x-github-event'), deliveryId(req, 'x-github-delivery'), body),
  ));
  app.post('/webhooks/gitlab', webhook(
    'gitlab',
    (req) => verifyGitlab(req.headers, secrets.gitlab),
    (req, body) => normalizeGitlab(headerOf(req, 'x-gitlab-event'), deliveryId(req, 'idempotency-key', 'x-gitlab-event-uuid'), body),
  ));
  app.post('/webhooks/generic', webhook(
    'generic',
    (req) => verifyGeneric(req.headers, req.body ?? Buffer.alloc(0), secrets.generic, now(), window),
    (req, body) => normalizeGeneric(deliveryId(req, 'x-shipyard-delivery'), body),
  ));

  // ---- chat approvals (chat-routes.ts) ----

  registerChatRoutes(app, { config, shipyard, guard, secrets, now, window, slackPrefix, count, replayed, unauthorized, unavailable, identity });

  registerApiRoutes(app, { shipyard, guard, identity, count });

  // ---- the dashboard: its read API and its files ----

  // One record cache for the process: a closed release never changes, so each is read once.
  const doraCache = new DoraRecordCache();
  const dora = (q: { service?: string; environment?: string; windowDays: number }) => readDora(shipyard, { ...q, cache: doraCache });
  registerReadRoutes(app, { shipyard, guard, identity, count, dora });
  if (config.dora.metrics) {
    registerDoraGauges(metrics.registry, () => guard.call(() => dora({ windowDays: config.dora.metricsWindowDays })), {
      onError: (err) => app.log.warn({ err: (err as Error).message }, 'DORA metrics: reading release records failed'),
    });
  }
  await registerUiRoutes(app);

  registerAlertRoutes(app, { config: config.alertmanager, shipyard, guard, identity, env, count, unauthorized });

  registerCodecRoutes(app, { config, shipyard, env, oidc: identity.verifier });

  // ---- operations ----

  let readyCache: { at: number; ok: boolean; detail: string } | undefined;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (!readyCache || now() - readyCache.at > 2000) {
      try {
        await guard.call(() => shipyard.client.workflowService.getSystemInfo({}));
        readyCache = { at: now(), ok: true, detail: 'temporal reachable' };
      } catch (err) {
        readyCache = { at: now(), ok: false, detail: (err as Error).message };
      }
    }
    metrics.breakerOpen.set(guard.state === 'open' ? 1 : 0);
    return reply.code(readyCache.ok ? 200 : 503).send({ status: readyCache.ok ? 'ready' : 'not ready', temporal: readyCache.detail, breaker: guard.state });
  });
  app.get('/metrics', async (_req, reply) => {
    metrics.breakerOpen.set(guard.state === 'open' ? 1 : 0);
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.addHook('onClose', async () => guard.shutdown());

  return { app, metrics, guard };
}

