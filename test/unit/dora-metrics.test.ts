// The DORA gauges (client/dora-metrics.ts) on a real prom-client Registry. `read` is a fake here on
// purpose: it is the pure-function boundary between the gauges and Temporal (readDora, tested against
// the real dev server in test/integration/dora.test.ts); these tests cover what the gauges do with a
// result, a failure and the clock. Also the CLI's table and the record cache.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { registerDoraGauges } from '../../client/dora-metrics.js';
import { DoraRecordCache, doraQuery, type DoraResult } from '../../client/dora-source.js';
import { formatDora, humanSeconds, windowDays } from '../../client/cli-dora.js';
import type { DoraRecord, DoraRow } from '../../client/dora.js';

const WINDOW = { from: '2026-03-01T00:00:00.000Z', to: '2026-03-31T00:00:00.000Z', days: 30 };

function row(over: Partial<DoraRow> & Pick<DoraRow, 'service' | 'environment'>): DoraRow {
  return {
    window: WINDOW,
    deployments: 6,
    deploymentsPerDay: 0.2,
    leadTime: { medianSeconds: 3600, p90Seconds: 7200, measured: 5, missingCommitTime: 1 },
    changeFailureRate: 0.25,
    failedChanges: 2,
    changes: 8,
    timeToRestore: { medianSeconds: 1800, restored: 2 },
    ...over,
  };
}

const RESULT: DoraResult = {
  rows: [
    row({ service: 'api', environment: 'production' }),
    row({ service: 'api', environment: 'staging', deployments: 0, deploymentsPerDay: 0, leadTime: { medianSeconds: null, p90Seconds: null, measured: 0, missingCommitTime: 0 }, changeFailureRate: null, failedChanges: 0, changes: 0, timeToRestore: { medianSeconds: null, restored: 0 } }),
  ],
  window: WINDOW,
  releasesRead: 12,
  truncated: false,
  skipped: 1,
};

/** The registry's samples as `name{labels} value` lines (sorted), without HELP/TYPE. */
async function samples(registry: Registry): Promise<string[]> {
  return (await registry.metrics())
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .sort();
}

describe('registerDoraGauges', () => {
  test('every gauge from one read at scrape time; null values have no sample', async () => {
    const registry = new Registry();
    let reads = 0;
    registerDoraGauges(registry, async () => {
      reads++;
      return RESULT;
    });
    assert.deepEqual(await samples(registry), [
      'shipyard_dora_change_failure_ratio{service="api",environment="production"} 0.25',
      'shipyard_dora_deployment_frequency_per_day{service="api",environment="production"} 0.2',
      'shipyard_dora_deployment_frequency_per_day{service="api",environment="staging"} 0',
      'shipyard_dora_deployments{service="api",environment="production"} 6',
      'shipyard_dora_deployments{service="api",environment="staging"} 0',
      'shipyard_dora_lead_time_seconds{service="api",environment="production",quantile="0.5"} 3600',
      'shipyard_dora_lead_time_seconds{service="api",environment="production",quantile="0.9"} 7200',
      'shipyard_dora_time_to_restore_seconds{service="api",environment="production"} 1800',
      'shipyard_dora_up 1',
      'shipyard_dora_window_days 30',
    ]);
    assert.equal(reads, 1, 'the seven gauges of a scrape share one read');
  });

  test('a result is kept for 60 s of the injected clock; then read again, and rows gone are gone', async () => {
    const registry = new Registry();
    let t = 1_000_000;
    let reads = 0;
    const results = [RESULT, { ...RESULT, rows: [row({ service: 'web', environment: 'production', deployments: 1 })] }];
    registerDoraGauges(registry, async () => results[Math.min(reads++, 1)], { now: () => t });
    await samples(registry);
    t += 59_999;
    assert.ok((await samples(registry)).includes('shipyard_dora_deployments{service="api",environment="production"} 6'));
    assert.equal(reads, 1);
    t += 1;
    // The first scrape after the ttl starts a fresh read and is served the last answer meanwhile.
    const stale = await samples(registry);
    assert.equal(reads, 2);
    assert.ok(stale.includes('shipyard_dora_deployments{service="api",environment="production"} 6'), 'served while the fresh read runs');
    const after = await samples(registry);
    assert.equal(reads, 2);
    assert.ok(after.includes('shipyard_dora_deployments{service="web",environment="production"} 1'));
    assert.ok(!after.some((l) => l.includes('service="api"')), 'no stale label sets from the previous read');
  });

  test('a failed read: up 0, no DORA samples, the scrape and the other metrics go on; the next window retries', async () => {
    const registry = new Registry();
    new Counter({ name: 'shipyard_gateway_requests_total', help: 'other', registers: [registry] }).inc(3);
    let t = 0;
    let fail = true;
    const errors: unknown[] = [];
    registerDoraGauges(
      registry,
      async () => {
        if (fail) throw new Error('Temporal unavailable');
        return RESULT;
      },
      { now: () => t, onError: (e) => errors.push(e) },
    );
    // A label-less gauge always has a sample: window_days is 0 before any successful read.
    const down = ['shipyard_dora_up 0', 'shipyard_dora_window_days 0', 'shipyard_gateway_requests_total 3'];
    assert.deepEqual(await samples(registry), down);
    assert.equal((errors[0] as Error).message, 'Temporal unavailable');
    fail = false;
    assert.deepEqual(await samples(registry), down, 'the failure is kept for the ttl too');
    t += 60_000;
    assert.deepEqual(await samples(registry), down, 'served the last answer while the retry runs');
    const s = await samples(registry);
    assert.ok(s.includes('shipyard_dora_up 1'));
    assert.ok(s.includes('shipyard_dora_window_days 30'));
    assert.ok(s.includes('shipyard_dora_deployments{service="api",environment="production"} 6'));
    // Down again: the per-row gauges empty, the window stays what was last read.
    fail = true;
    t += 60_000;
    assert.ok((await samples(registry)).includes('shipyard_dora_up 1'), 'the last good answer while the failing read runs');
    assert.deepEqual(await samples(registry), ['shipyard_dora_up 0', 'shipyard_dora_window_days 30', 'shipyard_gateway_requests_total 3']);
    assert.equal(errors.length, 2);
  });
});

describe('shipyard dora pieces', () => {
  test('the table and its notes', () => {
    const text = formatDora({ ...RESULT, truncated: true });
    const lines = text.split('\n');
    assert.equal(lines[0], 'DORA metrics, 30d from 2026-03-01T00:00:00.000Z to 2026-03-31T00:00:00.000Z (12 releases read)');
    assert.match(lines[1], /^SERVICE\s+ENVIRONMENT\s+DEPLOYS\s+PER DAY\s+LEAD TIME p50 \/ p90\s+CHANGE FAILURE\s+RESTORE p50 \(n\)\s+OPEN INCIDENT SINCE$/);
    assert.match(lines[2], /^api\s+production\s+6\s+0\.20\s+1\.0h \/ 2\.0h\s+25% \(2\/8\)\s+30m \(2\)\s+-$/);
    assert.match(lines[3], /^api\s+staging\s+0\s+0\s+- \/ -\s+- \(0\/0\)\s+-\s+-$/);
    assert.equal(lines[4], 'note: api/production: lead time from 5 of 6 deployments (1 without a commit time)');
    assert.match(lines[5], /1 release\(s\) ended outside Shipyard/);
    assert.match(lines[6], /only the newest 12 releases were read/);
    assert.match(formatDora({ ...RESULT, rows: [], skipped: 0 }), /no release deployed to any environment in this window$/);
  });

  test('humanSeconds and --window', () => {
    assert.deepEqual([null, 42, 600, 5400, 3 * 86_400].map(humanSeconds), ['-', '42s', '10m', '1.5h', '3.0d']);
    assert.equal(windowDays('30d'), 30);
    assert.equal(windowDays('12h'), 0.5);
    assert.throws(() => windowDays('30'), /not a duration/);
    assert.throws(() => windowDays('5m'), /at least 1h/);
  });

  test('the visibility query; the record cache is a bounded LRU', () => {
    assert.equal(doraQuery('2026-03-01T00:00:00.000Z', 'api'), "WorkflowType = 'releaseWorkflow' AND CloseTime >= '2026-03-01T00:00:00.000Z' AND ShipyardService = 'api'");
    const cache = new DoraRecordCache(2);
    const r = (id: string) => ({ releaseId: id }) as DoraRecord;
    cache.set('a', r('a')).set('b', null);
    assert.equal(cache.get('a')?.releaseId, 'a'); // a is now the most recent
    cache.set('c', r('c'));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined, 'the least recently used went');
    assert.equal(cache.get('a')?.releaseId, 'a');
    assert.equal(cache.get('c')?.releaseId, 'c');
  });
});
