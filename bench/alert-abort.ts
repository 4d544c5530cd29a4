// Benchmark: alert-driven abort. From an alert reaching Shipyard to the canary's traffic back at
// 100/0 (read back from the router), on a release whose background analysis has a 5 min interval:
//   gateway  an Alertmanager webhook POSTed to the gateway's /webhooks/alertmanager
//   am       the alert pushed into a real Alertmanager (its v2 API), which calls the gateway
//            (group_wait 0s; Prometheus' rule evaluation is not in this number: see the test)
// side by side with the same breach noticed by the canary's own analysis at a 10 s interval (the
// metric turns bad at a random phase of the interval). Real gateway (production mode: the abort is
// signed), dev server and orchestrator; the traffic router is FakeWorld's in-memory one (MOCKED
// activities), so the numbers are Shipyard's own path, not an API server's.
import { generateKeyPairSync } from 'node:crypto';
import { ShipyardClient } from '../client/index.js';
import { publicJwk } from '../config/decision-keys.js';
import type { DecisionTrust } from '../workflows/decision-statement.js';
import { ROLES } from '../workers/worker.js';
import { FakeWorld } from '../test/helpers/fake-activities.js';
import { ERROR_RATE, twoEnvSpec } from '../test/helpers/specs.js';
import { startRelease, waitForStatus } from '../test/helpers/release.js';
import { eventually, settings, uniqueName, uniqueQueues, withWorkers } from '../test/helpers/temporal.js';
import { gatewayConfig, identitySection, SECRETS, send, startGateway } from '../test/helpers/gateway.js';
import { startAlertmanager } from '../test/helpers/alertmanager.js';

const TOKEN = 'bench-am-token-0123456789';
const RUNS = Number(process.env.BENCH_RUNS) || 5;
const { privateKey } = generateKeyPairSync('ed25519');
const trust: DecisionTrust = { requireSigned: true, keys: [{ kid: 'k1', x: publicJwk(privateKey, 'k1').x }] };
const spec = (service: string, interval: string) =>
  twoEnvSpec({
    service,
    withBuild: false,
    canarySteps: [{ setWeight: 20 }, { analysis: { metrics: ['error-rate'], background: true } }, { pause: '1h' }, { setWeight: 100 }],
    metrics: [{ ...ERROR_RATE, count: undefined, interval }],
  });

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
};
const fmt = (ms: number) => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);

async function main() {
  const queues = uniqueQueues('bench-alert');
  const shipyard = new ShipyardClient((await ShipyardClient.connect(settings())).client, settings(), queues);
  const gw = await startGateway(shipyard, gatewayConfig(spec('unused', '5m'), { identity: identitySection(undefined, privateKey), alertmanager: { bearer: [{ env: 'AM_TOKEN' }] } }), {
    env: { ...SECRETS, AM_TOKEN: TOKEN, SHIPYARD_MODE: 'production' },
  });
  const am = await startAlertmanager({ webhookUrl: `${gw.url}/webhooks/alertmanager`, bearerToken: TOKEN });
  const results: Record<'gateway' | 'am' | 'analysis', number[]> = { gateway: [], am: [], analysis: [] };
  const world = new FakeWorld();
  /** When the router reads 100/0 for the service, polled every 2 ms (eventually() polls every 100 ms). */
  const restored = async (service: string) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const w = world.traffic.get(`default/${service}`);
      if (w?.stable === 100 && w.canary === 0) return Date.now();
      if (Date.now() > deadline) throw new Error(`${service} not back at 100/0`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };

  /** A release of a fresh service paused in its canary at 20 % with its analysis running. */
  const atCanary = async (interval: string) => {
    const service = uniqueName('bench');
    world.metric('error-rate', [0]);
    const { releaseId } = await startRelease(shipyard, queues, spec(service, interval), { environments: ['production'] });
    await waitForStatus(shipyard, releaseId, (s) => s.canary?.description === 'pause 1h' && s.analyses.some((a) => a.workflowId && a.phase === 'running'), 'paused in the canary, analysis running', 60_000);
    await eventually(async () => (await shipyard.list({ service, stage: 'canary', running: true })).length === 1, 10_000, 'canary in visibility');
    return { service, releaseId };
  };
  const alert = (service: string, n: number) => ({
    labels: { alertname: 'CanaryErrorRate', shipyard_service: service, shipyard_environment: 'production' },
    annotations: { summary: 'canary 5xx above 5%' },
    startsAt: new Date().toISOString(),
    fingerprint: `bench${n}`,
  });

  await withWorkers(queues, world.activities(), async () => {
    for (let i = 0; i < RUNS; i++) {
      const { service, releaseId } = await atCanary('5m');
      const t0 = Date.now();
      const res = await send(`${gw.url}/webhooks/alertmanager`, JSON.stringify({ version: '4', status: 'firing', receiver: 'shipyard', groupKey: 'bench', alerts: [{ status: 'firing', ...alert(service, i) }] }), {
        'content-type': 'application/json',
        authorization: `Bearer ${TOKEN}`,
      });
      if (res.status !== 200 || res.body.aborted[0] !== releaseId) throw new Error(`gateway answered ${res.status} ${res.text}`);
      results.gateway.push((await restored(service)) - t0);
      await shipyard.wait(releaseId, undefined, 100);
    }
    for (let i = 0; i < Math.min(RUNS, 3); i++) {
      const { service, releaseId } = await atCanary('5m');
      const t0 = Date.now();
      const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ labels: alert(service, 100 + i).labels, annotations: alert(service, 0).annotations, startsAt: new Date().toISOString() }]) });
      if (!res.ok) throw new Error(`alertmanager answered ${res.status}`);
      results.am.push((await restored(service)) - t0);
      await shipyard.wait(releaseId, undefined, 100);
    }
    for (let i = 0; i < Math.min(RUNS, 3); i++) {
      const { service, releaseId } = await atCanary('10s');
      // A random phase of the 10 s interval, as a breach would fall.
      await new Promise((r) => setTimeout(r, Math.random() * 10_000));
      const t0 = Date.now();
      world.metric('error-rate', [1]);
      results.analysis.push((await restored(service)) - t0);
      await shipyard.wait(releaseId, undefined, 100);
      world.metric('error-rate', [0]);
    }
  }, ROLES, { trust: () => trust });

  const g = stats(results.gateway);
  const a = stats(results.am);
  const n = stats(results.analysis);
  console.log('alert-driven abort: alert -> canary traffic 100/0 (read back; FakeWorld in-memory router, mocked activities; real gateway, Alertmanager, dev server)');
  console.log(`  gateway POST, analysis interval 5m     median ${fmt(g.median)}  max ${fmt(g.max)}  (${results.gateway.length} runs)`);
  console.log(`  via Alertmanager, analysis interval 5m  median ${fmt(a.median)}  max ${fmt(a.max)}  (${results.am.length} runs; alert pushed to Alertmanager's API)`);
  console.log(`  analysis notices, interval 10s          median ${fmt(n.median)}  max ${fmt(n.max)}  mean ${fmt(n.mean)}  (${results.analysis.length} runs, breach at a random phase)`);
  console.log(`  ratio analysis/alert (mean over gateway median): ${(n.mean / g.median).toFixed(1)}x; goal <= 1 s: ${g.max <= 1000 ? 'met' : 'NOT met'} (gateway max ${fmt(g.max)})`);
  await am.stop();
  await gw.close();
  await shipyard.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
