// Where a helm chart comes from: a local path (relative to the spec file), an OCI registry
// (oci://host/path/name + version), a chart repository (repo URL + chart name + version), or a repo
// helm already knows (repo/chart). The fields shared by deploy.helm and canary.promote.helm, and the
// rules that tie them together.
import { z } from 'zod';
import semver from 'semver';

/** A helm chart given as a path (., .., ./x, ../x, /x) rather than repo/chart or oci://. */
export function isLocalChart(chart: string): boolean {
  return /^(\.\.?(\/|$)|\/)/.test(chart);
}

export const chartVersion = z
  .string()
  .min(1)
  .refine((v) => !/^v/i.test(v) && semver.valid(v) !== null, {
    message: 'must be an exact chart version (SemVer without a leading v, e.g. 1.4.2), not a range: a release deploys one known chart',
  })
  .describe('Chart version (helm --version), for OCI and chart-repository charts');

export const chartRepo = z
  .string()
  .regex(/^https?:\/\/[^\s/]+/, 'must be a chart repository URL (https://… or http://…)')
  .describe('Chart repository URL; chart is then the chart name in it (helm --repo URL NAME --version V)');

export const plainHttpField = z.boolean().describe('Talk to the OCI registry over plain HTTP (helm --plain-http), e.g. a local registry');

export interface ChartSourceFields {
  chart?: string;
  version?: string;
  repo?: string;
  plainHttp?: boolean;
}

/** A chart name in a repository: no path, no scheme, no repo/ prefix. */
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The rules between chart, version, repo and plainHttp; issues are added at `base` + field. */
export function checkChartSource(source: ChartSourceFields, base: PropertyKey[], ctx: z.RefinementCtx): void {
  const { chart, version, repo, plainHttp } = source;
  if (chart === undefined) return;
  const oci = chart.startsWith('oci://');
  if (repo !== undefined && !CHART_NAME.test(chart)) {
    ctx.addIssue({
      code: 'custom',
      path: [...base, 'chart'],
      message: `with repo, chart is the chart's name in that repository (e.g. hello-api), not a path, an oci:// reference or repo/name: got '${chart}'`,
    });
  }
  if (version !== undefined && isLocalChart(chart)) {
    ctx.addIssue({
      code: 'custom',
      path: [...base, 'version'],
      message: `version selects a chart in an OCI registry or chart repository; the local chart '${chart}' has its version in its Chart.yaml`,
    });
  }
  if (plainHttp && !oci) {
    ctx.addIssue({ code: 'custom', path: [...base, 'plainHttp'], message: `plainHttp is for OCI registries (chart: oci://…); chart '${chart}' is not one` });
  }
}
