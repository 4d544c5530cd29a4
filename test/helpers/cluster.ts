// The local control plane scripts/run-tests.js starts for the cluster tier (KUBECONFIG points at it).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { kube } from '../../activities/kube.js';
import { stringify } from 'yaml';
import { parseSpec } from '../../spec/load.js';
import type { HelmDeploySpec, ReleaseSpec } from '../../spec/schema.js';

export const CHART = fileURLToPath(new URL('../../../examples/charts/hello-api', import.meta.url));

export function kubeconfig(): string {
  const path = process.env.KUBECONFIG;
  if (!path) throw new Error('KUBECONFIG is not set: run the cluster tier with `npm test`, which starts a local control plane');
  return path;
}

/** A fresh namespace for one test. */
export async function namespace(prefix = 't'): Promise<string> {
  kubeconfig();
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kube().core.createNamespace({ body: { metadata: { name } } });
  return name;
}

export function helmSpec(release: string, ns: string, over: Partial<HelmDeploySpec> = {}): HelmDeploySpec {
  return {
    chart: CHART,
    release,
    namespace: ns,
    timeout: '60s',
    values: {},
    valuesFiles: [],
    imageValues: { repository: 'image.repository', tag: 'image.tag' },
    plainHttp: false,
    ...over,
  };
}

export interface HelmRevisionRow {
  revision: number;
  status: string;
  description: string;
}

export function helmHistory(release: string, ns: string): HelmRevisionRow[] {
  try {
    return JSON.parse(execFileSync('helm', ['history', release, '-n', ns, '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return [];
  }
}

export function helmValues(release: string, ns: string, revision?: number): Record<string, any> {
  const args = ['get', 'values', release, '-n', ns, '-o', 'json', ...(revision ? ['--revision', String(revision)] : [])];
  return JSON.parse(execFileSync('helm', args, { encoding: 'utf8' })) ?? {};
}

export async function deploymentImage(ns: string, name: string): Promise<string | undefined> {
  const d = await kube().apps.readNamespacedDeployment({ name, namespace: ns });
  return d.spec?.template.spec?.containers[0].image;
}

/**
 * A spec releasing `web-canary` (helm, the test chart) into `ns` with a canary over the stable/canary
 * workloads `web`/`web-canary`, routed by the Istio VirtualService `web` (istio.ts istioNamespace)
 * unless `canary.router` says otherwise; `canary` adds steps, metrics, judge...; `more` adds
 * environment and top-level fields.
 */
export function webCanarySpec(service: string, ns: string, canary: Record<string, unknown>, more: { env?: Record<string, unknown>; top?: Record<string, unknown> } = {}): ReleaseSpec {
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
