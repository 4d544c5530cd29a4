// Multi-cluster environments: the clusters one environment spans and the waves a release takes them in.
import { z } from 'zod';
import { dnsLabel } from './fields.js';

export const ClusterSchema = z
  .strictObject({
    name: dnsLabel.describe('The cluster, as status, stage records, the saga and its lease name it: <environment>@<name>'),
    kubeContext: z.string().min(1).optional().describe('Context in the deploy worker\'s kubeconfig'),
    kubeconfig: z.string().min(1).optional().describe('Path of a kubeconfig file on the deploy worker (with kubeContext: that context in it)'),
  })
  .superRefine((c, ctx) => {
    if (c.kubeContext === undefined && c.kubeconfig === undefined) {
      ctx.addIssue({ code: 'custom', message: `cluster '${c.name}' needs kubeContext or kubeconfig (or both): how the deploy worker reaches it` });
    }
  });

export type ClusterSpec = z.output<typeof ClusterSchema>;

export const clustersField = z
  .array(ClusterSchema)
  .min(1, 'list at least one cluster')
  .optional()
  .describe('Clusters this environment spans: one release goes to each, in waves');

export const wavesField = z
  .array(z.array(dnsLabel).min(1, 'a wave lists at least one cluster'))
  .min(1)
  .optional()
  .describe('Waves of clusters, e.g. [[eu-1], [us-1, us-2]]: a wave starts when the one before it is promoted everywhere. Default: one wave per cluster in the listed order');

type Issue = { code: 'custom'; path: (string | number)[]; message: string };
interface EnvWithClusters {
  name: string;
  clusters?: ClusterSpec[];
  waves?: string[][];
  kubeContext?: string;
  deploy: { helm?: { kubeContext?: string }; gitops?: unknown };
  canary?: { steps: object[]; judge?: { marginal?: string } };
}

/** The rules across fields: unique names, waves naming each cluster once, no environment-wide cluster. */
export function checkClusters(env: EnvWithClusters, base: (string | number)[], ctx: { addIssue(issue: Issue): void }): void {
  if (!env.clusters) {
    if (env.waves) ctx.addIssue({ code: 'custom', path: [...base, 'waves'], message: 'waves need clusters: list the environment\'s clusters' });
    return;
  }
  const names = env.clusters.map((c) => c.name);
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: [...base, 'clusters', i, 'name'], message: `duplicate cluster '${name}'` });
  });
  if (env.deploy.gitops) ctx.addIssue({ code: 'custom', path: [...base, 'clusters'], message: 'clusters need deploy.helm: Shipyard deploys to each cluster itself (one config repository cannot be told apart per cluster)' });
  if (env.kubeContext) ctx.addIssue({ code: 'custom', path: [...base, 'kubeContext'], message: 'with clusters, each cluster names its kubeContext: remove the environment\'s' });
  if (env.deploy.helm?.kubeContext) ctx.addIssue({ code: 'custom', path: [...base, 'deploy', 'helm', 'kubeContext'], message: 'with clusters, each cluster names its kubeContext: remove deploy.helm.kubeContext' });
  if (!env.waves) return;
  const seen = new Map<string, number>();
  env.waves.forEach((wave, w) =>
    wave.forEach((name, j) => {
      const path = [...base, 'waves', w, j];
      if (!names.includes(name)) ctx.addIssue({ code: 'custom', path, message: `unknown cluster '${name}' (clusters: ${names.join(', ')})` });
      else if (seen.has(name)) ctx.addIssue({ code: 'custom', path, message: `cluster '${name}' is in wave ${seen.get(name)! + 1} already: each cluster goes in exactly one wave` });
      else seen.set(name, w);
    }),
  );
  const missing = names.filter((n) => !seen.has(n));
  if (missing.length) ctx.addIssue({ code: 'custom', path: [...base, 'waves'], message: `every cluster must be in a wave; missing: ${missing.join(', ')}` });
  // A release has one pending approval at a time: clusters running at once cannot each hold a gate.
  const gated = env.canary && (env.canary.steps.some((s) => 'approval' in s) || env.canary.judge?.marginal === 'approval');
  if (gated && env.waves.some((w) => w.length > 1)) {
    ctx.addIssue({ code: 'custom', path: [...base, 'waves'], message: 'canary approval gates (approval steps, judge.marginal: approval) need one cluster per wave: clusters of a wave run at once and a release holds one approval at a time' });
  }
}

/** The waves of an environment with clusters: as listed, or one wave per cluster in the listed order. */
export function wavesOf(env: { clusters?: ClusterSpec[]; waves?: string[][] }): ClusterSpec[][] {
  const clusters = env.clusters ?? [];
  const byName = new Map(clusters.map((c) => [c.name, c]));
  return env.waves ? env.waves.map((wave) => wave.map((n) => byName.get(n)!)) : clusters.map((c) => [c]);
}

/** The name of one cluster of an environment, everywhere a release records it: `production@eu-1`. */
export function clusterKey(environment: string, cluster: string): string {
  return `${environment}@${cluster}`;
}
