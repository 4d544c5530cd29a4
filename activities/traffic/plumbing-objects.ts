// The objects of a generated canary, built from the stable Deployment and Service (pure functions;
// activities/traffic/plumbing.ts reads and writes them). Traffic separation under Istio: the stable
// destination is the user's Service, the canary destination a generated `<service>-canary` Service.
// A copy of the stable pod template keeps every label the stable Service and Deployment select on,
// so those labels' values get a `-canary` suffix on the canary pods (and `track: canary` is added):
// the stable Service and the stable ReplicaSets no longer match them, only the canary Service does.
// The user's Deployment and Service are never modified.
import { ApplicationFailure } from '@temporalio/common';
import type { V1Container, V1Deployment, V1Service } from '@kubernetes/client-node';
import { parseImage } from '../deploy/health.js';
import type { ImageRef, ReleaseRef } from '../types.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const SHIPYARD = 'shipyard';
export const RELEASE_ANNOTATION = 'shipyard.dev/release';
export const ATTEMPT_ANNOTATION = 'shipyard.dev/attempt';
export const CANARY_SUFFIX = '-canary';
export const TRACK = { key: 'track', value: 'canary' };

export interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Labelled Shipyard's (managed-by) — made by some Shipyard release. */
export const isShipyards = (m: Meta | undefined): boolean => m?.labels?.[MANAGED_BY] === SHIPYARD;

/** Made by this attempt of this release. */
export const isThisAttempt = (m: Meta | undefined, ref: ReleaseRef): boolean =>
  isShipyards(m) && m?.annotations?.[RELEASE_ANNOTATION] === ref.releaseId && m?.annotations?.[ATTEMPT_ANNOTATION] === (ref.attempt ?? '');

/** Labels and annotations every generated object carries. */
export function ownership(ref: ReleaseRef, extra: Record<string, string> = {}): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [MANAGED_BY]: SHIPYARD },
    annotations: { [RELEASE_ANNOTATION]: ref.releaseId, [ATTEMPT_ANNOTATION]: ref.attempt ?? '', ...extra },
  };
}

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, 'PlumbingUnsupported');

/** A label value for the canary track (label values are at most 63 characters). */
function canaryValue(key: string, value: string): string {
  const v = `${value}${CANARY_SUFFIX}`;
  if (v.length > 63) throw invalid(`label ${key}=${value} is too long to get the ${CANARY_SUFFIX} suffix (label values are at most 63 characters)`);
  return v;
}

export interface CanaryLabels {
  /** The canary pods' labels: the stable template's, selector values suffixed, plus track: canary. */
  pod: Record<string, string>;
  /** The canary Deployment's selector. */
  deploymentSelector: Record<string, string>;
  /** The canary Service's selector. */
  serviceSelector: Record<string, string>;
}

/** Which labels the canary pods get so that exactly the canary Service selects them. */
export function canaryLabels(stable: V1Deployment, service: V1Service): CanaryLabels {
  const name = `Deployment ${stable.metadata?.namespace}/${stable.metadata?.name}`;
  const svcName = `Service ${service.metadata?.namespace}/${service.metadata?.name}`;
  if (stable.spec?.selector.matchExpressions?.length) throw invalid(`${name} selects its pods with matchExpressions; generated canaries support matchLabels only`);
  const matchLabels = stable.spec?.selector.matchLabels ?? {};
  const template = stable.spec?.template.metadata?.labels ?? {};
  const svcSelector = service.spec?.selector ?? {};
  if (!Object.keys(svcSelector).length) throw invalid(`${svcName} has no selector: the canary Service is derived from the stable Service's selector`);
  const mismatch = Object.entries(svcSelector).filter(([k, v]) => template[k] !== v);
  if (mismatch.length) {
    throw invalid(`${svcName} does not select the pods of ${name} (selector ${mismatch.map(([k, v]) => `${k}=${v}`).join(', ')} not on its pod template): set canary.router.istio.host to the stable Service`);
  }
  const pod = { ...template };
  for (const key of new Set([...Object.keys(matchLabels), ...Object.keys(svcSelector)])) pod[key] = canaryValue(key, template[key] ?? matchLabels[key]);
  pod[TRACK.key] = TRACK.value;
  const pick = (keys: string[]) => Object.fromEntries([...keys.map((k) => [k, pod[k]]), [TRACK.key, TRACK.value]]);
  return { pod, deploymentSelector: pick(Object.keys(matchLabels)), serviceSelector: pick(Object.keys(svcSelector)) };
}

/** The image reference the canary runs: repository:tag, pinned to the digest when known. */
export const imageReference = (image: ImageRef) => `${image.repository}:${image.tag}${image.digest ? `@${image.digest}` : ''}`;

/**
 * The stable containers with the release's image: those running the same repository, or the only
 * container when none does (the release image may come from another, promoted, repository).
 */
export function withImage(containers: V1Container[], image: ImageRef, where: string): V1Container[] {
  const ref = imageReference(image);
  const same = containers.filter((c) => parseImage(c.image ?? '').repository === image.repository);
  if (!same.length && containers.length !== 1) {
    throw ApplicationFailure.nonRetryable(`${where}: no container runs ${image.repository} and there are ${containers.length} containers: cannot tell which one takes the release image`, 'WorkloadMismatch');
  }
  const targets = new Set(same.length ? same : containers);
  return containers.map((c) => (targets.has(c) ? { ...c, image: ref } : c));
}

/** The canary Deployment `<stable>-canary`: the stable pod template with the release image and canary labels. */
export function canaryDeployment(stable: V1Deployment, labels: CanaryLabels, image: ImageRef, ref: ReleaseRef): V1Deployment {
  const ns = stable.metadata!.namespace!;
  const name = `${stable.metadata!.name}${CANARY_SUFFIX}`;
  const { selector: _selector, template, paused: _paused, ...rest } = stable.spec!;
  const own = ownership(ref, { 'shipyard.dev/canary-of': stable.metadata!.name! });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { ...own.labels, [TRACK.key]: TRACK.value }, annotations: own.annotations },
    spec: {
      ...rest,
      replicas: stable.spec!.replicas ?? 1,
      selector: { matchLabels: labels.deploymentSelector },
      template: {
        metadata: { labels: labels.pod, annotations: template.metadata?.annotations },
        spec: { ...template.spec!, containers: withImage(template.spec?.containers ?? [], image, `Deployment ${ns}/${stable.metadata!.name}`) },
      },
    },
  };
}

/** The canary Service `<service>-canary`: the stable Service's ports, selecting only the canary pods. */
export function canaryService(service: V1Service, labels: CanaryLabels, ref: ReleaseRef): V1Service {
  const own = ownership(ref, { 'shipyard.dev/canary-of': service.metadata!.name! });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${service.metadata!.name}${CANARY_SUFFIX}`, namespace: service.metadata!.namespace, labels: own.labels, annotations: own.annotations },
    spec: {
      type: 'ClusterIP',
      selector: labels.serviceSelector,
      ports: (service.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol, appProtocol: p.appProtocol })),
    },
  };
}

/** A VirtualService sending all traffic of the stable host to the stable Service on one named route. */
export function generatedVirtualService(name: string, namespace: string, host: string, route: string, ref: ReleaseRef) {
  const own = ownership(ref);
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace, labels: own.labels, annotations: own.annotations },
    spec: { hosts: [host], http: [{ name: route, route: [{ destination: { host }, weight: 100 }] }] },
  };
}
