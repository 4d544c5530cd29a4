// The gateway's decision API: what the CLI (with an ID token), the dashboard and scripts call.
//   POST /api/releases/<id>/approve|reject   { gate?, comment? }
//   POST /api/releases/<id>/abort|pause|resume { reason? }
//   POST /api/freeze | /api/unfreeze           { reason?, service? }
//   POST /api/statements/start                 { releaseId }  -> { statement } for a start
//   POST /api/trains                           { train, commits } -> starts a release train (train-routes.ts)
//   GET  /api/whoami, GET /.well-known/shipyard-decision-keys (the JWKS orchestrators trust)
// Every decision reaches the release with a statement signed for exactly that release, action and
// gate; the release's validator has the last word, and its refusal comes back as 403.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ShipyardClient } from '../index.js';
import { ShipyardUsageError } from '../errors.js';
import { CallerRefused, refuseCaller, type Caller, type GatewayIdentity } from './identity.js';
import type { TemporalGuard } from './temporal-guard.js';
import { problem } from './http.js';
import { sendControl } from './control.js';
import { registerTrainRoutes } from './train-routes.js';

export interface ApiDeps {
  shipyard: ShipyardClient;
  guard: TemporalGuard;
  identity: GatewayIdentity;
  count: (route: string, outcome: string) => void;
}

const ROUTE = 'api';
const ACTIONS = ['approve', 'reject', 'abort', 'pause', 'resume'] as const;
type Action = (typeof ACTIONS)[number];

/** The JSON object body (an empty body is {}); undefined when it is not one. */
function jsonBody(req: FastifyRequest): Record<string, unknown> | undefined {
  const raw = req.body as Buffer | undefined;
  if (!raw || raw.length === 0) return {};
  try {
    const value = JSON.parse(raw.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const optionalText = (v: unknown, max = 2000) => (v === undefined || (typeof v === 'string' && v.length <= max) ? (v as string | undefined) : null);

export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { shipyard, guard, identity, count } = deps;

  /** Body, caller and the common refusals; undefined when a reply was sent. */
  async function begin(req: FastifyRequest, reply: FastifyReply): Promise<{ body: Record<string, unknown>; caller: Caller } | undefined> {
    const body = jsonBody(req);
    if (!body) {
      count(ROUTE, 'bad_request');
      void problem(reply, 400, 'malformed JSON', 'the body must be a JSON object (or empty)');
      return undefined;
    }
    try {
      return { body, caller: await identity.caller(req, body) };
    } catch (err) {
      if (!(err instanceof CallerRefused)) throw err;
      count(ROUTE, err.status === 401 ? 'unauthorized' : 'unavailable');
      void refuseCaller(reply, err);
      return undefined;
    }
  }

  const refusal = (reply: FastifyReply, err: unknown) => {
    if (!(err instanceof ShipyardUsageError)) throw err;
    const status = err.kind === 'not-found' ? 404 : err.kind === 'refused' ? 403 : 422;
    count(ROUTE, status === 403 ? 'refused' : status === 404 ? 'not_found' : 'unprocessable');
    return problem(reply, status, status === 403 ? 'refused' : status === 404 ? 'not found' : 'cannot do that', err.message);
  };

  app.get('/.well-known/shipyard-decision-keys', async () => identity.jwks());

  app.get('/api/whoami', async (req, reply) => {
    const begun = await begin(req, reply);
    if (!begun) return reply;
    const { caller } = begun;
    return { identity: caller.identity, groups: caller.groups, authenticated: caller.authenticated, issuer: caller.idp };
  });

  app.post('/api/releases/*', async (req, reply) => {
    const tail = (req.params as { '*': string })['*'] ?? '';
    const cut = tail.lastIndexOf('/');
    const action = tail.slice(cut + 1) as Action;
    if (cut <= 0 || !ACTIONS.includes(action)) return problem(reply, 404, 'not found', `POST /api/releases/<id>/{${ACTIONS.join(',')}}`);
    // The router decoded the path once; a stray '%' left in the ID (e.g. from %25) is a bad request, not a 500.
    let id: string;
    try {
      id = decodeURIComponent(tail.slice(0, cut));
    } catch {
      count(ROUTE, 'bad_request');
      return problem(reply, 400, 'bad request', 'the release ID in the path is not valid percent-encoding');
    }
    const begun = await begin(req, reply);
    if (!begun) return reply;
    const { body, caller } = begun;
    const comment = optionalText(body.comment);
    const reason = optionalText(body.reason);
    const gateIn = optionalText(body.gate, 256);
    if (comment === null || reason === null || gateIn === null) {
      count(ROUTE, 'bad_request');
      return problem(reply, 400, 'bad request', 'gate, comment and reason must be text (comment and reason at most 2000 characters)');
    }
    try {
      if (action === 'approve' || action === 'reject') {
        // The statement names the gate: the one asked for, or the one pending now.
        const gate = gateIn ?? (await guard.call(() => shipyard.status(id))).approvals.pending?.gate;
        if (!gate) {
          count(ROUTE, 'refused');
          return problem(reply, 409, 'refused', `no approval is pending for ${id}`);
        }
        const statement = await identity.statement(caller, { rel: id, act: action, gate, ...(comment ? { comment } : {}) });
        const request = { approver: caller.identity, gate, comment, via: caller.via, ...(statement ? { statement } : {}) };
        const result = await guard.call(() => (action === 'approve' ? shipyard.approve(id, request) : shipyard.reject(id, request)));
        count(ROUTE, action === 'approve' ? 'approved' : 'rejected');
        req.log.info({ releaseId: id, gate, by: caller.identity, authenticated: caller.authenticated, action }, 'api decision');
        return { releaseId: id, by: caller.identity, authenticated: caller.authenticated, ...result };
      }
      const result = await sendControl(deps, caller, id, action, reason);
      count(ROUTE, action);
      req.log.info({ releaseId: id, by: caller.identity, authenticated: caller.authenticated, action }, 'api decision');
      return { releaseId: id, ...result };
    } catch (err) {
      return refusal(reply, err);
    }
  });

  for (const action of ['freeze', 'unfreeze'] as const) {
    app.post(`/api/${action}`, async (req, reply) => {
      const begun = await begin(req, reply);
      if (!begun) return reply;
      const { body, caller } = begun;
      const reason = optionalText(body.reason);
      const service = optionalText(body.service, 128);
      if (reason === null || service === null) return problem(reply, 400, 'bad request', 'reason and service must be text');
      if (identity.production && !caller.authenticated) return problem(reply, 401, 'unauthorized', 'production mode: freeze needs a verified identity');
      const by = caller.authenticated ? caller.identity : `${caller.identity} (unauthenticated)`;
      const releases = await guard.call(() => (action === 'freeze' ? shipyard.freeze(by, reason, service) : shipyard.unfreeze(by, service)));
      count(ROUTE, action);
      req.log.info({ by: caller.identity, authenticated: caller.authenticated, service, action }, 'api freeze');
      return { action, by: caller.identity, authenticated: caller.authenticated, service: service ?? null, releases };
    });
  }

  app.post('/api/statements/start', async (req, reply) => {
    const begun = await begin(req, reply);
    if (!begun) return reply;
    const { body, caller } = begun;
    if (typeof body.releaseId !== 'string' || body.releaseId.length === 0 || body.releaseId.length > 1000) {
      return problem(reply, 400, 'bad request', 'releaseId (the release or pipeline ID to start) is required');
    }
    const statement = await identity.statement(caller, { rel: body.releaseId, act: 'start' });
    if (!statement) return problem(reply, 404, 'not configured', caller.authenticated ? 'this gateway has no signing keys' : 'development mode: starts are recorded as unauthenticated');
    count(ROUTE, 'start_statement');
    return { releaseId: body.releaseId, identity: caller.identity, statement };
  });

  registerTrainRoutes(app, { ...deps, begin, refusal });
}
