// An Istio-routed namespace for canary tests on the real API server (Istio's CRDs only; no data
// plane): the stable helm release `web`, a DestinationRule with stable/canary subsets and a
// VirtualService sending 100% to stable on its `primary` route.
import { MockActivityEnvironment } from '@temporalio/testing';
import { helmDeploy } from '../../activities/deploy/helm.js';
import { kube } from '../../activities/kube.js';
import { helmSpec, namespace } from './cluster.js';

export const ISTIO = { group: 'networking.istio.io', version: 'v1' };

export async function istioNamespace(prefix: string): Promise<string> {
  const ns = await namespace(prefix);
  const env = new MockActivityEnvironment();
  await env.run(helmDeploy, { releaseId: 'setup', service: 'web', version: 'v1', commit: 'c', helm: helmSpec('web', ns, { values: { track: 'stable' } }), image: { repository: 'registry.local/web', tag: 'v1', digest: '', platforms: [] } });
  const custom = kube().custom;
  await custom.createNamespacedCustomObject({ ...ISTIO, namespace: ns, plural: 'destinationrules', body: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web' }, spec: { host: 'web', subsets: [{ name: 'stable', labels: { version: 'stable' } }, { name: 'canary', labels: { version: 'canary' } }] } } });
  await custom.createNamespacedCustomObject({ ...ISTIO, namespace: ns, plural: 'virtualservices', body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web' }, spec: { hosts: ['web'], http: [{ name: 'primary', route: [{ destination: { host: 'web', subset: 'stable' }, weight: 100 }] }] } } });
  return ns;
}

/** [stable, canary] weights of the `primary` route as the API server stores them. */
export async function routeWeights(ns: string): Promise<[number, number]> {
  const vs = (await kube().custom.getNamespacedCustomObject({ ...ISTIO, namespace: ns, plural: 'virtualservices', name: 'web' })) as { spec: { http: { name?: string; route: { destination: { subset: string }; weight?: number }[] }[] } };
  const route = vs.spec.http.find((r) => r.name === 'primary')!.route;
  const w = (s: string) => route.find((d) => d.destination.subset === s)?.weight ?? 0;
  return [w('stable'), w('canary')];
}

