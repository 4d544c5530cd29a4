// Coordination activities (orchestrator task queue): signal-with-start of the lease and freeze
// workflows on behalf of a release. Workflows can signal a running workflow but not start one, so
// the first request for a lease (or the first freeze subscription) goes through here. Both are
// idempotent: the lease and freeze workflows ignore a repeated request from the same run.
// startLoadedRelease starts a release for the pipeline workflow (a spec read from the app repository).
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { freezeSubscribeSignal, leaseRequestSignal } from '../workflows/messages.js';
import { temporalSettings } from '../config/temporal.js';
import { ShipyardClient, ShipyardUsageError } from '../client/index.js';
import { ApplicationFailure } from '@temporalio/common';
import type { CoordinationActivities } from './coordination-types.js';
import { decisionTrustFromEnv } from '../config/decision-keys.js';
import type { DecisionTrust } from '../workflows/decision-statement.js';

/** `trust`: what releases on this orchestrator trust (default: SHIPYARD_DECISION_KEYS and SHIPYARD_MODE, read on each call). */
export function createCoordinationActivities(opts: { trust?: () => DecisionTrust } = {}): CoordinationActivities {
  const trust = opts.trust ?? (() => decisionTrustFromEnv());
  return {
    async decisionTrust() {
      try {
        return trust();
      } catch (err) {
        // A broken key file is the operator's to fix: the release waits (retries) rather than trusting nothing.
        throw ApplicationFailure.retryable((err as Error).message, 'DecisionKeys');
      }
    },
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
    async startLoadedRelease(input) {
      const { client } = Context.current();
      const { loaded } = input;
      // The same start as `shipyard release start -f`: same ID rules, same attach-or-start semantics.
      const started = await new ShipyardClient(client, temporalSettings()).start({
        spec: loaded.spec,
        commit: loaded.commit,
        version: input.version,
        environments: input.environments,
        buildOnly: input.buildOnly,
        untrusted: input.untrusted,
        retryFailed: input.retryFailed,
        trigger: input.trigger,
        taskQueues: input.taskQueues,
        leaseCheckInterval: input.leaseCheckInterval,
        charts: loaded.charts,
        specSource: { repo: input.repo, path: loaded.specPath, sha256: loaded.specSha256, pipelineId: Context.current().info.workflowExecution?.workflowId },
      }).catch((err) => {
        if (err instanceof ShipyardUsageError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidReleaseInput');
        throw err;
      });
      return started;
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
