// An Istio-routed namespace for canary tests on the real API server (Istio's CRDs only; no data
// plane): the stable helm release `web`, a DestinationRule with stable/canary subsets and a
// VirtualService sending 100% to stable on its `primary` route. By default in the tier's cluster;
// `target` names another one (a context and/or a kubeconfig file, as a multi-cluster spec does).
import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { helmDeploy } from '../../activities/deploy/helm.js';
import { kube } from '../../activities/kube.js';
import { helmSpec, namespace } from './cluster.js';

export const ISTIO = { group: 'networking.istio.io', version: 'v1' };

export interface IstioTarget {
  kubeContext?: string;
  kubeconfig?: string;
}

export interface IstioNamespaceOptions {
  /** The cluster (default: the tier's, KUBECONFIG's current context). */
  target?: IstioTarget;
  /** The namespace's name (default: `prefix` plus a random suffix); the same name in several clusters. */
  name?: string;
  /** Extra helm values of the stable release `web` (e.g. its image). */
  values?: Record<string, unknown>;
  /** The name of the VirtualService's route (default `primary`, the one the canary specs shift). */
  routeName?: string;
}

export async function istioNamespace(prefix: string, opts: IstioNamespaceOptions = {}): Promise<string> {
  const { target } = opts;
  let ns: string;
  if (!target && !opts.name) ns = await namespace(prefix);
  else {
    ns = opts.name ?? `${prefix}-${randomBytes(3).toString('hex')}`;
    await kube(target).core.createNamespace({ body: { metadata: { name: ns } } });
  }
  const env = new MockActivityEnvironment();
  await env.run(helmDeploy, {
    releaseId: 'setup', service: 'web', version: 'v1', commit: 'c',
    ...(target?.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
    helm: helmSpec('web', ns, { values: { track: 'stable', ...opts.values }, ...(target?.kubeContext ? { kubeContext: target.kubeContext } : {}) }),
    image: { repository: 'registry.local/web', tag: 'v1', digest: '', platforms: [] },
  });
  const custom = kube(target).custom;
  await custom.createNamespacedCustomObject({ ...ISTIO, namespace: ns, plural: 'destinationrules', body: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web' }, spec: { host: 'web', subsets: [{ name: 'stable', labels: { version: 'stable' } }, { name: 'canary', labels: { version: 'canary' } }] } } });
  await custom.createNamespacedCustomObject({ ...ISTIO, namespace: ns, plural: 'virtualservices', body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web' }, spec: { hosts: ['web'], http: [{ name: opts.routeName ?? 'primary', route: [{ destination: { host: 'web', subset: 'stable' }, weight: 100 }] }] } } });
  return ns;
}

type VirtualServiceRoutes = { spec: { http: { name?: string; route: { destination: { subset: string }; weight?: number }[] }[] } };

/** The VirtualService `web` as the API server stores it. */
export async function virtualService(ns: string, target?: IstioTarget): Promise<VirtualServiceRoutes> {
  return (await kube(target).custom.getNamespacedCustomObject({ ...ISTIO, namespace: ns, plural: 'virtualservices', name: 'web' })) as VirtualServiceRoutes;
}

/** [stable, canary] weights of the `primary` route as the API server stores them. */
export async function routeWeights(ns: string, target?: IstioTarget): Promise<[number, number]> {
  const vs = await virtualService(ns, target);
  const route = vs.spec.http.find((r) => r.name === 'primary')!.route;
  const w = (s: string) => route.find((d) => d.destination.subset === s)?.weight ?? 0;
  return [w('stable'), w('canary')];
}
