// The stable and canary Deployments behind a canary: scaling the canary with its traffic weight,
// and promotion (the stable Deployment takes the canary's images, as Flagger's primary does).
import { ApplicationFailure } from '@temporalio/common';
import { setHeaderOptions } from '@kubernetes/client-node';
import { heartbeat } from '@temporalio/activity';
import { kube, kubeFailure, statusOf } from '../kube.js';
import { rolloutProgress } from '../deploy/health.js';

const MERGE = setHeaderOptions('Content-Type', 'application/merge-patch+json');

async function deployment(namespace: string, name: string, context?: string) {
  try {
    return await kube(context).apps.readNamespacedDeployment({ name, namespace });
  } catch (err) {
    if (statusOf(err) === 404) throw ApplicationFailure.nonRetryable(`Deployment ${namespace}/${name} not found`, 'WorkloadNotFound');
    throw kubeFailure(`reading Deployment ${name}`, err);
  }
}

/** Sets the replica count (no write when it is already that). Returns the previous count. */
export async function scaleDeployment(namespace: string, name: string, replicas: number, context?: string): Promise<number> {
  const d = await deployment(namespace, name, context);
  const previous = d.spec?.replicas ?? 1;
  if (previous === replicas) return previous;
  try {
    await kube(context).apps.patchNamespacedDeploymentScale({ name, namespace, body: { spec: { replicas } } }, MERGE);
  } catch (err) {
    throw kubeFailure(`scaling Deployment ${name}`, err);
  }
  return previous;
}

/** Container name -> image of a Deployment's pod template. */
export async function imagesOf(namespace: string, name: string, context?: string): Promise<Record<string, string>> {
  const d = await deployment(namespace, name, context);
  return Object.fromEntries((d.spec?.template.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']));
}

/** Sets container images on a Deployment (no write when equal) and waits for its rollout. */
export async function setImages(namespace: string, name: string, images: Record<string, string>, timeoutMs: number, context?: string): Promise<void> {
  const current = await imagesOf(namespace, name, context);
  const changes = Object.entries(images).filter(([c, img]) => c in current && current[c] !== img);
  const missing = Object.keys(images).filter((c) => !(c in current));
  if (missing.length) throw ApplicationFailure.nonRetryable(`Deployment ${name} has no container(s) ${missing.join(', ')}`, 'WorkloadMismatch');
  if (changes.length) {
    const d = await deployment(namespace, name, context);
    const containers = (d.spec?.template.spec?.containers ?? []).map((c) => ({ name: c.name, image: images[c.name] ?? c.image }));
    try {
      // strategic merge by container name
      await kube(context).apps.patchNamespacedDeployment({ name, namespace, body: { spec: { template: { spec: { containers } } } } }, setHeaderOptions('Content-Type', 'application/strategic-merge-patch+json'));
    } catch (err) {
      throw kubeFailure(`updating Deployment ${name}`, err);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = rolloutProgress(await deployment(namespace, name, context));
    if (p.done) return;
    if (p.failure) throw ApplicationFailure.nonRetryable(`Deployment ${namespace}/${name}: ${p.failure}`, 'RolloutFailed');
    if (Date.now() > deadline) throw ApplicationFailure.nonRetryable(`Deployment ${namespace}/${name} not ready in time: ${p.summary}`, 'RolloutTimeout');
    heartbeat({ rollout: p.summary });
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export { MERGE };
