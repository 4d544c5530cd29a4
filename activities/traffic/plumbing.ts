// Generated canary plumbing on the API server (canary.generate): the canary Deployment, the canary
// Service and the VirtualService, each created only when missing and annotated with the release
// and attempt that made it. Idempotent per attempt: a repeat finds its own objects by name and
// annotations. Removal deletes only objects carrying this attempt's annotations, with the uid as a
// precondition, and says what it found: deleted, gone, or not this release's (left as it is).
import { ApplicationFailure } from '@temporalio/common';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { kube, kubeFailure, statusOf, type KubeTarget } from '../kube.js';
import type { PlumbingInput, PlumbingKind, PlumbingObject, PlumbingResult, RemovePlumbingInput, StableWorkloadInput, UndoResult } from '../types.js';
import {
  canaryDeployment, canaryLabels, canaryService, generatedVirtualService, isShipyards, isThisAttempt, type Meta, RELEASE_ANNOTATION, ATTEMPT_ANNOTATION,
} from './plumbing-objects.js';

const ISTIO = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' };

type Obj = { metadata?: Meta; spec?: unknown };

/** 409 on a write: created meanwhile, changed since read, or a uid precondition that failed. */
class WriteConflict extends Error {}

/** Read, create, replace and delete of one kind, 404 on read as null. */
interface Access {
  read(): Promise<Obj | null>;
  create(body: Obj): Promise<Obj>;
  replace(body: Obj): Promise<Obj>;
  remove(uid: string): Promise<void>;
}

function access(kind: PlumbingKind, namespace: string, name: string, context?: KubeTarget): Access {
  const k = kube(context);
  const what = `${kind} ${namespace}/${name}`;
  const call = async <T>(verb: string, fn: () => Promise<T>, notFound: () => T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (statusOf(err) === 404) return notFound();
      if (statusOf(err) === 409) throw new WriteConflict(`${verb} ${what}: conflict`);
      throw kubeFailure(`${verb} ${what}`, err);
    }
  };
  const gone = (): never => {
    throw ApplicationFailure.retryable(`${what} disappeared while Shipyard was writing it`, 'Conflict');
  };
  const del = { propagationPolicy: 'Background', body: { preconditions: { uid: '' } } };
  const opts = (uid: string) => ({ ...del, body: { preconditions: { uid } } });
  if (kind === 'Deployment') {
    return {
      read: () => call('reading', () => k.apps.readNamespacedDeployment({ namespace, name }) as Promise<Obj>, () => null),
      create: (body) => call('creating', () => k.apps.createNamespacedDeployment({ namespace, body: body as V1Deployment }) as Promise<Obj>, gone),
      replace: (body) => call('updating', () => k.apps.replaceNamespacedDeployment({ namespace, name, body: body as V1Deployment }) as Promise<Obj>, gone),
      remove: (uid) => call('deleting', async () => void (await k.apps.deleteNamespacedDeployment({ namespace, name, ...opts(uid) })), () => undefined),
    };
  }
  if (kind === 'Service') {
    return {
      read: () => call('reading', () => k.core.readNamespacedService({ namespace, name }) as Promise<Obj>, () => null),
      create: (body) => call('creating', () => k.core.createNamespacedService({ namespace, body: body as V1Service }) as Promise<Obj>, gone),
      replace: (body) => call('updating', () => k.core.replaceNamespacedService({ namespace, name, body: body as V1Service }) as Promise<Obj>, gone),
      remove: (uid) => call('deleting', async () => void (await k.core.deleteNamespacedService({ namespace, name, ...opts(uid) })), () => undefined),
    };
  }
  return {
    read: () => call('reading', () => k.custom.getNamespacedCustomObject({ ...ISTIO, namespace, name }) as Promise<Obj>, () => null),
    create: (body) => call('creating', () => k.custom.createNamespacedCustomObject({ ...ISTIO, namespace, body }) as Promise<Obj>, gone),
    replace: (body) => call('updating', () => k.custom.replaceNamespacedCustomObject({ ...ISTIO, namespace, name, body }) as Promise<Obj>, gone),
    remove: (uid) => call('deleting', async () => void (await k.custom.deleteNamespacedCustomObject({ ...ISTIO, namespace, name, ...opts(uid) })), () => undefined),
  };
}

const conflict = (kind: PlumbingKind, namespace: string, name: string) =>
  ApplicationFailure.nonRetryable(
    `${kind} ${namespace}/${name} exists and is not Shipyard's (no app.kubernetes.io/managed-by: shipyard label): a generated canary will not take it over; delete or rename it, or manage the canary yourself with canary.workloads`,
    'PlumbingConflict',
  );


/**
 * Makes sure `want` exists. Missing: created (ours). This attempt's: brought to `want`. Another
 * Shipyard release's: `adoptable` kinds are taken over (re-annotated), others kept as they are. Not
 * Shipyard's: a conflict, unless `usersAllowed` (then kept: the user's object is used, never changed).
 */
async function ensure(
  kind: PlumbingKind, namespace: string, want: Obj, input: PlumbingInput,
  opts: { adoptable?: boolean; usersAllowed?: boolean; sameSpec: (have: Obj) => boolean; recreateIf?: (have: Obj) => boolean },
): Promise<PlumbingObject> {
  const name = want.metadata!.name!;
  const api = access(kind, namespace, name, input);
  for (let round = 0; round < 5; round++) {
    const have = await api.read();
    try {
      if (!have) {
        const made = await api.create(want);
        return { kind, namespace, name, uid: made.metadata?.uid, action: 'created' };
      }
      const mine = isThisAttempt(have.metadata, input);
      if (!isShipyards(have.metadata)) {
        if (opts.usersAllowed) return { kind, namespace, name, uid: have.metadata?.uid, action: 'kept' };
        throw conflict(kind, namespace, name);
      }
      if (!mine && !opts.adoptable) {
        // Left by an earlier release for the next ones: used as it is.
        return { kind, namespace, name, uid: have.metadata?.uid, action: 'kept' };
      }
      const action = mine ? 'created' : 'adopted';
      if (mine && opts.sameSpec(have)) return { kind, namespace, name, uid: have.metadata?.uid, action };
      if (opts.recreateIf?.(have)) {
        // An immutable field (a Deployment's selector) changed: the object is ours to replace whole.
        await api.remove(have.metadata!.uid!);
        continue;
      }
      const written = await api.replace({ ...want, metadata: { ...want.metadata, resourceVersion: have.metadata?.resourceVersion } });
      return { kind, namespace, name, uid: written.metadata?.uid, action };
    } catch (err) {
      if (err instanceof WriteConflict) continue; // read again and decide again
      throw err;
    }
  }
  throw ApplicationFailure.retryable(`${kind} ${namespace}/${name} kept changing under us`, 'Conflict');
}

const json = (x: unknown) => JSON.stringify(x ?? null);

async function readRequired<T>(kind: 'Deployment' | 'Service', namespace: string, name: string, context: KubeTarget, hint: string): Promise<T> {
  const found = await access(kind, namespace, name, context).read();
  if (!found) throw ApplicationFailure.nonRetryable(`${kind} ${namespace}/${name} not found: ${hint}`, kind === 'Deployment' ? 'WorkloadNotFound' : 'ServiceNotFound');
  return found as T;
}

export async function stableWorkloadExists(input: StableWorkloadInput): Promise<{ exists: boolean }> {
  return { exists: (await access('Deployment', input.namespace, input.deployment, input).read()) !== null };
}

export async function ensureCanaryPlumbing(input: PlumbingInput): Promise<PlumbingResult> {
  const ns = input.namespace;
  const stable = await readRequired<V1Deployment>('Deployment', ns, input.stable, input, 'the stable Deployment of a generated canary');
  const service = await readRequired<V1Service>('Service', ns, input.service, input, 'the stable Service (canary.router.istio.host, default the stable Deployment\'s name); Shipyard generates only the canary Service');
  const labels = canaryLabels(stable, service);
  const deployment = canaryDeployment(stable, labels, input.image, input);
  const canarySvc = canaryService(service, labels, input);
  const vs = generatedVirtualService(input.virtualService, ns, input.service, input.route, input);
  const objects: PlumbingObject[] = [];
  objects.push(await ensure('Deployment', ns, deployment as Obj, input, {
    adoptable: true,
    sameSpec: (have) => json((have.spec as V1Deployment['spec'])?.template) === json(deployment.spec?.template),
    recreateIf: (have) => json((have.spec as V1Deployment['spec'])?.selector.matchLabels) !== json(deployment.spec?.selector.matchLabels),
  }));
  objects.push(await ensure('Service', ns, canarySvc as Obj, input, {
    sameSpec: (have) => json((have.spec as V1Service['spec'])?.selector) === json(canarySvc.spec?.selector),
  }));
  objects.push(await ensure('VirtualService', ns, vs as Obj, input, { usersAllowed: true, sameSpec: () => true }));
  return { objects };
}

/** What removal found for one object. */
type Outcome = 'deleted' | 'gone' | 'not-ours';

async function removeOne(kind: PlumbingKind, input: RemovePlumbingInput, name: string, uid?: string): Promise<{ outcome: Outcome; detail: string }> {
  const what = `${kind} ${input.namespace}/${name}`;
  const api = access(kind, input.namespace, name, input);
  const have = await api.read();
  if (!have) return { outcome: 'gone', detail: `${what} not found` };
  if (!isThisAttempt(have.metadata, input)) {
    const a = have.metadata?.annotations ?? {};
    const detail = isShipyards(have.metadata)
      ? `${what} was made by Shipyard for ${a[RELEASE_ANNOTATION] ?? 'another release'} (attempt ${a[ATTEMPT_ANNOTATION] ?? 'unknown'}), not this attempt: left as it is`
      : `${what} is not Shipyard's: left as it is`;
    return { outcome: 'not-ours', detail };
  }
  if (uid && have.metadata?.uid !== uid) return { outcome: 'not-ours', detail: `${what} is not the object this release created (uid ${have.metadata?.uid}, created ${uid}): left as it is` };
  try {
    await api.remove(have.metadata!.uid!);
  } catch (err) {
    // The uid precondition failed: the object was replaced by someone since it was read.
    if (err instanceof WriteConflict) return { outcome: 'not-ours', detail: `${what} was replaced meanwhile: left as it is` };
    throw err;
  }
  const after = await api.read();
  if (after && after.metadata?.uid === have.metadata?.uid && !(after.metadata as { deletionTimestamp?: unknown })?.deletionTimestamp) {
    throw ApplicationFailure.retryable(`${what} still there after deleting it`, 'DeleteNotApplied');
  }
  return { outcome: 'deleted', detail: `${what} deleted` };
}

/** Removes this attempt's objects, last listed first; the result says what each one was. */
export async function removeCanaryPlumbing(input: RemovePlumbingInput): Promise<UndoResult> {
  const found: { outcome: Outcome; detail: string }[] = [];
  for (const o of [...input.objects].reverse()) found.push(await removeOne(o.kind, input, o.name, o.uid));
  const detail = found.map((f) => f.detail).join('; ');
  if (found.some((f) => f.outcome === 'deleted')) return { result: 'undone', detail };
  if (found.every((f) => f.outcome === 'gone')) return { result: 'skipped', detail };
  return { result: 'unchanged', detail };
}
