// Multi-cluster environments (environments[].clusters): one release taken to several clusters in
// waves. The environment's policy checks and approval run once (environment.ts); here, the lease of
// each cluster (`<environment>@<cluster>`, taken in wave order before the approval), then wave after
// wave, every cluster of a wave in parallel: deploy -> health -> canary -> promote, each stage run by
// the single-cluster stage modules on a per-cluster view of the release (clusterView). A cluster's
// saga entries, stage records, status and lease carry its key, so everything says which cluster.
// Promotion commits nothing while waves remain: a failure in a later wave unwinds the earlier waves
// too. Only after the last wave are the environment's undos committed and its leases given back.
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { ImageRef } from '../../../activities/types.js';
import { clusterKey, wavesOf, type ClusterSpec } from '../../../spec/clusters-schema.js';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import { releaseMetrics } from '../../metrics.js';
import { errorMessage } from '../../saga.js';
import { SA } from '../../search-attributes.js';
import type { ClusterState, Stage, StageRecord } from '../../types.js';
import { acquireLease, releaseLease } from '../gates.js';
import type { Notifier } from '../notify.js';
import type { ReleaseState } from '../state.js';
import { rollout } from './rollout.js';

/**
 * The environment as one cluster sees it: named by its key, with the cluster's kubeContext wherever
 * the stages read one (health, traffic, plumbing: env.kubeContext; helm: deploy.helm.kubeContext).
 * The cluster's kubeconfig file travels in every activity input's ref (clusterView).
 */
export function clusterEnvironment(env: EnvironmentSpec, cluster: ClusterSpec): EnvironmentSpec {
  const { clusters: _c, waves: _w, ...rest } = env;
  const helm = env.deploy.helm && { ...env.deploy.helm, kubeContext: cluster.kubeContext };
  return { ...rest, name: clusterKey(env.name, cluster.name), kubeContext: cluster.kubeContext, deploy: { ...env.deploy, helm } };
}

/** The lease of every cluster, in wave order (the order a second release meets them in). */
export async function acquireClusterLeases(r: ReleaseState, env: EnvironmentSpec): Promise<void> {
  for (const wave of wavesOf(env)) for (const cluster of wave) await acquireLease(r, clusterEnvironment(env, cluster));
}

export async function runWaves(r: ReleaseState, notifier: Notifier, env: EnvironmentSpec, image: ImageRef | null): Promise<void> {
  const waves = wavesOf(env);
  const records = (r.status.clusters ??= []);
  const mine = waves.map((wave, w) =>
    wave.map((cluster) => {
      const record: ClusterState = { environment: env.name, cluster: cluster.name, wave: w + 1, stage: 'waiting', outcome: 'waiting' };
      records.push(record);
      return { cluster, record };
    }),
  );
  r.closeStage('ok'); // whatever the environment had open (its approval, policy or image stage) is over
  for (const wave of mine) await runWave(r, notifier, env, wave, image);
  // Every wave passed: nothing of this release will touch these clusters again.
  if (r.spec.rollback.scope === 'environment') {
    for (const wave of waves) for (const cluster of wave) r.saga.commit(clusterKey(env.name, cluster.name));
    for (const wave of waves) for (const cluster of wave) await releaseLease(r, clusterKey(env.name, cluster.name));
  }
}

/** All clusters of a wave in parallel; the first failure cancels the others and, once they stopped, fails the release. */
async function runWave(r: ReleaseState, notifier: Notifier, env: EnvironmentSpec, wave: { cluster: ClusterSpec; record: ClusterState }[], image: ImageRef | null): Promise<void> {
  let failure: { err: unknown; view: ClusterView } | undefined;
  const scopes = wave.map(() => new CancellationScope());
  const runs = wave.map(({ cluster, record }, i) => {
    const view = clusterView(r, cluster, record);
    return scopes[i].run(() => runCluster(view, notifier, clusterEnvironment(env, cluster), image)).catch((err) => {
      view.stopped(err);
      if (!failure) {
        failure = { err, view };
        scopes.forEach((s, j) => j !== i && s.cancel());
      }
    });
  });
  await Promise.all(runs);
  if (failure) {
    // The release's error names the cluster that failed, not a sibling that was cancelled after it.
    r.status.stage = failure.view.record.stage === 'waiting' ? r.status.stage : failure.view.record.stage;
    r.status.environment = clusterKey(env.name, failure.view.record.cluster);
    throw failure.err;
  }
}

async function runCluster(v: ClusterView, notifier: Notifier, env: EnvironmentSpec, image: ImageRef | null): Promise<void> {
  const r = v.state;
  v.record.outcome = 'running';
  await rollout(r, notifier, env, image, { commit: false });
  v.record.outcome = 'promoted';
  v.record.stage = 'promote';
}

interface ClusterView {
  state: ReleaseState;
  record: ClusterState;
  /** Closes the cluster's open stage record with the error and marks it failed (or cancelled). */
  stopped(err: unknown): void;
}

/**
 * The release as one cluster's stages see it: the same state (every write goes to it) except the
 * stage records, which are the cluster's own (clusters of a wave run at once; the release's
 * one-open-record bookkeeping would close a sibling's), the canary weight, which the cluster's record
 * follows too, and ref(), which carries the cluster's kubeconfig file when it has one.
 */
function clusterView(r: ReleaseState, cluster: ClusterSpec, record: ClusterState): ClusterView {
  let open: StageRecord | undefined;
  const overrides: Partial<ReleaseState> = {
    ref: (environment?: string) => {
      const ref = r.ref(environment);
      return cluster.kubeconfig ? { ...ref, kubeconfig: cluster.kubeconfig } : ref;
    },
    setStage: (stage: Stage, environment?: string, detail?: string) => {
      if (open && !open.endedAt) {
        if (open.stage === stage) {
          if (detail) open.detail = detail;
          return;
        }
        r.endStage(open, open.result ?? 'ok');
      }
      open = { stage, environment, startedAt: new Date().toISOString(), detail };
      r.record(r.status.stages, open);
      r.status.stage = stage;
      if (environment) r.status.environment = environment;
      record.stage = stage;
      r.upsert([{ key: SA.stage, value: stage }]);
      releaseMetrics.stageEntered(r.spec.service, r.status.releaseId, stage, Date.now() / 1000);
    },
    closeStage: (result: 'ok' | 'failed', detail?: string) => {
      if (!open || open.endedAt) return;
      if (detail) open.detail = detail;
      r.endStage(open, result);
    },
    setCanaryWeight: (environment: string, weight: number, description: string, step?: number, steps?: number) => {
      r.setCanaryWeight(environment, weight, description, step, steps);
      record.canaryWeight = weight;
    },
  };
  const state = new Proxy(r, {
    get(target, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop as keyof ReleaseState];
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set: (target, prop, value) => Reflect.set(target, prop, value, target),
  });
  return {
    state,
    record,
    stopped(err) {
      const cancelled = isCancellation(err);
      record.outcome = cancelled ? 'cancelled' : 'failed';
      record.detail = cancelled ? 'cancelled: another cluster of its wave failed, or the release was aborted' : errorMessage(err);
      if (open && !open.endedAt) {
        open.detail = record.detail;
        r.endStage(open, cancelled ? 'cancelled' : 'failed');
      }
    },
  };
}

/** After compensation: each cluster's outcome from what its undos read back. */
export function clustersAfterCompensation(r: ReleaseState): void {
  for (const c of r.status.clusters ?? []) {
    const undos = r.saga.records.filter((u) => u.environment === clusterKey(c.environment, c.cluster));
    if (undos.some((u) => u.status === 'failed')) c.outcome = 'undo-failed';
    else if (undos.some((u) => u.status === 'done' || u.status === 'unchanged')) c.outcome = 'rolled-back';
    else if (c.outcome === 'waiting') c.outcome = 'not-started';
  }
}
