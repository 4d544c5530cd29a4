// pipelineWorkflow: a release whose spec lives in the application repository ("pipelines as code").
// The release ID names the service, which only the spec knows; so this short workflow reads the spec
// at the commit on the build worker (validated there, recorded in this history with its packaged
// charts), then starts the release, or attaches to the one with that ID, and returns which it is.
// A spec that cannot be used fails this workflow at once with its file:line:col issues: no release
// starts, nothing is deployed. ID: pipeline/<repo key>/<environments>/<commit as given>.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { BuildActivities } from '../activities/types.js';
import type { CoordinationActivities, StartedLoadedRelease, StartLoadedReleaseInput } from '../activities/coordination-types.js';
import { TASK_QUEUES } from './messages.js';

/** The start options of a release (coordination-types.ts), with where to read its spec instead of the spec. */
export interface PipelineInput extends Omit<StartLoadedReleaseInput, 'loaded'> {
  commit: string;
  /** Spec file in the repository; default .shipyard/release.yaml. */
  specPath?: string;
}

export interface PipelineResult extends StartedLoadedRelease {
  service: string;
  specPath: string;
  specSha256: string;
}

export async function pipelineWorkflow(input: PipelineInput): Promise<PipelineResult> {
  const build = proxyActivities<BuildActivities>({
    taskQueue: input.taskQueues?.build ?? TASK_QUEUES.build,
    // A checkout of a large repository and `helm package`: they heartbeat while they run.
    startToCloseTimeout: '15m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3, nonRetryableErrorTypes: ['InvalidSpec', 'InvalidReleaseInput'] },
  });
  const coordination = proxyActivities<CoordinationActivities>({
    taskQueue: workflowInfo().taskQueue,
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: ['InvalidReleaseInput'] },
  });
  const loaded = await build.readRepoSpec({ repo: input.repo, commit: input.commit, path: input.specPath, environments: input.environments, buildOnly: input.buildOnly });
  const started = await coordination.startLoadedRelease({
    loaded,
    repo: input.repo,
    environments: input.environments,
    version: input.version,
    buildOnly: input.buildOnly,
    ...(input.untrusted ? { untrusted: true } : {}),
    retryFailed: input.retryFailed,
    trigger: input.trigger,
    taskQueues: input.taskQueues,
    leaseCheckInterval: input.leaseCheckInterval,
  });
  return { ...started, service: loaded.spec.service, specPath: loaded.specPath, specSha256: loaded.specSha256 };
}
