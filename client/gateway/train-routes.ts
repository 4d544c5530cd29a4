// POST /api/trains { train: <train spec, services' specs inline>, commits: { <service>: <full sha> } }
// starts a release train (or attaches to the running one with the same commits), with the decision
// API's authentication: a verified bearer ID token, or in development mode the `by` the body names.
// 202 { status: started | existing | ended, trainId, url }; 422 with every issue for a train that cannot be used.
// POST /api/trains/<train ID>/approve|reject { gate?, comment? } decides a gate (gate = the service it is
// after; default: the one pending) with a statement signed for that train and gate, as the release
// routes do: 403 with the train's refusal, 404 unknown train, 409 no gate pending.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TrainSpecError, validateTrainSpec } from '../../spec/train-load.js';
import type { ShipyardClient } from '../index.js';
import { isFullCommit } from '../release-id.js';
import { decideTrainGate, startTrain, trainId, trainStatus } from '../train.js';
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
      const full = Object.fromEntries(train.services.map((s) => [s.name, given[s.name] as string]));
      // A start statement for the train ID: the train's four-eyes gates then know who triggered it.
      const statement = await identity.statement(caller, { rel: trainId(train.name, full), act: 'start' });
      const started = await guard.call(() => startTrain(shipyard, { train, commits: full, trigger: { kind: 'api', by: caller.identity, ...(statement ? { statement } : {}) } }));
      count('api', 'train_started');
      req.log.info({ trainId: started.trainId, by: caller.identity, authenticated: caller.authenticated, started: started.started }, 'api train');
      return reply.code(202).send({ status: started.started ? 'started' : started.state === 'running' ? 'existing' : 'ended', trainId: started.trainId, url: started.url, by: caller.identity, authenticated: caller.authenticated });
    } catch (err) {
      return deps.refusal(reply, err);
    }
  });

  app.post('/api/trains/*', async (req, reply) => {
    const tail = (req.params as { '*': string })['*'] ?? '';
    const cut = tail.lastIndexOf('/');
    const action = tail.slice(cut + 1);
    if (cut <= 0 || (action !== 'approve' && action !== 'reject')) return problem(reply, 404, 'not found', 'POST /api/trains/<train ID>/{approve,reject}');
    let id: string;
    try {
      id = decodeURIComponent(tail.slice(0, cut));
    } catch {
      count('api', 'bad_request');
      return problem(reply, 400, 'bad request', 'the train ID in the path is not valid percent-encoding');
    }
    const begun = await deps.begin(req, reply);
    if (!begun) return reply;
    const { body, caller } = begun;
    const text = (v: unknown, max: number) => v === undefined || (typeof v === 'string' && v.length <= max);
    if (!text(body.gate, 256) || !text(body.comment, 2000)) {
      count('api', 'bad_request');
      return problem(reply, 400, 'bad request', 'gate and comment must be text (comment at most 2000 characters)');
    }
    const comment = body.comment as string | undefined;
    try {
      // The statement names the gate: the one asked for, or the one pending now.
      const pending = (await guard.call(() => trainStatus(shipyard, id, false))).gates.filter((g) => g.state === 'pending').map((g) => g.after);
      const gate = (body.gate as string | undefined) ?? (pending.length === 1 ? pending[0] : undefined);
      if (!gate || !pending.length) {
        count('api', 'refused');
        return problem(reply, 409, 'refused', pending.length > 1 ? `gates after ${pending.join(', ')} are pending on ${id}: name one with "gate"` : `no gate is pending on train ${id}`);
      }
      const statement = await identity.statement(caller, { rel: id, act: action, gate, ...(comment ? { comment } : {}) });
      const request = { gate, approver: caller.identity, comment, via: caller.via, ...(statement ? { statement } : {}) };
      const result = await guard.call(() => decideTrainGate(shipyard, id, action, request));
      count('api', action === 'approve' ? 'approved' : 'rejected');
      req.log.info({ trainId: id, gate, by: caller.identity, authenticated: caller.authenticated, action }, 'api train decision');
      return { trainId: id, by: caller.identity, authenticated: caller.authenticated, ...result };
    } catch (err) {
      return deps.refusal(reply, err);
    }
  });
}
