// Creating and running Shipyard's workers. Each role polls one task queue:
//   orchestrator: releaseWorkflow on shipyard-orchestrator
//   build:        build activities on shipyard-build (CPU-heavy; bounded by SHIPYARD_BUILD_CONCURRENCY)
//   deploy:       deploy, traffic, metrics, notification and JIRA activities on shipyard-deploy
import { availableParallelism } from 'node:os';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import { dataConverterFor } from '../config/payload-codec.js';
import { taskQueueOverrides, temporalSettings, type TemporalSettings } from '../config/temporal.js';
import { createBuildActivities, createDeployActivities, createIntegrationActivities } from '../activities/index.js';
import { createCoordinationActivities } from '../activities/coordination.js';
import type { DecisionTrust } from '../workflows/decision-statement.js';
import { decisionTrustFromEnv } from '../config/decision-keys.js';
import { TASK_QUEUES } from '../workflows/messages.js';
import { workflowSource } from './bundle.js';
import { installRuntime, runtimeSettingsFromEnv } from './runtime.js';
import { describeTuning, orchestratorTuningFromEnv, tuningOptions, type OrchestratorTuning } from './tuning.js';

export type Role = 'orchestrator' | 'build' | 'deploy';
export const ROLES: Role[] = ['orchestrator', 'build', 'deploy'];

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  /** Task queue per role; defaults to TASK_QUEUES. */
  taskQueues?: Partial<Record<Role, string>>;
  /** Activity implementations per role; defaults to the real adapters. */
  activities?: Partial<Record<Exclude<Role, 'orchestrator'>, object>>;
  identity?: string;
  /**
   * Worker Versioning for the orchestrator: its workflows are PINNED to this deployment version, so
   * an in-flight release keeps running the code it started with. Defaults to deploymentFromEnv().
   */
  deployment?: WorkerDeployment;
  /** Orchestrator: the decision keys and mode releases trust (default from SHIPYARD_DECISION_KEYS / SHIPYARD_MODE). */
  trust?: () => DecisionTrust;
  /**
   * Encrypts what the worker writes to history (workflow and activity results, commands' inputs) and
   * decrypts what it reads; also used by the client activities get (Context.current().client).
   * runRoles passes the one from temporalSettings(); none = plain payloads.
   */
  payloadCodec?: PayloadCodec;
  /** Orchestrator: sticky cache and workflow task capacity (default from SHIPYARD_MAX_CACHED_WORKFLOWS etc., workers/tuning.ts). */
  tuning?: OrchestratorTuning;
}

export interface WorkerDeployment {
  /** The Worker Deployment, e.g. `shipyard`. */
  deploymentName: string;
  /** This build of the workers, e.g. a git commit or release tag. */
  buildId: string;
}

/** SHIPYARD_WORKER_DEPLOYMENT and SHIPYARD_BUILD_ID, both or neither. */
export function deploymentFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerDeployment | undefined {
  const deploymentName = env.SHIPYARD_WORKER_DEPLOYMENT?.trim();
  const buildId = env.SHIPYARD_BUILD_ID?.trim();
  if (!deploymentName && !buildId) return undefined;
  if (!deploymentName || !buildId) {
    throw new Error('Worker Versioning needs both SHIPYARD_WORKER_DEPLOYMENT and SHIPYARD_BUILD_ID (one is set, the other is empty)');
  }
  return { deploymentName, buildId };
}

/** Options that pin every workflow the orchestrator starts to this build. */
export function versioningOptions(deployment: WorkerDeployment | undefined): Pick<WorkerOptions, 'workerDeploymentOptions'> {
  if (!deployment) return {};
  return { workerDeploymentOptions: { version: deployment, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' } };
}

export async function connect(settings: TemporalSettings = temporalSettings()): Promise<NativeConnection> {
  return NativeConnection.connect({ address: settings.address, tls: settings.tls, apiKey: settings.apiKey });
}

export async function createWorker(role: Role, setup: WorkerSetup): Promise<Worker> {
  const base: WorkerOptions = {
    // Heartbeats reach the server (and cancellations come back) within 2 s instead of up to 80% of
    // the heartbeat timeout: an aborted release stops its go build or helm wait promptly.
    maxHeartbeatThrottleInterval: '2s',
    defaultHeartbeatThrottleInterval: '2s',
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueues?.[role] ?? TASK_QUEUES[role],
    ...dataConverterFor(setup.payloadCodec),
    ...(setup.identity ? { identity: `${setup.identity}/${role}` } : {}),
  };
  // The orchestrator also runs the coordination activities (signal-with-start of lease and freeze
  // workflows): they need only Temporal, so releases never wait on a deploy worker for them.
  // Only the orchestrator is versioned: activities hold no workflow state, so build and deploy
  // workers can be upgraded at any time.
  if (role === 'orchestrator') {
    // Refuse to start with unreadable decision keys (or none in production mode) rather than fail releases later.
    (setup.trust ?? decisionTrustFromEnv)();
    const deployment = 'deployment' in setup ? setup.deployment : deploymentFromEnv();
    const tuning = setup.tuning ?? orchestratorTuningFromEnv();
    return Worker.create({
      ...base,
      ...workflowSource(),
      ...tuningOptions(tuning),
      ...versioningOptions(deployment),
      activities: createCoordinationActivities({ trust: setup.trust }),
    });
  }
  if (role === 'build') {
    return Worker.create({
      ...base,
      activities: setup.activities?.build ?? createBuildActivities(),
      maxConcurrentActivityTaskExecutions: Number(process.env.SHIPYARD_BUILD_CONCURRENCY) || availableParallelism(),
    });
  }
  return Worker.create({
    ...base,
    activities: setup.activities?.deploy ?? { ...createDeployActivities(), ...createIntegrationActivities() },
  });
}

/** Runs the given roles until SIGINT/SIGTERM (the SDK runtime shuts workers down gracefully). */
export async function runRoles(roles: Role[]): Promise<void> {
  const runtime = runtimeSettingsFromEnv();
  installRuntime(runtime);
  const settings = temporalSettings();
  const connection = await connect(settings);
  const taskQueues = taskQueueOverrides();
  // Read (and validated) before any worker starts: a half-set pair fails fast with a clear message.
  const deployment = deploymentFromEnv();
  const tuning = orchestratorTuningFromEnv();
  const workers = await Promise.all(
    roles.map((role) => createWorker(role, { connection, namespace: settings.namespace, taskQueues, deployment, tuning, payloadCodec: settings.payloadCodec })),
  );
  console.log(
    `shipyard worker [${roles.join(', ')}] connected to ${settings.address} namespace ${settings.namespace}; ` +
      `task queues: ${roles.map((r) => taskQueues[r] ?? TASK_QUEUES[r]).join(', ')}` +
      (runtime.metricsAddress ? `; metrics on http://${runtime.metricsAddress}/metrics` : '') +
      (settings.payloadCodec ? '; payloads encrypted (payload codec)' : '; payloads NOT encrypted (no SHIPYARD_CODEC_KEYS)') +
      (deployment && roles.includes('orchestrator') ? `; workflows pinned to ${deployment.deploymentName}.${deployment.buildId}` : '') +
      (roles.includes('orchestrator') ? `; orchestrator: ${describeTuning(tuning)}` : ''),
  );
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await connection.close();
  }
}

export function main(roles: Role[]): void {
  runRoles(roles).then(
    () => process.exit(0),
    (err) => {
      console.error(`shipyard worker failed: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
