// Local paths in a spec: which values are paths on this machine, resolving them against the spec
// file's directory, and checking at load that local helm charts exist (helm would only fail mid-release).
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ReleaseSpec } from './schema.js';
import { isLocalChart } from './chart-source.js';

/** A git location that is a local path rather than a URL (https://, ssh://, file://, git@host:repo). */
export function isLocalRepo(repo: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) && !/^[^/\s]+@[^/\s]+:/.test(repo);
}

export { isLocalChart } from './chart-source.js';

/** Why a local chart cannot be used, or undefined: a directory with Chart.yaml, or a packaged .tgz. */
export function localChartProblem(chart: string, baseDir: string): string | undefined {
  const abs = isAbsolute(chart) ? chart : resolve(baseDir, chart);
  if (!existsSync(abs)) return `local chart '${chart}' does not exist (${abs})`;
  if (statSync(abs).isDirectory()) {
    return existsSync(join(abs, 'Chart.yaml')) ? undefined : `local chart '${chart}' has no Chart.yaml (${abs})`;
  }
  return /\.(tgz|tar\.gz)$/.test(abs) ? undefined : `local chart '${chart}' is neither a chart directory nor a .tgz archive (${abs})`;
}

/** Where a spec lives in an application repository (pipelines as code, `shipyard init`). */
export const DEFAULT_SPEC_PATH = '.shipyard/release.yaml';

export interface PathIssue {
  path: PropertyKey[];
  message: string;
}

/**
 * Local charts of the raw (not yet validated) document that do not exist relative to `baseDir`:
 * deploy.helm.chart and canary.promote.helm.chart of every environment. It reads the raw data so
 * these issues are reported together with the schema's.
 */
export function checkLocalCharts(data: unknown, baseDir: string): PathIssue[] {
  const issues: PathIssue[] = [];
  const envs = (data as { environments?: unknown }).environments;
  if (!Array.isArray(envs)) return issues;
  envs.forEach((env, i) => {
    const at = (path: string[]): unknown => path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), env);
    for (const path of [['deploy', 'helm', 'chart'], ['canary', 'promote', 'helm', 'chart']]) {
      const chart = at(path);
      if (typeof chart !== 'string' || !isLocalChart(chart)) continue;
      const problem = localChartProblem(chart, baseDir);
      if (problem) issues.push({ path: ['environments', i, ...path], message: problem });
    }
  });
  return issues;
}

/**
 * Makes the spec's local paths absolute, relative to the spec file, so workers on this machine find
 * them whatever their working directory: source.repo and gitops.repo when they are paths, helm charts
 * (deploy and canary promotion) and values files written as paths.
 */
export function resolveLocalPaths(spec: ReleaseSpec, baseDir: string): ReleaseSpec {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  if (isLocalRepo(spec.source.repo)) spec.source.repo = abs(spec.source.repo);
  for (const env of spec.environments) {
    const { helm, gitops } = env.deploy;
    if (helm && isLocalChart(helm.chart)) helm.chart = abs(helm.chart);
    if (helm) helm.valuesFiles = helm.valuesFiles.map((f) => (/^\.\.?\//.test(f) ? abs(f) : f));
    if (gitops && isLocalRepo(gitops.repo)) gitops.repo = abs(gitops.repo);
    const promote = env.canary?.promote?.helm;
    if (promote?.chart && isLocalChart(promote.chart)) promote.chart = abs(promote.chart);
  }
  return spec;
}
