// Trains from the client side: the train ID, start (or attach), status with each release's own
// stage, list from visibility, and the gate decisions. The CLI and the gateway use these.
import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import type { TrainSpec } from '../spec/train-schema.js';
import { TASK_QUEUES } from '../workflows/messages.js';
import { SA } from '../workflows/search-attributes.js';
import { TRAIN_FAILURE_TYPES, trainApproveUpdate, trainRejectUpdate, trainStatusQuery } from '../workflows/train-messages.js';
import type { TrainDecisionReply, TrainInput, TrainStatus } from '../workflows/train-types.js';
import type { Trigger } from '../workflows/types.js';
import { resolveCommit } from './commit.js';
import { ShipyardUsageError } from './errors.js';
import type { ShipyardClient } from './index.js';
import { startOrAttach } from './start-or-attach.js';

/** train/<name>/<first 16 hex of sha256 over the sorted service=commit pairs>: the same train twice attaches. */
export function trainId(name: string, commits: Record<string, string>): string {
  const key = Object.keys(commits)
    .sort()
    .map((s) => `${s}=${commits[s]}`)
    .join('\n');
  return `train/${name}/${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** `svc=SHA` pairs from the command line; every service of the train needs one, and only those. */
export function parseCommitArgs(train: TrainSpec, pairs: string[]): Record<string, string> {
  const commits: Record<string, string> = {};
  for (const p of pairs) {
    const m = /^([a-z0-9-]+)=(\S+)$/.exec(p);
    if (!m) throw new ShipyardUsageError(`--commit '${p}' must be <service>=<sha>`);
    commits[m[1]] = m[2];
  }
  const names = train.services.map((s) => s.name);
  const unknown = Object.keys(commits).filter((s) => !names.includes(s));
  if (unknown.length) throw new ShipyardUsageError(`--commit for ${unknown.join(', ')}: not a service of train ${train.name} (${names.join(', ')})`);
  const missing = names.filter((s) => !commits[s]);
  if (missing.length) throw new ShipyardUsageError(`no --commit for ${missing.join(', ')}: every service of train ${train.name} needs one (--commit ${missing[0]}=<sha>)`);
  return commits;
}

export interface StartTrainOptions {
  train: TrainSpec;
  commits: Record<string, string>;
  trigger: Trigger;
  taskQueues?: { orchestrator?: string; build?: string; deploy?: string };
  /** A git checkout to resolve short commits in (the CLI's working directory). */
  checkout?: string;
}

export interface StartedTrain {
  trainId: string;
  runId: string;
  started: boolean;
  state: 'started' | 'running' | 'ended';
  commits: Record<string, string>;
  url: string;
}

export async function startTrain(shipyard: ShipyardClient, opts: StartTrainOptions): Promise<StartedTrain> {
  const commits: Record<string, string> = {};
  for (const s of opts.train.services) {
    if (!opts.commits[s.name]) throw new ShipyardUsageError(`no commit for ${s.name}`);
    commits[s.name] = await resolveCommit(opts.commits[s.name], { repo: s.spec.source.repo, checkout: opts.checkout });
  }
  const id = trainId(opts.train.name, commits);
  const queues = { ...shipyard.taskQueues, ...opts.taskQueues };
  const input: TrainInput = {
    train: opts.train,
    commits,
    trigger: opts.trigger,
    ...(queues.build || queues.deploy ? { taskQueues: { build: queues.build, deploy: queues.deploy } } : {}),
  };
  const url = shipyard.url(id);
  try {
    const { runId, started } = await startOrAttach(shipyard.client, 'trainWorkflow', {
      workflowId: id,
      taskQueue: queues.orchestrator ?? TASK_QUEUES.orchestrator,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: new TypedSearchAttributes([
        { key: SA.train, value: id },
        { key: SA.outcome, value: 'running' },
        { key: SA.trigger, value: opts.trigger.kind },
      ]),
      memo: { services: opts.train.services.map((s) => s.name), triggeredBy: opts.trigger.by },
    });
    return { trainId: id, runId, started, state: started ? 'started' : 'running', commits, url };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const d = await shipyard.client.workflow.getHandle(id).describe();
    return { trainId: id, runId: d.runId, started: false, state: d.status.name === 'RUNNING' ? 'running' : 'ended', commits, url };
  }
}

/** The train's graph (live, or the final one), each release with its own stage read from its status query. */
export async function trainStatus(shipyard: ShipyardClient, id: string, withStages = true): Promise<TrainStatus & { stages?: Record<string, string> }> {
  const handle = shipyard.client.workflow.getHandle(id);
  let status: TrainStatus;
  let d;
  try {
    d = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ShipyardUsageError(`no train with ID ${id}`, 'not-found');
    throw err;
  }
  if (d.status.name === 'RUNNING') status = await handle.query(trainStatusQuery);
  else {
    try {
      status = (await handle.result()) as TrainStatus;
    } catch (err) {
      const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
      const details = cause instanceof ApplicationFailure && Object.values(TRAIN_FAILURE_TYPES).includes(cause.type as never) ? (cause.details?.[0] as TrainStatus | undefined) : undefined;
      status = details ?? (await handle.query(trainStatusQuery));
    }
  }
  if (!withStages) return status;
  const stages: Record<string, string> = {};
  await Promise.all(
    status.services
      .filter((s) => s.state !== 'pending' && s.state !== 'skipped')
      .map(async (s) => {
        try {
          const r = await shipyard.status(s.releaseId);
          stages[s.name] = r.outcome === 'running' ? `${r.stage}${r.environment ? ` in ${r.environment}` : ''}` : r.outcome;
        } catch (err) {
          stages[s.name] = `unknown (${(err as Error).message.split('\n')[0]})`;
        }
      }),
  );
  return { ...status, stages };
}

export interface TrainSummary {
  trainId: string;
  status: string;
  outcome: string;
  startedAt: string;
  url: string;
}

export async function listTrains(shipyard: ShipyardClient, limit = 20): Promise<TrainSummary[]> {
  const out: TrainSummary[] = [];
  for await (const w of shipyard.client.workflow.list({ query: `WorkflowType = 'trainWorkflow'` })) {
    out.push({
      trainId: w.workflowId,
      status: w.status.name,
      outcome: String(w.typedSearchAttributes.get(SA.outcome) ?? ''),
      startedAt: w.startTime.toISOString(),
      url: shipyard.url(w.workflowId),
    });
    if (out.length >= limit) break;
  }
  return out;
}

export async function decideTrainGate(
  shipyard: ShipyardClient,
  id: string,
  kind: 'approve' | 'reject',
  req: { gate: string; approver: string; comment?: string; statement?: string; via?: string },
): Promise<TrainDecisionReply> {
  const handle = shipyard.client.workflow.getHandle(id);
  try {
    return await handle.executeUpdate(kind === 'approve' ? trainApproveUpdate : trainRejectUpdate, { args: [req] });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ShipyardUsageError(`no running train with ID ${id}`, 'not-found');
    const msg = (err as Error).message;
    if (/not an approver|not pending|no gate|already approved|refused/.test(msg) || (err as { name?: string }).name === 'WorkflowUpdateFailedError') {
      throw new ShipyardUsageError(`${kind} refused: ${(err as { cause?: Error }).cause?.message ?? msg}`, 'refused');
    }
    throw err;
  }
}
