// One release as the dashboard's release page shows it: the status the release reports (live query
// while it runs, its result once it ended), how the run ended, and what its spec said the canary
// would be judged against (metric threshold ranges, judge thresholds, the steps). The spec comes
// from the run's start event: the release never reports it, and it cannot change within a run.
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { ShipyardClient } from './index.js';
import type { ReleaseInput, ReleaseStatus } from '../workflows/types.js';
import type { EnvironmentPlan, ReleaseView } from './view-types.js';

export type { EnvironmentPlan, ReleaseView };
import { rowOutcome } from './list.js';
import { describeStep } from '../spec/describe-step.js';
import { SA } from '../workflows/search-attributes.js';
import { statusQuery } from '../workflows/messages.js';

export function planOf(input: ReleaseInput): EnvironmentPlan[] {
  const chosen = input.environments && input.environments.length ? new Set(input.environments) : undefined;
  return input.spec.environments
    .filter((e) => !input.buildOnly && (!chosen || chosen.has(e.name)))
    .map((e) => {
      const plan: EnvironmentPlan = { name: e.name };
      const clusters = (e as { clusters?: { name: string }[] }).clusters;
      if (clusters?.length) plan.clusters = clusters.map((c) => c.name);
      if (e.approval) plan.approval = { approvers: e.approval.approvers, required: e.approval.required };
      if (e.canary) {
        const judge = e.canary.judge;
        plan.canary = {
          steps: e.canary.steps.map(describeStep),
          metrics: e.canary.metrics.map((m) => ({ name: m.name, min: m.thresholdRange.min, max: m.thresholdRange.max, interval: m.interval, dryRun: m.dryRun })),
          ...(judge ? { judge: { pass: judge.thresholds.pass, marginal: judge.thresholds.marginal, metrics: judge.metrics.map((m) => m.name) } } : {}),
        };
      }
      return plan;
    });
}

/** Reads the start event only (one history page of one event), decoded with the client's codec. */
async function startInputOf(shipyard: ShipyardClient, id: string, runId: string): Promise<ReleaseInput | undefined> {
  const { client } = shipyard;
  const page = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: id, runId },
    maximumPageSize: 1,
  });
  const payloads = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  if (!payloads?.length) return undefined;
  return decodeFromPayloadsAtIndex<ReleaseInput>(client.options.loadedDataConverter, 0, payloads as never);
}

/** Plans by run ID: a run's start input never changes, so the gateway reads each once. */
export class PlanCache {
  private readonly plans = new Map<string, EnvironmentPlan[]>();
  constructor(private readonly max = 2000) {}
  async get(runId: string, read: () => Promise<EnvironmentPlan[]>): Promise<EnvironmentPlan[]> {
    const hit = this.plans.get(runId);
    if (hit) return hit;
    const plan = await read();
    if (this.plans.size >= this.max) this.plans.delete(this.plans.keys().next().value as string);
    this.plans.set(runId, plan);
    return plan;
  }
}

export async function releaseView(shipyard: ShipyardClient, id: string, plans = new PlanCache()): Promise<ReleaseView> {
  const d = await shipyard.describe(id);
  const running = d.status.name === 'RUNNING';
  let status: ReleaseStatus | null;
  let outcome: string;
  let message: string | undefined;
  if (running) {
    // The run just described: ShipyardClient.status would describe it again.
    status = await shipyard.client.workflow.getHandle(id, d.runId).query(statusQuery);
    outcome = 'running';
  } else {
    const final = await shipyard.final(id, d);
    status = final.status;
    outcome = final.outcome;
    message = final.message;
  }
  const plan = await plans.get(d.runId, async () => {
    const input = await startInputOf(shipyard, id, d.runId);
    return input ? planOf(input) : [];
  });
  const train = d.typedSearchAttributes.get(SA.train);
  return {
    releaseId: id,
    runId: d.runId,
    execution: d.status.name,
    outcome: running ? 'running' : (rowOutcome(d.status.name, outcome) ?? outcome),
    ...(message ? { message } : {}),
    startTime: d.startTime.toISOString(),
    ...(d.closeTime ? { closeTime: d.closeTime.toISOString() } : {}),
    historyLength: d.historyLength,
    ...(train ? { train } : {}),
    url: shipyard.url(id),
    status,
    plan,
  };
}
