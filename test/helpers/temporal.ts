// Test access to the real Temporal dev server that scripts/run-tests.js starts for the whole run.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { ShipyardClient } from '../../client/index.js';
import { createWorker, ROLES, type Role } from '../../workers/worker.js';
import type { TemporalSettings } from '../../config/temporal.js';

let runtimeInstalled = false;
/** Keeps worker logs to errors so test output stays readable (expected failures log warnings). */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    // SHIPYARD_TEST_METRICS_ADDRESS: expose the SDK's Prometheus metrics (workflow, activity and worker meters).
    const metrics = process.env.SHIPYARD_TEST_METRICS_ADDRESS;
    Runtime.install({
      logger: new DefaultLogger((process.env.SHIPYARD_TEST_LOG_LEVEL as 'WARN') || 'ERROR'),
      ...(metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metrics } } } } : {}),
    });
  } catch {
    // already installed by another helper in this process
  }
}

export function temporalAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run the tests with `npm test`, which starts a dev server');
  return address;
}

export const NAMESPACE = 'default';

export function settings(): TemporalSettings {
  return { address: temporalAddress(), namespace: NAMESPACE, uiUrl: 'http://localhost:8233' };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function randomCommit(): string {
  return randomBytes(20).toString('hex');
}

export interface TestQueues {
  orchestrator: string;
  build: string;
  deploy: string;
}

export function uniqueQueues(prefix = 'test'): TestQueues {
  const id = randomBytes(4).toString('hex');
  return { orchestrator: `${prefix}-${id}-orch`, build: `${prefix}-${id}-build`, deploy: `${prefix}-${id}-deploy` };
}

export interface TemporalTestContext {
  client: Client;
  shipyard: ShipyardClient;
  close(): Promise<void>;
}

export async function connectClient(): Promise<TemporalTestContext> {
  const connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection, namespace: NAMESPACE });
  const shipyard = new ShipyardClient(client, settings());
  return { client, shipyard, close: () => connection.close() };
}

/**
 * Runs `fn` while workers for the given roles poll unique task queues; the activities are the
 * given implementations (mocked ones in workflow tests, real adapters in adapter tests).
 */
export async function withWorkers<T>(
  queues: TestQueues,
  activities: { build?: object; deploy?: object },
  fn: () => Promise<T>,
  roles: Role[] = ROLES,
  /** Workers that encrypt payloads with this codec (as runRoles does with SHIPYARD_CODEC_KEYS). */
  payloadCodec?: PayloadCodec,
): Promise<T> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const workers = await Promise.all(
    roles.map((role) => createWorker(role, { connection, namespace: NAMESPACE, taskQueues: queues, activities, payloadCodec })),
  );
  const runs = workers.map((w) => w.run());
  let failed: unknown;
  const watch = Promise.race(runs).then(
    () => undefined,
    (err) => (failed = err),
  );
  try {
    const result = await fn();
    if (failed) throw failed;
    return result;
  } finally {
    void watch;
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(runs);
    await connection.close();
  }
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
