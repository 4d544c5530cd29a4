// Packaging a chart from the app repository for the deploy worker, which shares no disk with the
// build worker: `helm package` into a temp dir, and the .tgz handed on by content (ChartArchive, in
// the release input and activity inputs, so in Temporal history: hence the size limit).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ChartArchive } from '../types.js';
import { prepareChartDir } from '../chart-dir.js';
import { helm } from '../deploy/helm-cli.js';

/** Largest packaged chart handed by content: history payloads are limited (2 MB each), base64 adds a third. */
export const MAX_CHART_ARCHIVE_BYTES = 1024 * 1024;

/** Packages the chart in `dir` (building its dependencies first when charts/ is missing). */
export async function packageChart(dir: string): Promise<ChartArchive> {
  const { name, version } = await prepareChartDir(dir);
  const out = mkdtempSync(join(tmpdir(), 'chart-package-'));
  try {
    await helm(['package', dir, '--destination', out], `helm package ${dir}`, 120_000);
    const files = readdirSync(out).filter((f) => f.endsWith('.tgz'));
    const expected = `${name}-${version}.tgz`;
    if (!files.includes(expected)) {
      throw ApplicationFailure.nonRetryable(`helm package ${dir} wrote ${files.join(', ') || 'nothing'}, expected ${expected}`, 'InvalidChart');
    }
    const data = readFileSync(join(out, expected));
    if (data.length > MAX_CHART_ARCHIVE_BYTES) {
      throw ApplicationFailure.nonRetryable(
        `chart ${name}-${version} packages to ${data.length} bytes, more than the ${MAX_CHART_ARCHIVE_BYTES} bytes a chart handed by content may have: publish it to an OCI registry (helm push) and reference it with oci://… and version instead`,
        'ChartTooLarge',
      );
    }
    return { name, version, sha256: createHash('sha256').update(data).digest('hex'), data: data.toString('base64') };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
