// Activity proxies with their timeouts and retry policies, one place for all of them.
// Retries are Temporal's: activities throw non-retryable ApplicationFailures for what retrying cannot fix.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { BuildActivities, DeployActivities, IntegrationActivities } from '../activities/types.js';
import { parseDuration } from '../spec/duration.js';
import { TASK_QUEUES } from './messages.js';

export interface ActivityQueues {
  build: string;
  deploy: string;
}

export type ActivityProxies = ReturnType<typeof createActivityProxies>;

/** The activity proxies of one release; task queues may be overridden per release (worker pools, tests). */
export function createActivityProxies(queues: Partial<ActivityQueues> = {}) {
  const buildQueue = queues.build ?? TASK_QUEUES.build;
  const deployQueue = { taskQueue: queues.deploy ?? TASK_QUEUES.deploy };
  return {
    build: buildProxy(buildQueue),
    read: readProxy(deployQueue),
    measure: measureProxy(deployQueue),
    integration: integrationProxy(deployQueue),
    mutate: (timeout?: string) => mutateProxy(deployQueue, timeout),
    health: (timeout: string) => healthProxy(deployQueue, timeout),
    compensate: (timeout?: string) => compensateProxy(deployQueue, timeout),
  };
}

type Queue = { taskQueue: string };

/** Builds and image pushes: long, heartbeating, cancelled by killing the child process. */
const buildProxy = (taskQueue: string) => proxyActivities<BuildActivities>({
  taskQueue,
  startToCloseTimeout: '45m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 3 },
});

/** Reads: cheap, safe to retry. */
const readProxy = (deployQueue: Queue) => proxyActivities<DeployActivities>({
  ...deployQueue,
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/** Changes to a cluster or config repo, bounded by the step's own timeout plus a margin. */
function changeProxy(deployQueue: Queue, timeout: string | undefined, maximumAttempts: number, extra: Partial<ActivityOptions> = {}): DeployActivities {
  const budget = timeout ? parseDuration(timeout) + 2 * 60_000 : 10 * 60_000;
  return proxyActivities<DeployActivities>({
    ...deployQueue,
    startToCloseTimeout: budget,
    heartbeatTimeout: '30s',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts },
    ...extra,
  });
}

/**
 * A change. A cancelled release waits for the activity to stop (it heartbeats and kills helm)
 * before compensating, so an undo never races the change it undoes.
 */
function mutateProxy(deployQueue: Queue, timeout?: string): DeployActivities {
  return changeProxy(deployQueue, timeout, 5, { cancellationType: 'WAIT_CANCELLATION_COMPLETED' as ActivityOptions['cancellationType'] });
}

/** Health waits are bounded by the spec's timeout. */
function healthProxy(deployQueue: Queue, timeout: string): DeployActivities {
  return proxyActivities<DeployActivities>({
    ...deployQueue,
    startToCloseTimeout: parseDuration(timeout) + 60_000,
    heartbeatTimeout: '30s',
    retry: { initialInterval: '2s', maximumAttempts: 3 },
  });
}

/** One measurement; a failed query counts toward the metric's consecutiveErrorLimit rather than being retried long. */
const measureProxy = (deployQueue: Queue) => proxyActivities<DeployActivities>({
  ...deployQueue,
  // A query is bounded at 15 s by the provider; a worker lost mid-query is noticed after 20 s.
  startToCloseTimeout: '20s',
  retry: { initialInterval: '1s', maximumAttempts: 2 },
});

/** Undo steps: retried harder, they are the last line before a half-rolled-back release. */
function compensateProxy(deployQueue: Queue, timeout?: string): DeployActivities {
  return changeProxy(deployQueue, timeout, 10);
}

/** Notifications and JIRA: their own small budget; a failure is recorded, never fails the release. */
const integrationProxy = (deployQueue: Queue) => proxyActivities<IntegrationActivities>({
  ...deployQueue,
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 4 },
});

/** How long a finished release waits for its last notifications before completing. */
export const NOTIFICATION_DRAIN_BUDGET = '1m';
/** How long earlier notifications still in flight may finish before the release ends without them. */
export const NOTIFICATION_GRACE = '5s';
