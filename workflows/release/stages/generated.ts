// Generated canary plumbing (canary.generate): deploy generates the canary Deployment `<stable>-canary`
// (and the canary Service and VirtualService when missing) next to the stable Deployment that the
// service's own chart installed; promotion upgrades the stable helm release with the release image,
// returns all traffic to stable and deletes the canary Deployment. The very first release (no
// stable yet) installs the stable with helm and runs no canary. Only taken when canary.generate is
// set, so releases without it run exactly the code they always ran.
import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { HelmRollbackInput, ImageRef, PlumbingKind, TrafficInput } from '../../../activities/types.js';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import type { ReleaseState } from '../state.js';

const SUFFIX = '-canary';

/** The stable Deployment: health.deployment, else the helm release, else the service name. */
export const stableOf = (r: ReleaseState, env: EnvironmentSpec) => env.health.deployment ?? env.deploy.helm?.release ?? r.spec.service;

/** The stable Service (router.istio.host, default the stable Deployment's name) and the generated canary Service. */
export function hostsOf(r: ReleaseState, env: EnvironmentSpec): { stable: string; canary: string } {
  const stable = env.canary!.router.istio?.host ?? stableOf(r, env);
  return { stable, canary: `${stable}${SUFFIX}` };
}

export const canaryDeploymentOf = (r: ReleaseState, env: EnvironmentSpec) => `${stableOf(r, env)}${SUFFIX}`;

const kubeContextOf = (env: EnvironmentSpec) => env.kubeContext ?? env.deploy.helm?.kubeContext;

/**
 * Deploy with a generated canary. Returns false when the stable Deployment does not exist yet: the
 * caller installs the stable with helm (the first release) and the canary is skipped.
 */
export async function deployGeneratedCanary(r: ReleaseState, env: EnvironmentSpec, image: ImageRef | null): Promise<boolean> {
  const ref = r.ref(env.name);
  const namespace = r.namespaceOf(env);
  const kubeContext = kubeContextOf(env);
  const stable = stableOf(r, env);
  const { exists } = await r.acts.read.stableWorkloadExists({ ...ref, namespace, kubeContext, deployment: stable });
  if (!exists) {
    r.generated.set(env.name, 'first-install');
    return false;
  }
  if (!image) throw ApplicationFailure.nonRetryable('canary.generate needs the release image (the top-level image section); this release has none', 'InvalidSpec');
  r.generated.set(env.name, 'canary');
  const hosts = hostsOf(r, env);
  const istio = env.canary!.router.istio;
  // The spec refuses canary.generate without canary.router.istio; a spec that got past it anyway stops here.
  if (!istio) throw ApplicationFailure.nonRetryable('canary.generate requires canary.router.istio (it generates a VirtualService)', 'InvalidSpec');
  const objects: { kind: PlumbingKind; name: string }[] = [
    { kind: 'Deployment', name: canaryDeploymentOf(r, env) },
    { kind: 'Service', name: hosts.canary },
    { kind: 'VirtualService', name: istio.virtualService },
  ];
  // Pushed before creating: a create that half-happened is undone too. The undo deletes only
  // objects carrying this attempt's annotations, so a user's VirtualService of that name stays.
  const undoId = r.saga.push(`remove what this release generated of ${objects.map((o) => `${o.kind} ${o.name}`).join(', ')} (namespace ${namespace})`, env.name, {
    activity: 'removeCanaryPlumbing',
    input: { ...ref, namespace, kubeContext, objects },
  });
  const result = await r.acts.mutate(env.health.timeout).ensureCanaryPlumbing({
    ...ref, namespace, kubeContext, stable, service: hosts.stable, virtualService: istio.virtualService, route: istio.route ?? 'primary', image,
  });
  // The undo now knows the uids it created: a same-named object made later by someone else is not deleted.
  const uids = new Map(result.objects.filter((o) => o.action !== 'kept').map((o) => [`${o.kind}/${o.name}`, o.uid]));
  r.saga.amend(undoId, { input: { ...ref, namespace, kubeContext, objects: objects.map((o) => ({ ...o, uid: uids.get(`${o.kind}/${o.name}`) })) } });
  const records = (r.status.plumbing ??= []);
  for (const o of result.objects) records.push({ environment: env.name, ...o });
  r.status.deployments.push({ environment: env.name, kind: 'generated-canary', detail: { deployment: objects[0].name, namespace, stable }, promoted: false });
  r.closeStage('ok', `generated canary: ${result.objects.map((o) => `${o.kind} ${o.name} ${o.action}`).join(', ')}`);
  return true;
}

/** Stage detail of the first release: the stable did not exist, helm installed it. */
export const firstInstallDetail = (r: ReleaseState, env: EnvironmentSpec, revision: number | null) =>
  `helm revision ${revision}; stable Deployment ${stableOf(r, env)} did not exist: first release installed as the stable, no canary`;

/**
 * Promotion of a generated canary: the stable helm release takes the release image (helm upgrade,
 * undo pushed first), stable runs it, traffic returns to stable 100, the canary Deployment is deleted.
 * The canary Service and VirtualService stay for the next release.
 */
export async function promoteGeneratedCanary(r: ReleaseState, env: EnvironmentSpec, image: ImageRef | null, traffic: TrafficInput, details: string[]): Promise<void> {
  if (r.generated.get(env.name) !== 'canary') {
    details.push(`first release: ${stableOf(r, env)} installed by deploy, no canary to promote`);
    return;
  }
  const ref = r.ref(env.name);
  const helm = env.deploy.helm!;
  const before = await r.acts.helm(helm.timeout).helmCurrentRevision({ ...ref, helm, image });
  const rollback: HelmRollbackInput = { ...ref, helm, toRevision: before.revision };
  const undoId = r.saga.push(`helm rollback ${helm.release} ${before.revision} (undo the promotion)`, env.name, { activity: 'helmRollback', input: rollback, timeout: helm.timeout, budget: 'helm' });
  let after;
  try {
    const chartArchive = r.input.charts?.[helm.chart]; // the chart from the app repository, by content
    after = await r.acts.helm(helm.timeout).helmDeploy(chartArchive ? { ...ref, helm, image, chartArchive } : { ...ref, helm, image });
  } catch (err) {
    if (isCancellation(err) || r.aborted) r.saga.amend(undoId, { input: { ...rollback, interrupted: true } });
    throw err;
  }
  details.push(`helm ${helm.release} revision ${after.revision}`);
  const deployment = r.status.deployments.find((d) => d.environment === env.name && d.kind === 'generated-canary');
  if (deployment) deployment.detail = { ...deployment.detail, helmRevision: after.revision, previousHelmRevision: before.revision };
  // Traffic goes back to stable only once stable runs the release.
  await r.acts.health(env.health.timeout).checkHealth({ ...ref, namespace: traffic.namespace, deployment: stableOf(r, env), timeout: env.health.timeout, kubeContext: traffic.kubeContext, image });
  await r.acts.mutate(env.health.timeout).promoteCanary({ ...traffic, timeout: env.health.timeout });
  const weights = await r.acts.read.getTrafficWeights(traffic);
  r.setCanaryWeight(env.name, weights.canary, 'promoted');
  details.push(`traffic stable ${weights.stable} / canary ${weights.canary}`);
  const canary = canaryDeploymentOf(r, env);
  const uid = r.status.plumbing?.find((o) => o.environment === env.name && o.kind === 'Deployment' && o.name === canary)?.uid;
  const removed = await r.acts.mutate().removeCanaryPlumbing({ ...ref, namespace: traffic.namespace, kubeContext: traffic.kubeContext, objects: [{ kind: 'Deployment', name: canary, uid }] });
  for (const rec of r.status.plumbing ?? []) {
    if (rec.environment === env.name && rec.kind === 'Deployment' && rec.name === canary && removed.result === 'undone') rec.removed = true;
  }
  details.push(removed.detail);
}
