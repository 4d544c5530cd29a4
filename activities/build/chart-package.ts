// PLACEHOLDER until h-charts lands: packages a chart directory with helm, by content.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parse } from 'yaml';
import { run } from '../exec.js';
import type { ChartArchive } from '../types.js';

export async function packageChart(dir: string): Promise<ChartArchive> {
  const meta = parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as { name: string; version: string };
  const out = mkdtempSync(join(tmpdir(), 'chart-'));
  try {
    const r = await run('helm', ['package', dir, '-d', out]);
    if (r.code !== 0) throw ApplicationFailure.nonRetryable(`helm package ${dir}: ${r.stderr}`, 'InvalidChart');
    const data = readFileSync(join(out, readdirSync(out)[0]));
    return { name: meta.name, version: String(meta.version), sha256: createHash('sha256').update(data).digest('hex'), data: data.toString('base64') };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
