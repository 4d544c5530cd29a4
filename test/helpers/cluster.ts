// The local control plane scripts/run-tests.js starts for the cluster tier (KUBECONFIG points at it).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { kube } from '../../activities/kube.js';
import type { HelmDeploySpec } from '../../spec/schema.js';

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
