// Telling a pending revision left by a helm that Shipyard itself killed from one somebody is still
// working on. Helm writes a revision's description only when the operation ends (a pending upgrade
// says "Preparing upgrade", whoever started it), so the description cannot say whose it is. Instead:
//  - every upgrade Shipyard runs carries a fresh label value (helm --labels shipyard.dev/operation=<nonce>,
//    stored as a label on helm's release Secret/ConfigMap);
//  - when the activity is cancelled (or hits its hard limit) it kills helm's process group, then
//    annotates the pending revision that nonce marks (or the pending rollback --atomic started right
//    after it) with shipyard.dev/interrupted-by = the release;
//  - helmRollback({interrupted: true}) rolls such a revision back at once when the annotation names its
//    release; anything else pending (an orphan of a killed worker, a person's helm) is waited for.
// Works with helm's default storage (Secrets) and HELM_DRIVER=configmap; other drivers mark nothing,
// so an interrupted rollback falls back to waiting.
import { randomBytes } from 'node:crypto';
import { setHeaderOptions, type V1ObjectMeta } from '@kubernetes/client-node';
import { kube, kubeFailure, statusOf } from '../kube.js';
import { PENDING } from './helm-cli.js';
import type { HelmDeploySpec } from '../../spec/schema.js';
import type { ReleaseRef } from '../types.js';

export const OPERATION_LABEL = 'shipyard.dev/operation';
export const INTERRUPTED_ANNOTATION = 'shipyard.dev/interrupted-by';
const MERGE = setHeaderOptions('Content-Type', 'application/merge-patch+json');

type Target = ReleaseRef & { helm: Pick<HelmDeploySpec, 'release' | 'namespace' | 'kubeContext'> };

/** A fresh operation id for one helm invocation (a label value: [a-z0-9]). */
export function newOperation(): string {
  return randomBytes(8).toString('hex');
}

function driver(): 'secrets' | 'configmaps' | undefined {
  const d = (process.env.HELM_DRIVER ?? '').toLowerCase();
  if (d === '' || d === 'secret' || d === 'secrets') return 'secrets';
  if (d === 'configmap' || d === 'configmaps') return 'configmaps';
  return undefined;
}

/** Helm's storage objects of the release: revision -> metadata. */
async function storageObjects(input: Target): Promise<Map<number, V1ObjectMeta>> {
  const kind = driver();
  const out = new Map<number, V1ObjectMeta>();
  if (!kind) return out;
  const k = kube({ kubeContext: input.helm.kubeContext, kubeconfig: input.kubeconfig });
  const query = { namespace: input.helm.namespace, labelSelector: `owner=helm,name=${input.helm.release}` };
  const list = kind === 'secrets' ? await k.core.listNamespacedSecret(query) : await k.core.listNamespacedConfigMap(query);
  for (const item of list.items) {
    const version = Number(item.metadata?.labels?.version);
    if (item.metadata && Number.isInteger(version)) out.set(version, item.metadata);
  }
  return out;
}

function owner(input: ReleaseRef): string {
  return JSON.stringify({ releaseId: input.releaseId, attempt: input.attempt ?? null, environment: input.environment ?? null });
}

/**
 * Called after the helm started with `operation` was killed: marks the pending revision it left, if it
 * got that far. Best effort (a failure leaves the revision unmarked, which only costs a wait later).
 * Returns the revision marked.
 */
export async function markInterrupted(input: Target, operation: string): Promise<number | undefined> {
  const kind = driver();
  if (!kind) return undefined;
  // A request helm sent just before it died may still land: look twice.
  for (const delay of [0, 500]) {
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const objects = await storageObjects(input);
    const lastRevision = Math.max(0, ...objects.keys());
    const last = objects.get(lastRevision);
    if (!last || !PENDING.test(last.labels?.status ?? '')) continue;
    const ours =
      last.labels?.[OPERATION_LABEL] === operation ||
      // --atomic had started rolling back the upgrade it made: the rollback revision copies the labels of its target.
      (last.labels?.status === 'pending-rollback' && objects.get(lastRevision - 1)?.labels?.[OPERATION_LABEL] === operation);
    if (!ours) return undefined;
    const k = kube({ kubeContext: input.helm.kubeContext, kubeconfig: input.kubeconfig });
    const body = { metadata: { annotations: { [INTERRUPTED_ANNOTATION]: owner(input) } } };
    const req = { name: last.name!, namespace: input.helm.namespace, body };
    if (kind === 'secrets') await k.core.patchNamespacedSecret(req, MERGE);
    else await k.core.patchNamespacedConfigMap(req, MERGE);
    return lastRevision;
  }
  return undefined;
}

/** Whether `revision` was left pending by a helm this release (same attempt and environment) killed. */
export async function interruptedBy(input: Target, revision: number): Promise<boolean> {
  const kind = driver();
  if (!kind) return false;
  const k = kube({ kubeContext: input.helm.kubeContext, kubeconfig: input.kubeconfig });
  const name = `sh.helm.release.v1.${input.helm.release}.v${revision}`;
  try {
    const obj = kind === 'secrets' ? await k.core.readNamespacedSecret({ name, namespace: input.helm.namespace }) : await k.core.readNamespacedConfigMap({ name, namespace: input.helm.namespace });
    return obj.metadata?.annotations?.[INTERRUPTED_ANNOTATION] === owner(input);
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw kubeFailure(`reading helm's record of ${input.helm.namespace}/${input.helm.release} revision ${revision}`, err);
  }
}
