// Rollout health through the Kubernetes API: the Deployment's rollout (observedGeneration, updated /
// ready / available replicas), a progress deadline exceeded is a failure with the condition's
// message, and the events of pods that are not ready go into the error. With Argo CD, the
// Application must first be Synced to the release's config commit and Healthy.
import { heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { V1Deployment } from '@kubernetes/client-node';
import { parseDuration } from '../../spec/duration.js';
import { kube, kubeFailure, statusOf, type Kube } from '../kube.js';
import type { HealthInput, HealthReport } from '../types.js';

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
  const progressing = (st.conditions ?? []).find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return { done: false, summary, failure: `progress deadline exceeded: ${progressing.message}` };
  }
  const observed = (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  const done = observed && (st.updatedReplicas ?? 0) === want && (st.readyReplicas ?? 0) === want && (st.availableReplicas ?? 0) === want && (st.replicas ?? 0) === want;
  return { done, summary };
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

async function waitForArgo(k: Kube, input: HealthInput, deadline: number): Promise<void> {
  const argo = input.argocd!;
  let last = 'not found';
  for (;;) {
    try {
      const app = (await k.custom.getNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: argo.namespace, plural: 'applications', name: argo.application })) as {
        status?: { sync?: { status?: string; revision?: string }; health?: { status?: string; message?: string }; operationState?: { phase?: string; message?: string } };
      };
      const sync = app.status?.sync ?? {};
      const health = app.status?.health ?? {};
      last = `sync ${sync.status ?? '?'} at ${sync.revision?.slice(0, 12) ?? '?'}, health ${health.status ?? '?'}`;
      if (health.status === 'Degraded' && sync.revision === argo.revision) {
        throw ApplicationFailure.nonRetryable(`Argo CD application ${argo.application} is Degraded at ${argo.revision.slice(0, 12)}: ${health.message ?? app.status?.operationState?.message ?? ''}`, 'RolloutFailed');
      }
      if (app.status?.operationState?.phase === 'Failed' || app.status?.operationState?.phase === 'Error') {
        throw ApplicationFailure.nonRetryable(`Argo CD sync of ${argo.application} failed: ${app.status.operationState.message ?? ''}`, 'RolloutFailed');
      }
      if (sync.status === 'Synced' && sync.revision === argo.revision && health.status === 'Healthy') return;
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (statusOf(err) !== 404) throw kubeFailure(`reading Argo CD application ${argo.application}`, err);
    }
    if (Date.now() > deadline) throw ApplicationFailure.nonRetryable(`Argo CD application ${argo.application} not Synced+Healthy at ${argo.revision.slice(0, 12)} within ${input.timeout} (${last})`, 'RolloutTimeout');
    heartbeat({ argo: last });
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export async function checkHealth(input: HealthInput): Promise<HealthReport> {
  const k = kube(input.kubeContext);
  const deadline = Date.now() + parseDuration(input.timeout);
  if (input.argocd) await waitForArgo(k, input, deadline);
  let last: Progress = { done: false, summary: 'deployment not found yet' };
  for (;;) {
    let d: V1Deployment | undefined;
    try {
      d = await k.apps.readNamespacedDeployment({ name: input.deployment, namespace: input.namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw kubeFailure(`reading deployment ${input.namespace}/${input.deployment}`, err);
    }
    if (d) {
      last = rolloutProgress(d);
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
    heartbeat({ rollout: last.summary });
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
