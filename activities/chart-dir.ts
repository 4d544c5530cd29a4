// A chart directory on this machine: its Chart.yaml (name, SemVer version) and its dependencies,
// built when charts/ is missing. Shared by the helm deployer (local charts) and the build worker's
// chart packaging; the helm runner comes from deploy/helm-cli.ts, which imports nothing of either.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parse } from 'yaml';
import semver from 'semver';
import { helm } from './deploy/helm-cli.js';

export interface ChartMeta {
  name: string;
  version: string;
}

/** Chart.yaml's name and version; ChartNotFound without Chart.yaml, InvalidChart when they are unusable. */
export function readChartMeta(dir: string): ChartMeta & { dependencies: unknown[] } {
  const chartFile = join(dir, 'Chart.yaml');
  if (!existsSync(chartFile)) throw ApplicationFailure.nonRetryable(`chart ${dir} not found (no Chart.yaml)`, 'ChartNotFound');
  let meta: { name?: unknown; version?: unknown; dependencies?: unknown[] } | null;
  try {
    meta = parse(readFileSync(chartFile, 'utf8'));
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`chart ${dir}: Chart.yaml is not valid YAML: ${(err as Error).message}`, 'InvalidChart');
  }
  if (!meta?.version || !semver.valid(String(meta.version))) {
    throw ApplicationFailure.nonRetryable(`chart ${dir}: version '${meta?.version}' is not semver (Helm requires SemVer 2)`, 'InvalidChart');
  }
  if (!meta.name || typeof meta.name !== 'string') throw ApplicationFailure.nonRetryable(`chart ${dir}: Chart.yaml has no name`, 'InvalidChart');
  return { name: meta.name, version: String(meta.version), dependencies: Array.isArray(meta.dependencies) ? meta.dependencies : [] };
}

/**
 * Reads the chart and builds its dependencies (helm dependency build) when it declares some and has
 * no charts/ directory yet.
 */
export async function prepareChartDir(dir: string): Promise<ChartMeta> {
  const { name, version, dependencies } = readChartMeta(dir);
  if (dependencies.length && !existsSync(join(dir, 'charts'))) {
    await helm(['dependency', 'build', dir], `helm dependency build ${dir}`);
  }
  return { name, version };
}
