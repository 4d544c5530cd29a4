// The stable and canary Deployments behind a canary: scaling the canary with its traffic weight,
// and promotion (the stable Deployment takes the canary's images, as Flagger's primary does). The
// compensations (images and replicas set back) report what they did, read back from the API server.
import { ApplicationFailure } from '@temporalio/common';
import { setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { kube, kubeFailure, statusOf, type KubeTarget } from '../kube.js';
import { rolloutProgress } from '../deploy/health.js';
import { pollPause } from '../poll.js';
import type { UndoResult } from '../types.js';

const MERGE = setHeaderOptions('Content-Type', 'application/merge-patch+json');
const POLL_MS = 1000;

const notFound = (namespace: string, name: string) => `Deployment ${namespace}/${name} not found`;

/** The Deployment, or null when it does not exist. */
async function deploymentOrNull(namespace: string, name: string, context?: KubeTarget): Promise<V1Deployment | null> {
  try {
    return await kube(context).apps.readNamespacedDeployment({ name, namespace });
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw kubeFailure(`reading Deployment ${name}`, err);
  }
}

async function deployment(namespace: string, name: string, context?: KubeTarget): Promise<V1Deployment> {
  const d = await deploymentOrNull(namespace, name, context);
  if (!d) throw ApplicationFailure.nonRetryable(notFound(namespace, name), 'WorkloadNotFound');
  return d;
}

const containerImages = (d: V1Deployment): Record<string, string> => Object.fromEntries((d.spec?.template.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']));

/** Sets the replica count (no write when it is already that). Returns the previous count. */
export async function scaleDeployment(namespace: string, name: string, replicas: number, context?: KubeTarget): Promise<number> {
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

/** Compensation of scaling: the replica count set back, read back; a deleted Deployment is `skipped`. */
export async function restoreReplicas(namespace: string, name: string, replicas: number, context?: KubeTarget): Promise<UndoResult> {
  const d = await deploymentOrNull(namespace, name, context);
  if (!d) return { result: 'skipped', detail: notFound(namespace, name) };
  const before = d.spec?.replicas ?? 1;
  if (before === replicas) return { result: 'unchanged', detail: `Deployment ${namespace}/${name} already at ${replicas} replica(s)` };
  try {
    await kube(context).apps.patchNamespacedDeploymentScale({ name, namespace, body: { spec: { replicas } } }, MERGE);
  } catch (err) {
    if (statusOf(err) === 404) return { result: 'skipped', detail: notFound(namespace, name) };
    throw kubeFailure(`scaling Deployment ${name}`, err);
  }
  const after = (await deployment(namespace, name, context)).spec?.replicas ?? 1;
  if (after !== replicas) throw ApplicationFailure.retryable(`Deployment ${namespace}/${name} reads back ${after} replica(s), wanted ${replicas}`, 'ScaleNotApplied');
  return { result: 'undone', detail: `Deployment ${namespace}/${name} scaled ${before} -> ${after} replica(s)` };
}

/** Container name -> image of a Deployment's pod template. */
export async function imagesOf(namespace: string, name: string, context?: KubeTarget): Promise<Record<string, string>> {
  return containerImages(await deployment(namespace, name, context));
}

/** Waits until the Deployment's rollout is complete; heartbeats, and stops when the activity is cancelled. Null when it was deleted meanwhile. */
async function waitForRollout(namespace: string, name: string, timeoutMs: number, context?: KubeTarget): Promise<V1Deployment | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await deploymentOrNull(namespace, name, context);
    if (!d) return null;
    const p = rolloutProgress(d);
    if (p.done) return d;
    if (p.failure) throw ApplicationFailure.nonRetryable(`Deployment ${namespace}/${name}: ${p.failure}`, 'RolloutFailed');
    if (Date.now() > deadline) throw ApplicationFailure.nonRetryable(`Deployment ${namespace}/${name} not ready in time: ${p.summary}`, 'RolloutTimeout');
    await pollPause(POLL_MS, { rollout: p.summary });
  }
}

/**
 * Sets container images on a Deployment (no write when equal) and waits for its rollout. Returns
 * whether it wrote and the images read back after the rollout; null when the Deployment is gone.
 */
async function applyImages(namespace: string, name: string, images: Record<string, string>, timeoutMs: number, context?: KubeTarget): Promise<{ changed: boolean; before: Record<string, string>; after: Record<string, string> } | null> {
  const d = await deploymentOrNull(namespace, name, context);
  if (!d) return null;
  const before = containerImages(d);
  const missing = Object.keys(images).filter((c) => !(c in before));
  if (missing.length) throw ApplicationFailure.nonRetryable(`Deployment ${name} has no container(s) ${missing.join(', ')}`, 'WorkloadMismatch');
  const changed = Object.entries(images).some(([c, img]) => before[c] !== img);
  if (changed) {
    const containers = (d.spec?.template.spec?.containers ?? []).map((c) => ({ name: c.name, image: images[c.name] ?? c.image }));
    try {
      // strategic merge by container name
      await kube(context).apps.patchNamespacedDeployment({ name, namespace, body: { spec: { template: { spec: { containers } } } } }, setHeaderOptions('Content-Type', 'application/strategic-merge-patch+json'));
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw kubeFailure(`updating Deployment ${name}`, err);
    }
  }
  const ready = await waitForRollout(namespace, name, timeoutMs, context);
  if (!ready) return null;
  const after = containerImages(ready);
  const wrong = Object.entries(images).filter(([c, img]) => after[c] !== img);
  if (wrong.length) throw ApplicationFailure.retryable(`Deployment ${namespace}/${name} reads back ${wrong.map(([c]) => `${c}=${after[c]}`).join(', ')} after setting ${wrong.map(([c, img]) => `${c}=${img}`).join(', ')}`, 'ImagesNotApplied');
  return { changed, before, after };
}

/** Promotion: sets container images (no write when equal) and waits for the rollout. */
export async function setImages(namespace: string, name: string, images: Record<string, string>, timeoutMs: number, context?: KubeTarget): Promise<void> {
  const applied = await applyImages(namespace, name, images, timeoutMs, context);
  if (!applied) throw ApplicationFailure.nonRetryable(notFound(namespace, name), 'WorkloadNotFound');
}

/** Compensation of a promotion: the images set back and rolled out, read back; a deleted Deployment is `skipped`. */
export async function restoreImages(namespace: string, name: string, images: Record<string, string>, timeoutMs: number, context?: KubeTarget): Promise<UndoResult> {
  const applied = await applyImages(namespace, name, images, timeoutMs, context);
  if (!applied) return { result: 'skipped', detail: notFound(namespace, name) };
  const list = (imgs: Record<string, string>) => Object.keys(images).map((c) => `${c}=${imgs[c]}`).join(', ');
  return applied.changed
    ? { result: 'undone', detail: `Deployment ${namespace}/${name} back at ${list(applied.after)} (was ${list(applied.before)}), rolled out` }
    : { result: 'unchanged', detail: `Deployment ${namespace}/${name} already runs ${list(applied.after)}` };
}

export { MERGE };
