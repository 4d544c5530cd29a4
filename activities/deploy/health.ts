// Rollout health through the Kubernetes API: the Deployment's rollout (observedGeneration, updated /
// ready / available replicas), a progress deadline exceeded is a failure with the condition's
// message, and the events of pods that are not ready go into the error. With the release's image,
// health is of the release: the pod template must run that image and the rollout of that template be
// complete (a Deployment still on the previous version is not healthy, it is not deployed yet). With
// Argo CD, the Application must first be Synced at the release's config commit (or later) and Healthy.
import { ApplicationFailure } from '@temporalio/common';
import type { V1Deployment } from '@kubernetes/client-node';
import { parseDuration } from '../../spec/duration.js';
import { kube, kubeFailure, statusOf, type Kube } from '../kube.js';
import { pollPause } from '../poll.js';
import type { HealthInput, HealthReport, ImageRef } from '../types.js';
import { waitForArgo } from './argocd.js';
import type { GitOpsSettings } from './gitops.js';

const POLL_MS = 1000;

interface Progress {
  done: boolean;
  summary: string;
  failure?: string;
}

export function rolloutProgress(d: V1Deployment): Progress {
  const want = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  const summary = `${st.updatedReplicas ?? 0} updated, ${st.readyReplicas ?? 0} ready, ${st.availableReplicas ?? 0} available of ${want}`;
  // Until the controller has seen the current template, status (and its conditions) is about an older one.
  const observed = (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  const progressing = (st.conditions ?? []).find((c) => c.type === 'Progressing');
  if (observed && progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return { done: false, summary, failure: `progress deadline exceeded: ${progressing.message}` };
  }
  const done = observed && (st.updatedReplicas ?? 0) === want && (st.readyReplicas ?? 0) === want && (st.availableReplicas ?? 0) === want && (st.replicas ?? 0) === want;
  return { done, summary };
}

/** `[repository, tag, digest]` of an image reference (`host:port/path/name:tag@sha256:...`). */
export function parseImage(ref: string): { repository: string; tag?: string; digest?: string } {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  // A colon before the last slash is a registry port, not a tag.
  if (colon > name.lastIndexOf('/')) return { repository: name.slice(0, colon), tag: name.slice(colon + 1), digest };
  return { repository: name, digest };
}

/**
 * Whether a container image is the release's image. The rule: the same tag (`…:<tag>`, also when a
 * digest is pinned after it, `…:<tag>@sha256:…`) or the same digest (`…@<digest>`). The repository
 * is deliberately not compared: an environment may pull the image from a mirror or a promoted
 * repository (registry/prod/app) under another name, keeping tag and digest.
 */
export function imageMatches(containerImage: string, image: ImageRef): boolean {
  const c = parseImage(containerImage);
  if (image.tag && c.tag === image.tag) return true;
  return !!image.digest && c.digest === image.digest;
}

function expected(image: ImageRef): string {
  return `tag ${image.tag}${image.digest ? ` or digest ${image.digest.slice(0, 19)}` : ''} (any repository)`;
}

function templateImages(d: V1Deployment): string[] {
  return (d.spec?.template.spec?.containers ?? []).map((c) => c.image ?? '');
}

/** Why the deployment's pods are not ready: their conditions and recent warning events. */
async function podTrouble(k: Kube, namespace: string, d: V1Deployment): Promise<string> {
  const selector = Object.entries(d.spec?.selector?.matchLabels ?? {}).map(([key, v]) => `${key}=${v}`).join(',');
  try {
    const pods = await k.core.listNamespacedPod({ namespace, labelSelector: selector });
    const lines: string[] = [];
    for (const pod of pods.items.filter((p) => !(p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).slice(0, 3)) {
      const name = pod.metadata?.name ?? '?';
      const cond = (pod.status?.conditions ?? []).filter((c) => c.status !== 'True').map((c) => `${c.type}: ${c.reason ?? ''} ${c.message ?? ''}`.trim());
      lines.push(`pod ${name} ${pod.status?.phase ?? ''}${cond.length ? ` (${cond.join('; ')})` : ''}`);
      const events = await k.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
      for (const e of events.items.filter((e) => e.type === 'Warning').slice(-3)) lines.push(`  event ${e.reason}: ${e.message}`);
    }
    return lines.join('\n');
  } catch {
    return '';
  }
}

/** The rollout of the Deployment as health sees it: the release's template, completely rolled out. */
function releaseProgress(d: V1Deployment, image: ImageRef | null | undefined): Progress {
  const progress = rolloutProgress(d);
  if (!image) return progress;
  const runs = templateImages(d);
  const template = `template runs ${runs.join(', ') || 'no containers'}`;
  if (!runs.some((img) => imageMatches(img, image))) {
    // Not this release's template yet (GitOps not applied, or another release's): whatever its
    // rollout does is about another version, so it neither passes nor fails this release.
    return { done: false, summary: `${template}, expected ${expected(image)}; ${progress.summary}` };
  }
  return { ...progress, summary: `${template}: ${progress.summary}` };
}

export async function checkHealth(input: HealthInput, settings: GitOpsSettings = {}): Promise<HealthReport> {
  const deadline = Date.now() + parseDuration(input.timeout);
  if (input.argocd) await waitForArgo(input, deadline, settings);
  let last: Progress = { done: false, summary: 'deployment not found yet' };
  for (;;) {
    // kube() on every poll: a kubeconfig rewritten meanwhile is picked up.
    const k = kube(input);
    let d: V1Deployment | undefined;
    try {
      d = await k.apps.readNamespacedDeployment({ name: input.deployment, namespace: input.namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw kubeFailure(`reading deployment ${input.namespace}/${input.deployment}`, err);
    }
    if (d) {
      last = releaseProgress(d, input.image);
      if (last.failure) {
        const trouble = await podTrouble(k, input.namespace, d);
        throw ApplicationFailure.nonRetryable(`deployment ${input.namespace}/${input.deployment}: ${last.failure} (${last.summary})${trouble ? `\n${trouble}` : ''}`, 'RolloutFailed');
      }
      if (last.done) {
        return { deployment: input.deployment, namespace: input.namespace, readyReplicas: d.status?.readyReplicas ?? 0, replicas: d.spec?.replicas ?? 0 };
      }
    }
    if (Date.now() > deadline) {
      const trouble = d ? await podTrouble(k, input.namespace, d) : '';
      throw ApplicationFailure.nonRetryable(`deployment ${input.namespace}/${input.deployment} not ready within ${input.timeout}: ${last.summary}${trouble ? `\n${trouble}` : ''}`, 'RolloutTimeout');
    }
    await pollPause(POLL_MS, { rollout: last.summary });
  }
}
