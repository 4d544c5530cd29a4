// Baseline workflows the benchmarks compare Shipyard against.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1m' });

export async function emptyWorkflow(): Promise<void> {}

/** n activity round trips in a row: the floor under any per-step orchestration cost. */
export async function sequentialActivities(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await noop();
}
