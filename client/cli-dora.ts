// `shipyard dora`: DORA metrics per service and environment over a window (dora-source.ts reads them
// from Temporal, dora.ts defines them): a table, with what was not measured said under it.
import { CommanderError, type Command } from 'commander';
import { parseDuration } from '../spec/duration.js';
import type { DoraRow } from './dora.js';
import { DEFAULT_DORA_LIMIT, readDora, type DoraResult } from './dora-source.js';
import { EXIT } from './exit-codes.js';
import type { ShipyardClient } from './index.js';

export interface DoraCommandContext {
  getClient: () => Promise<ShipyardClient>;
  print: (line?: string) => void;
  printJson: (value: unknown) => void;
  json: () => boolean;
}

/** `--window 30d` (any spec duration, at least an hour) in days. */
export function windowDays(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new CommanderError(EXIT.usage, 'shipyard.invalidArgument', `--window: ${(err as Error).message}`);
  }
  if (ms < 3_600_000) throw new CommanderError(EXIT.usage, 'shipyard.invalidArgument', `--window must be at least 1h, not ${text}`);
  return ms / 86_400_000;
}

/** 45s, 12m, 3.5h, 2.1d: a lead time or restore time at a glance. */
export function humanSeconds(s: number | null): string {
  if (s === null) return '-';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86_400) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86_400).toFixed(1)}d`;
}

const percent = (r: number | null) => (r === null ? '-' : `${(r * 100).toFixed(r * 100 < 10 ? 1 : 0)}%`);
const rate = (perDay: number) => (perDay >= 1 || perDay === 0 ? perDay.toFixed(perDay === 0 ? 0 : 1) : perDay.toFixed(2));

function cells(r: DoraRow): string[] {
  return [
    r.service,
    r.environment,
    String(r.deployments),
    rate(r.deploymentsPerDay),
    `${humanSeconds(r.leadTime.medianSeconds)} / ${humanSeconds(r.leadTime.p90Seconds)}`,
    `${percent(r.changeFailureRate)} (${r.failedChanges}/${r.changes})`,
    r.timeToRestore.restored ? `${humanSeconds(r.timeToRestore.medianSeconds)} (${r.timeToRestore.restored})` : '-',
    r.timeToRestore.openSince ?? '-',
  ];
}

export function formatDora(result: DoraResult): string {
  const days = Number.isInteger(result.window.days) ? `${result.window.days}d` : `${result.window.days.toFixed(2)}d`;
  const lines = [`DORA metrics, ${days} from ${result.window.from} to ${result.window.to} (${result.releasesRead} releases read)`];
  if (!result.rows.length) {
    lines.push('no release deployed to any environment in this window');
  } else {
    const head = ['SERVICE', 'ENVIRONMENT', 'DEPLOYS', 'PER DAY', 'LEAD TIME p50 / p90', 'CHANGE FAILURE', 'RESTORE p50 (n)', 'OPEN INCIDENT SINCE'];
    const table = [head, ...result.rows.map(cells)];
    const widths = head.map((_, i) => Math.max(...table.map((row) => row[i].length)));
    for (const row of table) lines.push(row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  }
  for (const r of result.rows) {
    if (r.leadTime.missingCommitTime) {
      lines.push(`note: ${r.service}/${r.environment}: lead time from ${r.leadTime.measured} of ${r.deployments} deployments (${r.leadTime.missingCommitTime} without a commit time)`);
    }
  }
  if (result.skipped) lines.push(`note: ${result.skipped} release(s) ended outside Shipyard (terminated, timed out) and are not counted`);
  if (result.truncated) lines.push(`note: only the newest ${result.releasesRead} releases were read (--limit): the window's oldest part is missing`);
  return lines.join('\n');
}

export function registerDoraCommands(program: Command, ctx: DoraCommandContext): void {
  program
    .command('dora')
    .description('DORA metrics per service and environment: deployment frequency, lead time, change failure rate, time to restore')
    .option('--service <name>', 'only this service')
    .option('--environment <name>', 'only this environment')
    .option('--window <duration>', 'how far back, e.g. 7d, 30d, 90d', '30d')
    .option('--limit <n>', `read at most this many releases, newest first (default ${DEFAULT_DORA_LIMIT})`)
    .action(async (opts) => {
      const limit = opts.limit === undefined ? undefined : Number(opts.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new CommanderError(EXIT.usage, 'shipyard.invalidArgument', '--limit must be a positive integer');
      const result = await readDora(await ctx.getClient(), { service: opts.service, environment: opts.environment, windowDays: windowDays(opts.window), limit });
      if (ctx.json()) ctx.printJson(result);
      else ctx.print(formatDora(result));
    });
}
