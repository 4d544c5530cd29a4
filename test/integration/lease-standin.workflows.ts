// STAND-IN workflows (mocks) for the lease display test: the real lease workflow is being written on
// another branch. They answer the same queries with the state they were started with, and run
// until terminated. Not a test file itself; bundled by lease-status.test.ts.
import { condition, setHandler } from '@temporalio/workflow';
import { leaseStateQuery, statusQuery } from '../../workflows/messages.js';
import type { LeaseState, ReleaseStatus } from '../../workflows/types.js';

export async function leaseStandIn(state: LeaseState): Promise<void> {
  setHandler(leaseStateQuery, () => state);
  await condition(() => false);
}

export async function releaseStandIn(status: ReleaseStatus): Promise<void> {
  setHandler(statusQuery, () => status);
  await condition(() => false);
}
