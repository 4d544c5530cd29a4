// Deploy an environment with its deployer (helm or GitOps), its undo pushed first, and then check
// that the release, not just some version, is running and healthy there.
import { isCancellation } from '@temporalio/workflow';
import type { HelmRollbackInput, ImageRef } from '../../../activities/types.js';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import { runAnalysis } from './analysis.js';
import { canaryDeploymentOf, deployGeneratedCanary, firstInstallDetail } from './generated.js';
import { checkpoint } from '../gates.js';
import type { Notifier } from '../notify.js';
import type { ReleaseState } from '../state.js';

export async function deployStage(r: ReleaseState, env: EnvironmentSpec, image: ImageRef | null): Promise<void> {
  await checkpoint(r);
  r.setStage('deploy', env.name);
  const ref = r.ref(env.name);
  // A generated canary leaves the stable release alone until promotion (false: no stable yet).
  if (env.canary?.generate && (await deployGeneratedCanary(r, env, image))) return;
  if (env.deploy.helm) {
    const helm = env.deploy.helm;
    const input = { ...ref, helm, image };
    const before = await r.acts.helm(helm.timeout).helmCurrentRevision(input);
    const undo = before.revision === null ? `helm uninstall ${helm.release}` : `helm rollback ${helm.release} ${before.revision}`;
    const rollback: HelmRollbackInput = { ...ref, helm, toRevision: before.revision };
    // Pushed before the upgrade: a helm killed half-way is undone too. The rollback checks before acting.
    const undoId = r.saga.push(`${undo} (namespace ${helm.namespace})`, env.name, { activity: 'helmRollback', input: rollback, timeout: helm.timeout, budget: 'helm' });
    let after;
    try {
      // The chart by content, when the release carries it; the field only when it does, so the
      // activity input of releases without charts stays what it always was.
      const chartArchive = r.input.charts?.[helm.chart];
      after = await r.acts.helm(helm.timeout).helmDeploy(chartArchive ? { ...input, chartArchive } : input);
    } catch (err) {
      // We cancelled our own helm (abort; the proxy waits until it has stopped): what it left pending
      // is nobody's; roll back at once.
      if (isCancellation(err) || r.aborted) r.saga.amend(undoId, { input: { ...rollback, interrupted: true } });
      throw err;
    }
    r.status.deployments.push({
      environment: env.name,
      kind: 'helm',
      detail: { release: helm.release, namespace: helm.namespace, revision: after.revision, previousRevision: before.revision },
      promoted: false,
    });
    r.closeStage('ok', r.generated.get(env.name) === 'first-install' ? firstInstallDetail(r, env, after.revision) : `helm revision ${after.revision}`);
  } else {
    const gitops = env.deploy.gitops!;
    const input = { ...ref, gitops, image };
    r.saga.push(`git revert of this release's commit on ${gitops.repo} ${gitops.branch}`, env.name, { activity: 'gitopsRevert', input });
    const result = await r.acts.mutate(gitops.timeout).gitopsUpdate(input);
    r.status.deployments.push({ environment: env.name, kind: 'gitops', detail: { ...result }, promoted: false });
    r.closeStage('ok', result.commit ? `config commit ${result.commit.slice(0, 12)}` : 'config already at this version');
  }
}

/** The workload runs this release's image and is ready (with Argo CD: synced at or after our commit), then the checks. */
export async function healthStage(r: ReleaseState, notifier: Notifier, env: EnvironmentSpec, image: ImageRef | null): Promise<void> {
  await checkpoint(r);
  r.setStage('health', env.name);
  const gitops = env.deploy.gitops;
  const configCommit = r.status.deployments.find((d) => d.environment === env.name && d.kind === 'gitops')?.detail.commit as string | null | undefined;
  const report = await r.acts.health(env.health.timeout).checkHealth({
    ...r.ref(env.name),
    namespace: r.namespaceOf(env),
    deployment: r.generated.get(env.name) === 'canary' ? canaryDeploymentOf(r, env) : env.health.deployment ?? env.deploy.helm?.release ?? r.spec.service,
    timeout: env.health.timeout,
    kubeContext: env.kubeContext ?? env.deploy.helm?.kubeContext,
    image,
    argocd: gitops?.argocd && configCommit ? { application: gitops.argocd.application, namespace: gitops.argocd.namespace, revision: configCommit, repo: gitops.repo } : undefined,
  });
  if (env.checks) {
    // Post-deploy checks: HTTP probes, then Prometheus assertions judged like a canary analysis.
    for (const probe of env.checks.http) await r.acts.health(probe.timeout).httpProbe({ ...r.ref(env.name), ...probe });
    if (env.checks.metrics.length) await runAnalysis(r, env.name, 'post-deploy', env.checks.metrics);
  }
  r.closeStage('ok', `${report.readyReplicas}/${report.replicas} ready${image ? ` on ${image.tag}` : ''}${env.checks ? ', checks passed' : ''}`);
  notifier.notify('deployed', env.name);
}
