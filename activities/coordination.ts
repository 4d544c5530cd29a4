// Coordination activities (orchestrator task queue): signal-with-start of the lease and freeze
// workflows on behalf of a release. Workflows can signal a running workflow but not start one, so
// the first request for a lease (or the first freeze subscription) goes through here. Both are
// idempotent: the lease and freeze workflows ignore a repeated request from the same run.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { freezeSubscribeSignal, leaseRequestSignal } from '../workflows/messages.js';
import type { CoordinationActivities } from './coordination-types.js';

export function createCoordinationActivities(): CoordinationActivities {
  return {
    async requestLease(input) {
      const { client, info } = Context.current();
      await client.workflow.signalWithStart('leaseWorkflow', {
        workflowId: input.leaseId,
        taskQueue: info.taskQueue,
        args: [{ key: input.key, checkInterval: input.checkInterval, holder: null, queue: [] }],
        signal: leaseRequestSignal,
        signalArgs: [input.entry],
      });
    },
    async describeRun(input) {
      const { client } = Context.current();
      try {
        return (await client.workflow.getHandle(input.workflowId, input.runId).describe()).status.name;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
        throw err;
      }
    },
    async subscribeFreeze(input) {
      const { client, info } = Context.current();
      await client.workflow.signalWithStart('freezeWorkflow', {
        workflowId: input.freezeId,
        taskQueue: info.taskQueue,
        args: [null],
        signal: freezeSubscribeSignal,
        signalArgs: [{ releaseId: input.releaseId, runId: input.runId, service: input.service }],
      });
    },
  };
}
