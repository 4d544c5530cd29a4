// Starting a release whose spec is in the application repository (`release start --repo`, gateway
// routes without `spec:`): the pipeline workflow reads the spec at the commit on the build worker and
// starts the release (workflows/pipeline.ts); this waits for it, which takes a checkout and a helm
// package, and says what came of it. A spec that cannot be used is a usage error with its issues.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isLocalRepo } from '../spec/paths.js';
import { TASK_QUEUES } from '../workflows/messages.js';
import type { PipelineInput, PipelineResult } from '../workflows/pipeline.js';
import { ShipyardUsageError } from './errors.js';
import { withStartStatement, type FinalState, type ShipyardClient, type StartedRelease } from './index.js';
import { validateCommit } from './release-id.js';

/**
 * What `release start --repo` and the gateway pass: the pipeline's input (workflows/pipeline.ts).
 * A local path as `repo` is made absolute (for the workers on this machine).
 */
export type StartFromRepoOptions = PipelineInput & { signStart?: (pipelineId: string) => Promise<string | undefined> };

export interface StartedFromRepo extends StartedRelease {
  service: string;
  specPath: string;
  specSha256: string;
  /** The pipeline workflow that read the spec. */
  pipelineId: string;
}

/** Failure types of the pipeline that are the caller's to fix (exit code 2), not an outage. */
const USAGE_TYPES = new Set(['InvalidSpec', 'InvalidReleaseInput', 'CommitNotFound', 'ChartNotFound', 'InvalidChart', 'ChartTooLarge']);

/** A readable key for a repository URL: its last path segment and a hash of the whole URL. */
export function repoSlug(repo: string): string {
  const name = repo.replace(/\/+$/, '').replace(/\.git$/, '').split(/[/:]/).pop()?.replace(/[^A-Za-z0-9._-]/g, '') || 'repo';
  return `${name}-${createHash('sha256').update(repo).digest('hex').slice(0, 8)}`;
}

export function pipelineId(repo: string, commit: string, environments: string[] = [], buildOnly = false): string {
  const envs = buildOnly ? 'build' : [...new Set(environments)].sort().join('+') || 'all';
  return `pipeline/${repoSlug(repo)}/${envs}/${commit}`;
}

function innermost(err: unknown): ApplicationFailure | undefined {
  let e: unknown = err;
  let found: ApplicationFailure | undefined;
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure) found = e;
    e = (e as { cause?: unknown }).cause;
  }
  return found;
}

export interface StartedPipeline {
  /** The pipeline workflow (a running one for the same repository, commit and environments is reused). */
  pipelineId: string;
  url: string;
}

/** Starts the pipeline workflow (or finds the running one) without waiting: the gateway's way. */
export async function startPipeline(c: ShipyardClient, opts: StartFromRepoOptions): Promise<StartedPipeline & { handle: WorkflowHandle }> {
  if (!opts.repo?.trim()) throw new ShipyardUsageError('--repo needs the git URL of the application repository');
  validateCommit(opts.commit);
  const repo = isLocalRepo(opts.repo) ? resolve(opts.repo) : opts.repo;
  const queues = { ...c.taskQueues, ...opts.taskQueues };
  const id = pipelineId(repo, opts.commit, opts.environments, opts.buildOnly);
  const { signStart, ...rest } = opts;
  const input: PipelineInput = { ...rest, repo, trigger: await withStartStatement(opts.trigger, id, signStart), taskQueues: queues.build || queues.deploy || queues.orchestrator ? queues : undefined };
  // A running pipeline for the same thing: use it. An ended one: read again (cheap, and the release
  // start behind it is idempotent by release ID).
  const handle = await c.client.workflow.start('pipelineWorkflow', {
    workflowId: id,
    taskQueue: queues.orchestrator ?? TASK_QUEUES.orchestrator,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    memo: { repo, commit: opts.commit, triggeredBy: opts.trigger.by },
  });
  return { pipelineId: id, url: c.url(id), handle };
}

/** Starts the pipeline and waits for it: the release it started or attached to, or why it could not. */
export async function startFromRepo(c: ShipyardClient, opts: StartFromRepoOptions): Promise<StartedFromRepo> {
  const { pipelineId: id, handle } = await startPipeline(c, opts);
  let result: PipelineResult;
  try {
    result = (await handle.result()) as PipelineResult;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = innermost(err);
    const message = cause?.message ?? err.message;
    if (cause?.type && USAGE_TYPES.has(cause.type)) throw new ShipyardUsageError(message);
    throw new Error(`reading the release spec from ${opts.repo} at ${opts.commit} failed: ${message}`);
  }
  return { ...result, ended: result.ended && { outcome: result.ended.outcome as FinalState['outcome'], message: result.ended.message }, pipelineId: id };
}
