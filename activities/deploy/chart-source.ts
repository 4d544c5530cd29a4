// The chart a helm upgrade uses, from wherever the release says it is: handed by content (a
// ChartArchive, written to a temp .tgz and verified), a local directory (dependencies built), an OCI
// registry (oci://… --version [--plain-http]), a chart repository (--repo URL NAME --version) or a repo
// helm knows (repo/chart --version). Also says which chart name and version that is, when known,
// for the "already deployed" checks.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ChartArchive } from '../types.js';
import type { HelmDeploySpec } from '../../spec/schema.js';
import { isLocalChart } from '../../spec/chart-source.js';
import { prepareChartDir } from '../chart-dir.js';

export interface ResolvedChart {
  /** The chart argument(s) and their flags for `helm upgrade <release> …`. */
  args: string[];
  /** Chart name and version that will be deployed, when known before asking helm. */
  name?: string;
  version?: string;
  /** Removes what resolving wrote (the archive's temp file); safe to call twice. */
  cleanup(): void;
}

type ChartSource = Pick<HelmDeploySpec, 'chart' | 'version' | 'repo' | 'plainHttp'>;

/** The archive's .tgz, written to a temp dir as `<name>-<version>.tgz` after its sha256 checked out. */
export function writeArchive(archive: ChartArchive): { file: string; cleanup(): void } {
  const data = Buffer.from(archive.data, 'base64');
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (sha256 !== archive.sha256) {
    throw ApplicationFailure.nonRetryable(
      `chart archive ${archive.name}-${archive.version}: sha256 of its ${data.length} bytes is ${sha256}, the archive says ${archive.sha256} (corrupted in transit or edited)`,
      'ChartCorrupt',
    );
  }
  // The name comes from a Chart.yaml: keep it to one path segment.
  if (!/^[A-Za-z0-9._-]+$/.test(`${archive.name}-${archive.version}`)) {
    throw ApplicationFailure.nonRetryable(`chart archive name '${archive.name}' or version '${archive.version}' is not usable as a file name`, 'InvalidChart');
  }
  const dir = mkdtempSync(join(tmpdir(), 'chart-archive-'));
  const file = join(dir, `${archive.name}-${archive.version}.tgz`);
  writeFileSync(file, data);
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function resolveChart(source: ChartSource, archive?: ChartArchive): Promise<ResolvedChart> {
  if (archive) {
    const { file, cleanup } = writeArchive(archive);
    return { args: [file], name: archive.name, version: archive.version, cleanup };
  }
  const nothing = () => {};
  const { chart, version, repo, plainHttp } = source;
  if (isLocalChart(chart) && !/\.(tgz|tar\.gz)$/.test(chart)) {
    const meta = await prepareChartDir(chart);
    return { args: [chart], ...meta, cleanup: nothing };
  }
  if (isLocalChart(chart)) {
    if (!exists(chart)) throw ApplicationFailure.nonRetryable(`chart archive ${chart} not found`, 'ChartNotFound');
    return { args: [chart], cleanup: nothing }; // a packaged chart: helm reads its name and version
  }
  const flags = [...(version ? ['--version', version] : []), ...(plainHttp && chart.startsWith('oci://') ? ['--plain-http'] : [])];
  if (repo) return { args: [chart, '--repo', repo, ...flags], name: chart, version, cleanup: nothing };
  // oci://host/path/name or repo/name: the chart's name is the last segment.
  return { args: [chart, ...flags], name: basename(chart), version, cleanup: nothing };
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `helm history`'s chart column (`<name>-<version>`) is the chart resolved here; true when its version is unknown. */
export function isSameChart(resolved: Pick<ResolvedChart, 'name' | 'version'>, historyChart: string): boolean {
  if (!resolved.version) return true;
  return resolved.name ? historyChart === `${resolved.name}-${resolved.version}` : historyChart.endsWith(`-${resolved.version}`);
}
