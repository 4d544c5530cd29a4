// Promotion: the stable workload takes the new version through the deployer that deployed it (helm
// upgrades the stable release, GitOps commits the stable tag), traffic returns to stable, and the
// canary goes back to its replicas from before (or to 0). Without canary.promote, the stable
// Deployment takes the canary's images directly (workloads not managed by a deployer).
import { isCancellation } from '@temporalio/workflow';
import type { ImageRef } from '../../../activities/types.js';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import { checkpoint, releaseLease } from '../gates.js';
import type { ReleaseState } from '../state.js';
import { trafficOf } from './canary.js';
import { promoteTarget } from './promote-target.js';
import { promoteGeneratedCanary } from './generated.js';

/** commit false: a cluster of a multi-cluster environment, whose undos stay until its last wave passed (waves.ts). */
export async function promoteStage(r: ReleaseState, env: EnvironmentSpec, image: ImageRef | null, opts: { commit?: boolean } = {}): Promise<void> {
  await checkpoint(r);
  r.setStage('promote', env.name);
  const details: string[] = [];
  if (env.canary?.generate) {
    await promoteGeneratedCanary(r, env, image, trafficOf(r, env), details);
  } else if (env.canary) {
    const { workloads, promote } = env.canary;
    const traffic = trafficOf(r, env);
    const ref = r.ref(env.name);
    if (promote?.helm && env.deploy.helm && image) {
      const helm = promoteTarget(env.deploy.helm, promote.helm);
      const before = await r.acts.helm(helm.timeout).helmCurrentRevision({ ...ref, helm, image });
      const undoId = r.saga.push(`helm rollback ${helm.release} ${before.revision} (undo the promotion)`, env.name, { activity: 'helmRollback', input: { ...ref, helm, toRevision: before.revision }, timeout: helm.timeout, budget: 'helm' });
      let after;
      try {
        const chartArchive = r.input.charts?.[helm.chart];
        const input = { ...ref, helm, imageValues: promote.helm.imageValues, image };
        after = await r.acts.helm(helm.timeout).helmPromote(chartArchive ? { ...input, chartArchive } : input);
      } catch (err) {
        // We cancelled our own helm (abort): what it left pending is nobody's; roll back at once.
        if (isCancellation(err) || r.aborted) r.saga.amend(undoId, { input: { ...ref, helm, toRevision: before.revision, interrupted: true } });
        throw err;
      }
      details.push(`helm ${helm.release} revision ${after.revision}`);
    } else if (promote?.gitops && env.deploy.gitops) {
      const gitops = { ...env.deploy.gitops, valuesFile: promote.gitops.valuesFile ?? env.deploy.gitops.valuesFile, imageTagPath: promote.gitops.imageTagPath, promoteFrom: undefined };
      const input = { ...ref, gitops, image, purpose: 'promote' as const };
      r.saga.push(`git revert of this release's promotion commit on ${gitops.repo} ${gitops.branch}`, env.name, { activity: 'gitopsRevert', input });
      const result = await r.acts.mutate(gitops.timeout).gitopsUpdate(input);
      details.push(result.commit ? `stable tag commit ${result.commit.slice(0, 12)}` : 'stable tag already at this version');
    } else if (workloads) {
      // The stable Deployment is about to take the canary's images: remember its own first.
      const images = await r.acts.read.readImages({ ...traffic, deployment: workloads.stable });
      r.saga.push(`restore ${workloads.stable} images`, env.name, { activity: 'restoreImages', input: { ...traffic, deployment: workloads.stable, images, timeout: env.health.timeout }, timeout: env.health.timeout });
    }
    if (promote && workloads && image) {
      // Traffic goes back to stable only once stable runs the release (a GitOps commit takes effect later).
      await r.acts.health(env.health.timeout).checkHealth({ ...ref, namespace: traffic.namespace, deployment: workloads.stable, timeout: env.health.timeout, kubeContext: traffic.kubeContext, image });
    }
    await r.acts.mutate(env.health.timeout).promoteCanary({ ...traffic, workloads: promote ? undefined : workloads, timeout: env.health.timeout });
    const weights = await r.acts.read.getTrafficWeights(traffic);
    r.setCanaryWeight(env.name, weights.canary, 'promoted');
    details.push(`traffic stable ${weights.stable} / canary ${weights.canary}`);
    if (workloads) {
      const target = env.canary.scaleDownAfterPromotion ? 0 : r.canaryReplicasBefore.get(env.name);
      if (target !== undefined) {
        const { previous } = await r.acts.mutate().scaleCanary({ ...traffic, deployment: workloads.canary, replicas: target });
        r.saga.push(`scale ${workloads.canary} back to ${previous} replicas`, env.name, { activity: 'restoreReplicas', input: { ...traffic, deployment: workloads.canary, replicas: previous } });
        details.push(`${workloads.canary} at ${target} replica(s)`);
      }
    }
  }
  const deployment = r.status.deployments.find((d) => d.environment === env.name);
  if (deployment) deployment.promoted = true;
  if (r.spec.rollback.scope === 'environment' && opts.commit !== false) {
    r.saga.commit(env.name);
    // Nothing of this release will touch the environment again: the next release may go.
    await releaseLease(r, env.name);
  }
  r.closeStage('ok', details.join('; ') || undefined);
}
