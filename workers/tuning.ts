// The orchestrator worker's capacity settings, from the environment. They decide how many releases
// one orchestrator process keeps in memory and how fast it answers after a restart; the defaults and
// how to size them are in README "Large fleets: worker settings" (measured with bench/fleet.ts).
//   SHIPYARD_MAX_CACHED_WORKFLOWS            sticky cache: workflows kept in memory between their tasks.
//                                           An evicted release costs a replay of its history on its next
//                                           task or query; a cached one costs memory.
//   SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS   workflow tasks (and legacy queries) processed at once
//   SHIPYARD_MAX_WORKFLOW_TASK_POLLS         concurrent long polls for workflow tasks
//   SHIPYARD_WORKFLOW_THREADS                workflow threads (each a V8 isolate with its own heap)
//   SHIPYARD_REUSE_V8_CONTEXT                true (default) or false: one V8 context per thread shared by
//                                           its workflows (SDK default, far less memory per workflow)
//   SHIPYARD_STICKY_TIMEOUT                  how long a task (or query) for a cached workflow waits for this
//                                           worker before the server gives it to any worker, e.g. 10s. After a
//                                           crash, queries to the dead worker's workflows wait this long.
// Unset means the default below; an unreadable value stops the worker with a message naming it.
import type { WorkerOptions } from '@temporalio/worker';
import { parseDuration } from '../spec/duration.js';

export interface OrchestratorTuning {
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number;
  maxConcurrentWorkflowTaskPolls: number;
  workflowThreadPoolSize: number;
  reuseV8Context: boolean;
  /** Milliseconds. */
  stickyQueueScheduleToStartTimeout: number;
}

/**
 * Chosen with bench/fleet.ts (10,000 releases parked at approvals, 2 cores): see README. A bigger cache
 * answers more releases without a replay but costs memory per cached release; past a few thousand the
 * restart time is bound by replays, which the cache does not help with.
 */
export const DEFAULT_TUNING: OrchestratorTuning = {
  maxCachedWorkflows: 500,
  maxConcurrentWorkflowTaskExecutions: 40,
  maxConcurrentWorkflowTaskPolls: 10,
  workflowThreadPoolSize: 1,
  reuseV8Context: true,
  stickyQueueScheduleToStartTimeout: 10_000,
};

export class TuningError extends Error {
  override name = 'TuningError';
}

const VARIABLES: Record<Exclude<keyof OrchestratorTuning, 'reuseV8Context' | 'stickyQueueScheduleToStartTimeout'>, { name: string; min: number; max: number }> = {
  maxCachedWorkflows: { name: 'SHIPYARD_MAX_CACHED_WORKFLOWS', min: 0, max: 1_000_000 },
  maxConcurrentWorkflowTaskExecutions: { name: 'SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS', min: 2, max: 10_000 },
  maxConcurrentWorkflowTaskPolls: { name: 'SHIPYARD_MAX_WORKFLOW_TASK_POLLS', min: 2, max: 1_000 },
  workflowThreadPoolSize: { name: 'SHIPYARD_WORKFLOW_THREADS', min: 1, max: 64 },
};

function integer(env: NodeJS.ProcessEnv, key: keyof typeof VARIABLES, fallback: number): number {
  const { name, min, max } = VARIABLES[key];
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new TuningError(`${name}='${raw}' is not a whole number`);
  const n = Number(raw);
  if (n < min || n > max) throw new TuningError(`${name}=${n} is out of range (${min}..${max})`);
  return n;
}

function stickyTimeout(raw: string | undefined): number {
  if (!raw) return DEFAULT_TUNING.stickyQueueScheduleToStartTimeout;
  let ms: number;
  try {
    ms = parseDuration(raw);
  } catch {
    throw new TuningError(`SHIPYARD_STICKY_TIMEOUT='${raw}' is not a duration (e.g. 5s)`);
  }
  if (ms < 1000 || ms > 600_000) throw new TuningError(`SHIPYARD_STICKY_TIMEOUT=${raw} is out of range (1s..10m)`);
  return ms;
}

export function orchestratorTuningFromEnv(env: NodeJS.ProcessEnv = process.env): OrchestratorTuning {
  const reuse = env.SHIPYARD_REUSE_V8_CONTEXT?.trim().toLowerCase();
  if (reuse && reuse !== 'true' && reuse !== 'false') throw new TuningError(`SHIPYARD_REUSE_V8_CONTEXT='${env.SHIPYARD_REUSE_V8_CONTEXT}' is not true or false`);
  const t: OrchestratorTuning = {
    maxCachedWorkflows: integer(env, 'maxCachedWorkflows', DEFAULT_TUNING.maxCachedWorkflows),
    maxConcurrentWorkflowTaskExecutions: integer(env, 'maxConcurrentWorkflowTaskExecutions', DEFAULT_TUNING.maxConcurrentWorkflowTaskExecutions),
    maxConcurrentWorkflowTaskPolls: integer(env, 'maxConcurrentWorkflowTaskPolls', DEFAULT_TUNING.maxConcurrentWorkflowTaskPolls),
    workflowThreadPoolSize: integer(env, 'workflowThreadPoolSize', DEFAULT_TUNING.workflowThreadPoolSize),
    reuseV8Context: reuse ? reuse === 'true' : DEFAULT_TUNING.reuseV8Context,
    stickyQueueScheduleToStartTimeout: stickyTimeout(env.SHIPYARD_STICKY_TIMEOUT?.trim()),
  };
  // The SDK would quietly lower these; say so instead.
  if (t.maxCachedWorkflows === 1) throw new TuningError('SHIPYARD_MAX_CACHED_WORKFLOWS=1: use 0 (no cache) or at least 2');
  if (t.maxCachedWorkflows > 0 && t.maxConcurrentWorkflowTaskExecutions > t.maxCachedWorkflows) {
    throw new TuningError(
      `SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS=${t.maxConcurrentWorkflowTaskExecutions} exceeds SHIPYARD_MAX_CACHED_WORKFLOWS=${t.maxCachedWorkflows}: every running task needs a cache slot`,
    );
  }
  return t;
}

/** The Worker.create options for a tuning. */
export function tuningOptions(t: OrchestratorTuning): Partial<WorkerOptions> {
  return {
    maxCachedWorkflows: t.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: t.maxConcurrentWorkflowTaskExecutions,
    workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: Math.min(t.maxConcurrentWorkflowTaskPolls, t.maxConcurrentWorkflowTaskExecutions) },
    workflowThreadPoolSize: t.workflowThreadPoolSize,
    reuseV8Context: t.reuseV8Context,
    stickyQueueScheduleToStartTimeout: t.stickyQueueScheduleToStartTimeout,
  };
}

/** One line for the worker's start message. */
export function describeTuning(t: OrchestratorTuning): string {
  return (
    `cache ${t.maxCachedWorkflows} workflows, ${t.maxConcurrentWorkflowTaskExecutions} workflow tasks at once, ` +
    `${t.maxConcurrentWorkflowTaskPolls} polls, ${t.workflowThreadPoolSize} workflow thread(s), sticky timeout ${t.stickyQueueScheduleToStartTimeout / 1000}s` +
    (t.reuseV8Context ? '' : ', one V8 context per workflow')
  );
}
