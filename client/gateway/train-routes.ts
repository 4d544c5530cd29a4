// POST /api/trains { train: <train spec, services' specs inline>, commits: { <service>: <full sha> } }
// starts a release train (or attaches to the running one with the same commits), with the decision
// API's authentication: a verified bearer ID token, or in development mode the `by` the body names.
// 202 { status: started | existing | ended, trainId, url }; 422 with every issue for a train that cannot be used.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TrainSpecError, validateTrainSpec } from '../../spec/train-load.js';
import type { ShipyardClient } from '../index.js';
import { isFullCommit } from '../release-id.js';
import { startTrain } from '../train.js';
import type { Caller, GatewayIdentity } from './identity.js';
import { problem } from './http.js';
import type { TemporalGuard } from './temporal-guard.js';

export interface TrainRouteDeps {
  shipyard: ShipyardClient;
  guard: TemporalGuard;
  identity: GatewayIdentity;
  count: (route: string, outcome: string) => void;
  /** The decision API's body parsing and caller check (undefined: a refusal was sent). */
  begin: (req: FastifyRequest, reply: FastifyReply) => Promise<{ body: Record<string, unknown>; caller: Caller } | undefined>;
  /** The decision API's answer to a ShipyardUsageError (404/403/422); rethrows anything else. */
  refusal: (reply: FastifyReply, err: unknown) => unknown;
}

export function registerTrainRoutes(app: FastifyInstance, deps: TrainRouteDeps): void {
  const { shipyard, guard, identity, count } = deps;
  app.post('/api/trains', async (req, reply) => {
    const begun = await deps.begin(req, reply);
    if (!begun) return reply;
    const { body, caller } = begun;
    if (identity.production && !caller.authenticated) return problem(reply, 401, 'unauthorized', 'production mode: starting a train needs a verified identity');
    let train;
    try {
      train = validateTrainSpec(body.train, 'train');
    } catch (err) {
      if (!(err instanceof TrainSpecError)) throw err;
      count('api', 'unprocessable');
      return reply.code(422).send({ error: 'invalid train spec', detail: err.message, issues: err.issues });
    }
    const commits = body.commits as Record<string, unknown> | undefined;
    const given = commits && typeof commits === 'object' && !Array.isArray(commits) ? commits : {};
    const bad = train.services.filter((s) => typeof given[s.name] !== 'string' || !isFullCommit(given[s.name] as string)).map((s) => s.name);
    if (bad.length) {
      count('api', 'bad_request');
      return problem(reply, 400, 'bad request', `commits: a full commit hash is needed for ${bad.join(', ')} (every service of train ${train.name})`);
    }
    try {
      const started = await guard.call(() =>
        startTrain(shipyard, { train, commits: Object.fromEntries(train.services.map((s) => [s.name, given[s.name] as string])), trigger: { kind: 'api', by: caller.identity } }),
      );
      count('api', 'train_started');
      req.log.info({ trainId: started.trainId, by: caller.identity, authenticated: caller.authenticated, started: started.started }, 'api train');
      return reply.code(202).send({ status: started.started ? 'started' : started.state === 'running' ? 'existing' : 'ended', trainId: started.trainId, url: started.url, by: caller.identity, authenticated: caller.authenticated });
    } catch (err) {
      return deps.refusal(reply, err);
    }
  });
}
