// An Istio-routed namespace for canary tests on the real API server (Istio's CRDs only; no data
// plane): the stable helm release `web`, a DestinationRule with stable/canary subsets and a
// VirtualService sending 100% to stable on its `primary` route.
import { MockActivityEnvironment } from '@temporalio/testing';
import { helmDeploy } from '../../activities/deploy/helm.js';
import { kube } from '../../activities/kube.js';
import { stringify } from 'yaml';
import { parseSpec } from '../../spec/load.js';
import type { ReleaseSpec } from '../../spec/schema.js';
import { CHART, helmSpec, namespace } from './cluster.js';

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

/**
 * A spec releasing `web-canary` (helm) into an istioNamespace, with an Istio canary on its `primary`
 * route and the stable/canary workloads; `canary` adds steps, metrics, judge...; `top` and `env` add
 * top-level and environment fields.
 */
export function istioCanarySpec(service: string, ns: string, canary: Record<string, unknown>, more: { env?: Record<string, unknown>; top?: Record<string, unknown> } = {}): ReleaseSpec {
  return parseSpec(
    stringify({
      service,
      source: { repo: 'https://git.example.com/web.git' },
      environments: [
        {
          name: 'production',
          deploy: { helm: { chart: CHART, release: 'web-canary', namespace: ns, timeout: '60s', values: { track: 'canary', replicaCount: 1 } } },
          health: { deployment: 'web-canary', timeout: '60s' },
          ...more.env,
          canary: { router: { istio: { virtualService: 'web', namespace: ns, route: 'primary' } }, workloads: { stable: 'web', canary: 'web-canary' }, ...canary },
        },
      ],
      ...more.top,
    }),
  );
}
