// The web metric provider against a real local HTTP server (node:http): JSON answers, 503, a slow
// answer (timeout), a body that is not JSON, several JSONPath matches, a header from the worker's
// environment reaching the server, a POST body, and the egress allowlist. Then releases on the real
// dev server (other activities MOCKED by FakeWorld, the measuring activities real): a web metric
// judged end to end, and a real Prometheus whose target disappears for a moment mid-analysis
// (inconclusive: error rides it out; the old inconclusive: fail rolls back).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { MetricSchema, type MetricSpec } from '../../spec/metric-schema.js';
import { WebMetricProvider } from '../../activities/metrics/web.js';
import { PrometheusProvider } from '../../activities/metrics/prometheus.js';
import { providerFor } from '../../activities/metrics/provider.js';
import { measureSeries } from '../../activities/metrics/series.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { startPrometheus, type Prometheus } from '../helpers/prometheus.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';
import type { DeployActivities } from '../../activities/types.js';

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server whose routes answer as the tests need; it records every request. */
let server: Server;
let base: string;
const seen: Seen[] = [];
/** What /rate answers, in order (the last repeats): a number, or an HTTP status to fail with. */
let rates: ({ rate: number } | { status: number })[] = [{ rate: 0 }];
let rateCalls = 0;
/** When /rate was asked (ms since epoch). */
const rateTimes: number[] = [];
/** Prometheus exposition of /metrics; `down` answers 503 (a failed scrape). */
let down = false;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      seen.push({ method: req.method ?? '', path, headers: req.headers, body });
      const json = (status: number, v: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (path === '/ok') return json(200, { data: { rate: 0.004 } });
      if (path === '/numeric-string') return json(200, { data: { rate: '0.25' } });
      if (path === '/no-match') return json(200, { data: {} });
      if (path === '/null') return json(200, { data: { rate: null } });
      if (path === '/not-a-number') return json(200, { data: { rate: 'high' } });
      if (path === '/many') return json(200, { pods: [{ rate: 0.1 }, { rate: 0.2 }, { rate: 0.3 }] });
      if (path === '/unavailable') return json(503, { error: 'warming up' });
      if (path === '/redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest' });
        return res.end();
      }
      if (path === '/html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>maintenance</html>');
      }
      if (path === '/huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(`{"pad":"${'x'.repeat(2 * 1024 * 1024)}","rate":1}`);
      }
      if (path === '/slow') return void setTimeout(() => json(200, { data: { rate: 0 } }), 1500);
      if (path === '/query' && req.method === 'POST') {
        const q = JSON.parse(body) as { series: string };
        return json(200, { result: { [q.series]: 0.125 } });
      }
      if (path === '/rate') {
        rateTimes.push(Date.now());
        const r = rates[Math.min(rateCalls++, rates.length - 1)];
        return 'status' in r ? json(r.status, { error: 'backend unavailable' }) : json(200, { data: { rate: r.rate } });
      }
      if (path === '/metrics') {
        if (down) {
          res.writeHead(503);
          return res.end('down');
        }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        return res.end('# TYPE app_error_ratio gauge\napp_error_ratio 0.001\n');
      }
      json(404, { error: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const webMetric = (web: Record<string, unknown>, over: Record<string, unknown> = {}): MetricSpec =>
  MetricSchema.parse({ name: 'errors', web: { jsonPath: '$.data.rate', ...web }, thresholdRange: { max: 0.01 }, ...over });
const provider = new WebMetricProvider();
const rejectsWith = (p: Promise<unknown>, type: string, message: RegExp) =>
  assert.rejects(p, (err: { type?: string; message: string }) => {
    assert.equal(err.type, type, err.message);
    assert.match(err.message, message);
    return true;
  });

/** Runs `fn` with environment variables set, restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

describe('web metric provider against a real HTTP server', () => {
  test('a 2xx JSON answer: the number at jsonPath, or a numeric string', async () => {
    assert.deepEqual(await provider.measure(webMetric({ url: `${base}/ok` })), { value: 0.004, status: 200 });
    assert.deepEqual(await provider.measure(webMetric({ url: `${base}/numeric-string` })), { value: 0.25, status: 200 });
    assert.equal(seen.at(-1)!.method, 'GET');
    assert.equal(seen.at(-1)!.headers.accept, 'application/json');
  });

  test('no match or null is no data (inconclusive) with the reason', async () => {
    assert.deepEqual(await provider.measure(webMetric({ url: `${base}/no-match` })), { value: null, status: 200, message: 'metric errors: jsonPath $.data.rate matched nothing' });
    assert.deepEqual(await provider.measure(webMetric({ url: `${base}/null` })), { value: null, status: 200, message: 'metric errors: jsonPath $.data.rate is null' });
  });

  test('503 and a redirect are no data with the HTTP status; the redirect is not followed', async () => {
    const host = new URL(base).host;
    assert.deepEqual(await provider.measure(webMetric({ url: `${base}/unavailable` })), { value: null, status: 503, message: `metric errors: ${host} answered HTTP 503` });
    const before = seen.length;
    assert.deepEqual(await provider.measure(webMetric({ url: `${base}/redirect` })), { value: null, status: 302, message: `metric errors: ${host} answered HTTP 302` });
    assert.equal(seen.length, before + 1, 'one request, to our server only');
  });

  test('a slow answer times out: no data, the message says after how long', async () => {
    const started = Date.now();
    const m = await provider.measure(webMetric({ url: `${base}/slow`, timeout: '300ms' }));
    assert.deepEqual(m, { value: null, message: `metric errors: ${new URL(base).host} did not answer within 300ms` });
    assert.ok(Date.now() - started < 1400, 'it did not wait for the answer');
  });

  test('several matches, not a number, a body that is not JSON or larger than 1 MiB: an error that says which', async () => {
    await rejectsWith(provider.measure(webMetric({ url: `${base}/many`, jsonPath: '$.pods[*].rate' })), 'AmbiguousJsonPath', /jsonPath \$\.pods\[\*\]\.rate matched 3 values, expected one: \[0\.1,0\.2,0\.3\]/);
    await rejectsWith(provider.measure(webMetric({ url: `${base}/not-a-number` })), 'NotANumber', /jsonPath \$\.data\.rate is not a number: high/);
    await rejectsWith(provider.measure(webMetric({ url: `${base}/html` })), 'BadResponse', /answered HTTP 200 with a body that is not JSON: <html>maintenance<\/html>/);
    await rejectsWith(provider.measure(webMetric({ url: `${base}/huge` })), 'BadResponse', /answered more than 1024 KiB; a metric endpoint should answer one small JSON document/);
  });

  test('POST sends the JSON body; a header from the environment reaches the server and nowhere else', async () => {
    const metric = webMetric(
      { url: `${base}/query`, method: 'POST', body: { series: 'checkout' }, jsonPath: '$.result.checkout', headers: [{ name: 'Authorization', valueFrom: { env: 'SHIPYARD_SECRET_WEB_TOKEN' } }, { name: 'X-Team', value: 'payments' }] },
      { thresholdRange: { max: 1 } },
    );
    const m = await withEnv({ SHIPYARD_SECRET_WEB_TOKEN: 'Bearer tok-7f3a', SHIPYARD_SECRET_ENV_PREFIXES: 'SHIPYARD_SECRET_' }, () => provider.measure(metric));
    assert.deepEqual(m, { value: 0.125, status: 200 });
    const req = seen.at(-1)!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/query');
    assert.deepEqual(JSON.parse(req.body), { series: 'checkout' });
    assert.match(String(req.headers['content-type']), /application\/json/);
    assert.equal(req.headers.authorization, 'Bearer tok-7f3a');
    assert.equal(req.headers['x-team'], 'payments');
    assert.ok(!JSON.stringify(metric).includes('tok-7f3a') && !JSON.stringify(m).includes('tok-7f3a'), 'the secret is in neither the spec nor the measurement');
    // Unset, or a variable the worker does not allow: refused before any request.
    const before = seen.length;
    await withEnv({ SHIPYARD_SECRET_WEB_TOKEN: undefined }, () => rejectsWith(provider.measure(metric), 'NotConfigured', /SHIPYARD_SECRET_WEB_TOKEN is not set on the deploy worker \(metric errors, header Authorization\)/));
    const other = webMetric({ url: `${base}/ok`, headers: [{ name: 'Authorization', valueFrom: { env: 'HOME' } }] });
    await withEnv({ SHIPYARD_SECRET_ENV_PREFIXES: 'SHIPYARD_SECRET_' }, () => rejectsWith(provider.measure(other), 'SecretNameDenied', /variable HOME does not start with SHIPYARD_SECRET_/));
    assert.equal(seen.length, before, 'no request was made');
  });

  test('a host outside SHIPYARD_EGRESS_ALLOW is refused before any request, like notifications', async () => {
    const before = seen.length;
    await withEnv({ SHIPYARD_EGRESS_ALLOW: 'metrics.example.com' }, () =>
      rejectsWith(provider.measure(webMetric({ url: `${base}/ok?token=abc` })), 'EgressDenied', /^metric errors: host 127\.0\.0\.1:\d+ is not in SHIPYARD_EGRESS_ALLOW$/),
    );
    assert.equal(seen.length, before);
    const port = new URL(base).port;
    const allowed = await withEnv({ SHIPYARD_EGRESS_ALLOW: `127.0.0.1:${port}` }, () => provider.measure(webMetric({ url: `${base}/ok` })));
    assert.equal(allowed.value, 0.004);
  });
});

// ---- releases on the dev server: the measuring activities are the real ones ----

let ctx: TemporalTestContext;
let prom: Prometheus;
before(async () => {
  ctx = await connectClient();
  prom = await startPrometheus([new URL(base).host]);
});
after(async () => {
  await prom?.stop();
  await ctx?.close();
});

/** FakeWorld's activities with the real measureMetric / measureSeries (web and Prometheus providers). */
function realMeasuring(world: FakeWorld) {
  const acts = world.activities();
  const metrics = providerFor({ prometheus: new PrometheusProvider(), web: new WebMetricProvider() });
  const deploy: DeployActivities = { ...acts.deploy, measureMetric: (i) => metrics.measure(i.metric), measureSeries: (i) => measureSeries(i, metrics) };
  return { ...acts, deploy };
}

async function release(metrics: Record<string, unknown>[], during?: (releaseId: string) => Promise<void>, canarySteps?: unknown[]) {
  const world = new FakeWorld();
  const spec = twoEnvSpec({ service: uniqueName('webm'), withBuild: false, metrics, ...(canarySteps ? { canarySteps } : {}) });
  const queues = uniqueQueues();
  return withWorkers(queues, realMeasuring(world), async () => {
    const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { environments: ['production'] });
    await during?.(releaseId);
    const final = await ctx.shipyard.wait(releaseId, undefined, 200);
    return { final, status: final.status!, world };
  });
}

describe('releases measuring with the real providers', () => {
  test('a web metric end to end: a 503 is an inconclusive measurement with its status, then good data passes', async () => {
    rates = [{ status: 503 }, { rate: 0.002 }];
    rateCalls = 0;
    const { final, status } = await release([{ name: 'error-rate', web: { url: `${base}/rate`, jsonPath: '$.data.rate' }, thresholdRange: { max: 0.01 }, interval: '1s', count: 3 }]);
    assert.equal(final.outcome, 'succeeded', final.message);
    const host = new URL(base).host;
    assert.deepEqual(
      status.metrics.map((m) => [m.metric, m.value, m.phase, m.status, m.message]),
      [
        ['error-rate', null, 'inconclusive', 503, `metric error-rate: ${host} answered HTTP 503`],
        ['error-rate', 0.002, 'successful', 200, undefined],
        ['error-rate', 0.002, 'successful', 200, undefined],
      ],
    );
    assert.equal(status.analyses[0].phase, 'successful');
  });

  test('a web metric over its threshold rolls the canary back; one that never has data fails as inconclusive', async () => {
    rates = [{ rate: 0.5 }];
    rateCalls = 0;
    const bad = await release([{ name: 'error-rate', web: { url: `${base}/rate`, jsonPath: '$.data.rate' }, thresholdRange: { max: 0.01 }, interval: '1s', count: 2 }]);
    assert.equal(bad.final.outcome, 'rolled-back');
    assert.match(bad.status.error?.message ?? '', /metric error-rate failed 1 time\(s\), limit 0 \(threshold <= 0.01\)/);
    assert.deepEqual(bad.world.traffic.get(`default/${bad.status.service}`), { stable: 100, canary: 0 });

    rates = [{ status: 503 }];
    rateCalls = 0;
    const none = await release([{ name: 'error-rate', web: { url: `${base}/rate`, jsonPath: '$.data.rate' }, thresholdRange: { max: 0.01 }, interval: '1s', count: 2 }]);
    assert.equal(none.final.outcome, 'rolled-back');
    assert.match(none.status.error?.message ?? '', /metric error-rate is inconclusive: no data in 2 measurement\(s\)/);
    assert.deepEqual(none.status.metrics.map((m) => [m.phase, m.status]), [['inconclusive', 503], ['inconclusive', 503]]);
  });

  test('initialDelay: inline and background analyses wait before their first measurement; a background one stopped while waiting is not judged', async () => {
    rates = [{ rate: 0.001 }];
    const rateMetric = (over: Record<string, unknown>) => ({ name: 'error-rate', web: { url: `${base}/rate`, jsonPath: '$.data.rate' }, thresholdRange: { max: 0.01 }, interval: '1s', ...over });

    // Inline: steps setWeight 10, pause 1s, analysis. Without the delay /rate is asked ~1 s after the start.
    rateTimes.length = 0;
    let started = Date.now();
    const inline = await release([rateMetric({ count: 2, initialDelay: '4s' })]);
    assert.equal(inline.final.outcome, 'succeeded', inline.final.message);
    assert.equal(rateTimes.length, 2);
    assert.ok(rateTimes[0] - started >= 5000, `first inline measurement ${rateTimes[0] - started} ms after the start (pause 1s + initialDelay 4s)`);

    // Background: it starts at step 2 and keeps measuring through a 6 s pause.
    rateTimes.length = 0;
    started = Date.now();
    const bg = await release([rateMetric({ initialDelay: '3s' })], undefined, [{ setWeight: 10 }, { analysis: { metrics: ['error-rate'], background: true } }, { pause: '6s' }, { setWeight: 100 }]);
    assert.equal(bg.final.outcome, 'succeeded', bg.final.message);
    assert.ok(rateTimes.length >= 1, 'the background analysis measured');
    assert.ok(rateTimes[0] - started >= 3000, `first background measurement ${rateTimes[0] - started} ms after the start (initialDelay 3s)`);

    // A delay longer than the canary: no measurement at all, the analysis is stopped while it waits.
    rateTimes.length = 0;
    const never = await release([rateMetric({ initialDelay: '1h' })], undefined, [{ setWeight: 10 }, { analysis: { metrics: ['error-rate'], background: true } }, { pause: '2s' }, { setWeight: 100 }]);
    assert.equal(never.final.outcome, 'succeeded', never.final.message);
    assert.equal(rateTimes.length, 0);
    assert.equal(never.status.analyses.find((a) => a.workflowId)?.phase, 'successful');
  });

  /** A Prometheus metric of our /metrics target; the target answers 503 (a failed scrape) for a moment mid-analysis. */
  async function gapRelease(inconclusive?: 'fail') {
    down = false;
    await eventually(async () => (await prom.query('app_error_ratio')) === 0.001, 30_000, 'target scraped');
    const metric = { name: 'error-rate', prometheus: { query: 'app_error_ratio', address: prom.url }, thresholdRange: { max: 0.01 }, interval: '1s', count: 8, ...(inconclusive ? { inconclusive } : {}) };
    return release([metric], async (releaseId) => {
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.metrics.length >= 2, 'two measurements', 60_000);
      down = true;
      // Up again once the analysis has seen the gap (or ended).
      await waitForStatus(ctx.shipyard, releaseId, (s) => s.metrics.some((m) => m.phase === 'inconclusive') || s.outcome !== 'running', 'the gap measured', 30_000).finally(() => (down = false));
    });
  }

  test('a scrape gap mid-analysis: inconclusive: error (the default) does not roll back; inconclusive: fail does', async () => {
    const tolerant = await gapRelease();
    assert.equal(tolerant.final.outcome, 'succeeded', tolerant.final.message);
    const phases = tolerant.status.metrics.map((m) => m.phase);
    assert.ok(phases.includes('inconclusive'), `the gap was measured: ${phases}`);
    assert.equal(phases.at(-1), 'successful', 'data came back');
    assert.equal(phases.length, 8);

    const strict = await gapRelease('fail');
    assert.equal(strict.final.outcome, 'rolled-back');
    assert.match(strict.status.error?.message ?? '', /metric error-rate failed 1 time\(s\), limit 0/);
    assert.equal(strict.status.metrics.at(-1)?.phase, 'inconclusive');
    assert.deepEqual(strict.world.traffic.get(`default/${strict.status.service}`), { stable: 100, canary: 0 });
  });
});
