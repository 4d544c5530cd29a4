// Reading the environment leases a release holds or waits for from the lease workflows themselves
// (status.leases only says which and since when): who holds each one and who queues behind it.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { leaseStateQuery, leaseWorkflowId } from '../workflows/messages.js';
import type { LeaseState, ReleaseStatus } from '../workflows/types.js';

export interface LeaseView {
  key: string;
  /** This release's relation to the lease, from its status. */
  state: 'waiting' | 'held' | 'released';
  since: string;
  workflowId: string;
  /**
   * read: the lease workflow answered (holder and queue below); no-lease: there is no running lease
   * workflow, so nothing holds the lease; unavailable: it could not be read (error says why);
   * not-read: the release no longer holds or waits, nothing was asked.
   */
  read: 'read' | 'no-lease' | 'unavailable' | 'not-read';
  holder: LeaseState['holder'];
  queue: LeaseState['queue'];
  /** 1-based place of this release in the queue, when it waits in it. */
  position?: number;
  error?: string;
}

/** The leases of `status`, by environment, with the lease workflows' holder and queue. */
export async function readLeases(client: Client, status: ReleaseStatus, timeoutMs = 5000): Promise<Record<string, LeaseView>> {
  const entries = Object.entries(status.leases ?? {});
  const views = await Promise.all(
    entries.map(async ([environment, lease]): Promise<[string, LeaseView]> => {
      const view: LeaseView = { ...lease, workflowId: lease.workflowId ?? leaseWorkflowId(status.service, environment), read: 'not-read', holder: null, queue: [] };
      if (lease.state === 'released') return [environment, view];
      const handle = client.workflow.getHandle(view.workflowId);
      try {
        // A query needs a worker; bound it so a status never hangs on one.
        const state = await client.connection.withDeadline(Date.now() + timeoutMs, async () => {
          const d = await handle.describe();
          return d.status.name === 'RUNNING' ? handle.query(leaseStateQuery) : null;
        });
        if (!state) return [environment, { ...view, read: 'no-lease' }];
        const index = state.queue.findIndex((e) => e.releaseId === status.releaseId);
        return [environment, { ...view, read: 'read', holder: state.holder, queue: state.queue, position: index >= 0 ? index + 1 : undefined }];
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return [environment, { ...view, read: 'no-lease' }];
        return [environment, { ...view, read: 'unavailable', error: (err as Error).message }];
      }
    }),
  );
  return Object.fromEntries(views);
}
