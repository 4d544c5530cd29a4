// The gateway's read API, what the dashboard (ui/) shows:
//   GET /api/session                  { mode, tokens, identity? }: what the page must ask of its user
//   GET /api/releases?service=&environment=&stage=&outcome=&train=&running=true&limit=
//   GET /api/releases/<id>            the release page: status, how it ended, the plan (thresholds)
//   GET /api/trains, GET /api/trains/<id>
//   GET /api/dora?service=&environment=&window=30d
// With OIDC configured every read needs a verified bearer ID token, as decisions do (401 otherwise);
// in development mode reads are open. Answers are what Temporal reports, read per request.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ShipyardClient } from '../index.js';
import { ShipyardUsageError } from '../errors.js';
import type { ListFilter } from '../list.js';
import { PlanCache, releaseView } from '../release-view.js';
import { listTrains, trainStatus } from '../train.js';
import { CallerRefused, refuseCaller, type Caller, type GatewayIdentity } from './identity.js';
import { problem } from './http.js';
import type { TemporalGuard } from './temporal-guard.js';

export interface ReadDeps {
  shipyard: ShipyardClient;
  guard: TemporalGuard;
  identity: GatewayIdentity;
  count: (route: string, outcome: string) => void;
  /** DORA rows for the dashboard (client/dora-source.ts); absent: 404. */
  dora?: (q: { service?: string; environment?: string; windowDays: number }) => Promise<unknown>;
}

const ROUTE = 'api_read';
const FILTERS = ['service', 'environment', 'stage', 'outcome', 'train'] as const;

/** The path's release or train ID, percent-decoded once more (IDs hold '/'); undefined when malformed. */
function idOf(req: FastifyRequest): string | undefined {
  try {
    const id = decodeURIComponent((req.params as { '*': string })['*'] ?? '');
    return id.length > 0 && id.length <= 1000 ? id : undefined;
  } catch {
    return undefined;
  }
}

export function registerReadRoutes(app: FastifyInstance, deps: ReadDeps): void {
  const { shipyard, guard, identity, count } = deps;
  const plans = new PlanCache();

  /** The verified reader (or, without OIDC, nobody in particular); undefined when a refusal was sent. */
  async function reader(req: FastifyRequest, reply: FastifyReply): Promise<Caller | null | undefined> {
    if (!identity.tokens) return null;
    try {
      return await identity.caller(req, {});
    } catch (err) {
      if (!(err instanceof CallerRefused)) throw err;
      count(ROUTE, err.status === 401 ? 'unauthorized' : 'unavailable');
      void refuseCaller(reply, err);
      return undefined;
    }
  }

  /** What the caller got wrong: an unknown release or train (404), a filter value listReleases or readDora refused (400). */
  const usageError = (reply: FastifyReply, err: unknown) => {
    if (!(err instanceof ShipyardUsageError) || err.kind === 'refused') throw err;
    const missing = err.kind === 'not-found';
    count(ROUTE, missing ? 'not_found' : 'bad_request');
    return problem(reply, missing ? 404 : 400, missing ? 'not found' : 'bad request', err.message);
  };

  app.get('/api/session', async (req, reply) => {
    // Without a token this answers what the page needs to know to ask for one; with one, who it is.
    const mode = identity.production ? 'production' : 'development';
    if (!identity.tokens || !req.headers.authorization) return { mode, tokens: identity.tokens };
    const caller = await reader(req, reply);
    if (caller === undefined) return reply;
    return { mode, tokens: true, identity: caller?.identity, groups: caller?.groups };
  });

  app.get('/api/releases', async (req, reply) => {
    if ((await reader(req, reply)) === undefined) return reply;
    const q = req.query as Record<string, string | undefined>;
    const filter: ListFilter = {};
    for (const key of FILTERS) {
      const value = q[key]?.trim();
      if (value) filter[key] = value;
    }
    if (q.running === 'true') filter.running = true;
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return problem(reply, 400, 'bad request', 'limit must be an integer from 1 to 500');
    filter.limit = limit;
    try {
      const releases = await guard.call(() => shipyard.list(filter));
      count(ROUTE, 'list');
      return { releases, filter, readAt: new Date().toISOString() };
    } catch (err) {
      return usageError(reply, err);
    }
  });

  app.get('/api/releases/*', async (req, reply) => {
    if ((await reader(req, reply)) === undefined) return reply;
    const id = idOf(req);
    if (!id) return problem(reply, 400, 'bad request', 'the release ID in the path is not valid');
    try {
      const view = await guard.call(() => releaseView(shipyard, id, plans));
      count(ROUTE, 'release');
      return view;
    } catch (err) {
      return usageError(reply, err);
    }
  });

  app.get('/api/trains', async (req, reply) => {
    if ((await reader(req, reply)) === undefined) return reply;
    const trains = await guard.call(() => listTrains(shipyard, 50));
    count(ROUTE, 'trains');
    return { trains };
  });

  app.get('/api/trains/*', async (req, reply) => {
    if ((await reader(req, reply)) === undefined) return reply;
    const id = idOf(req);
    if (!id) return problem(reply, 400, 'bad request', 'the train ID in the path is not valid');
    try {
      const train = await guard.call(() => trainStatus(shipyard, id));
      count(ROUTE, 'train');
      return { url: shipyard.url(id), ...train };
    } catch (err) {
      return usageError(reply, err);
    }
  });

  app.get('/api/dora', async (req, reply) => {
    if ((await reader(req, reply)) === undefined) return reply;
    if (!deps.dora) return problem(reply, 404, 'not configured', 'DORA metrics are not enabled on this gateway');
    const q = req.query as Record<string, string | undefined>;
    const m = /^(\d{1,3})d$/.exec(q.window ?? '30d');
    const windowDays = m ? Number(m[1]) : NaN;
    if (!(windowDays >= 1 && windowDays <= 365)) return problem(reply, 400, 'bad request', 'window must be days, 1d to 365d (e.g. 30d)');
    try {
      const result = await guard.call(() => deps.dora!({ service: q.service || undefined, environment: q.environment || undefined, windowDays }));
      count(ROUTE, 'dora');
      return result;
    } catch (err) {
      return usageError(reply, err);
    }
  });
}
