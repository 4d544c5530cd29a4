// Activity proxies with their timeouts and retry policies: every budget is computed here.
// Retries are Temporal's: activities throw non-retryable ApplicationFailures for what retrying cannot fix.
//
// Budgets: an activity's start-to-close is what its work can take (settle + operation + margin);
// its heartbeat timeout is what tells a dead worker from a slow one. Activities heartbeat every 2 s
// (the workers flush heartbeats every 2 s), so HEARTBEAT_TIMEOUT of 15 s lets a new worker take a
// stage over within ~20 s of the old one dying, whatever the operation's own timeout.
import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { BuildActivities, DeployActivities, IntegrationActivities } from '../activities/types.js';
import type { CoordinationActivities } from '../activities/coordination-types.js';
import { parseDuration } from '../spec/duration.js';
import { TASK_QUEUES } from './messages.js';

export interface ActivityQueues {
  build: string;
  deploy: string;
}

export const HEARTBEAT_TIMEOUT = '15s';
const MARGIN_MS = 60_000;
/**
 * The one place activity budgets are computed (milliseconds), T being the operation's own timeout.
 *  - helm: settle (someone else's pending operation: up to 2T + 30 s when an --atomic upgrade rolls
 *    back) + recovery of a stuck revision (T) + the operation (an --atomic upgrade: up to 2T) + a
 *    2-minute margin = 5T + 2 m for every helm activity (activities/deploy/helm-cli.ts)
 *  - change: the operation (a rollout wait of T) + margin; 10 minutes when it has none
 *  - health: the wait (T) + margin
 */
export function activityBudget(kind: 'helm' | 'change' | 'health', timeout?: string): number {
  const op = timeout ? parseDuration(timeout) : 0;
  if (kind === 'helm') return 5 * op + 2 * MARGIN_MS;
  if (kind === 'health') return op + MARGIN_MS;
  return timeout ? op + MARGIN_MS : 10 * 60_000;
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
    judge: judgeProxy(deployQueue),
    integration: integrationProxy(deployQueue),
    mutate: (timeout?: string) => changeProxy(deployQueue, activityBudget('change', timeout), 5, true),
    /** helm operations (deploy, promote, and the revision read, which settles first). */
    helm: (timeout: string) => changeProxy(deployQueue, activityBudget('helm', timeout), 5, true),
    health: (timeout: string) => healthProxy(deployQueue, timeout),
    compensate: (timeout?: string, budget: 'helm' | 'change' = 'change') => changeProxy(deployQueue, activityBudget(budget, timeout), 10, false),
    /** Leases and freeze subscriptions: Temporal calls on the orchestrator's own task queue. */
    coordination: coordinationProxy(),
  };
}

type Queue = { taskQueue: string };

/** Builds and image pushes: long, heartbeating, cancelled by killing the child process. */
const buildProxy = (taskQueue: string) => proxyActivities<BuildActivities>({
  taskQueue,
  startToCloseTimeout: '45m',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 3 },
});

/** Reads: quick, safe to retry; a worker lost mid-read is noticed after 15 s. */
const readProxy = (deployQueue: Queue) => proxyActivities<DeployActivities>({
  ...deployQueue,
  startToCloseTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/**
 * Changes to a cluster or config repo. `waitCancel`: a cancelled release waits for the activity to
 * stop (it heartbeats and kills helm) before compensating, so an undo never races the change it undoes.
 */
function changeProxy(deployQueue: Queue, budgetMs: number, maximumAttempts: number, waitCancel: boolean): DeployActivities {
  return proxyActivities<DeployActivities>({
    ...deployQueue,
    startToCloseTimeout: budgetMs,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts },
    ...(waitCancel ? { cancellationType: 'WAIT_CANCELLATION_COMPLETED' as ActivityOptions['cancellationType'] } : {}),
  });
}

/** Health waits are bounded by the spec's timeout. */
function healthProxy(deployQueue: Queue, timeout: string): DeployActivities {
  return proxyActivities<DeployActivities>({
    ...deployQueue,
    startToCloseTimeout: activityBudget('health', timeout),
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: { initialInterval: '2s', maximumAttempts: 3 },
  });
}

/** One measurement; a failed query counts toward the metric's consecutiveErrorLimit rather than being retried long. */
const measureProxy = (deployQueue: Queue) => proxyActivities<DeployActivities>({
  ...deployQueue,
  // A query is bounded at 15 s by the provider; a worker lost mid-query is noticed after 18 s and the
  // retry offered a second later (inside the ~20 s a new worker has to take any stage over).
  startToCloseTimeout: '18s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});

/**
 * A judgement: a few range queries at once (each bounded at 15 s). The window is fixed, so a retry
 * judges the same samples: retried for about a minute, long enough to ride out a Prometheus restart
 * before the step gives up (and the canary rolls back).
 */
const judgeProxy = (deployQueue: Queue) => proxyActivities<DeployActivities>({
  ...deployQueue,
  startToCloseTimeout: '40s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/** Notifications and JIRA: their own small budget; a failure is recorded, never fails the release. */
const integrationProxy = (deployQueue: Queue) => proxyActivities<IntegrationActivities>({
  ...deployQueue,
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 4 },
});

/** Signal-with-start calls to the lease and freeze workflows: retried until Temporal takes them. */
const coordinationProxy = () => proxyActivities<CoordinationActivities>({
  taskQueue: workflowInfo().taskQueue,
  startToCloseTimeout: '15s',
  // A request cancelled in flight may still reach the lease: wait for it, so giving back comes after.
  cancellationType: 'WAIT_CANCELLATION_COMPLETED' as ActivityOptions['cancellationType'],
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});

/** How long a finished release waits for its last notifications before completing. */
export const NOTIFICATION_DRAIN_BUDGET = '1m';
/** How long earlier notifications still in flight may finish before the release ends without them. */
export const NOTIFICATION_GRACE = '5s';
