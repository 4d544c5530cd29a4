// Alert-driven abort end to end: a real Prometheus evaluates a real alerting rule on the real example
// service's error rate, a real Alertmanager sends the firing alert (bearer token) to the real gateway
// (production mode: it signs the abort), which aborts the release paused in its canary on the real dev
// server. The release's activities are MOCKED (FakeWorld: the traffic split is a map, compensation
// restores it there); everything between the service and the release's abort is real.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { ShipyardClient } from '../../client/index.js';
import { publicJwk } from '../../config/decision-keys.js';
import type { DecisionTrust } from '../../workflows/decision-statement.js';
import { ROLES } from '../../workers/worker.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { acceptedUpdates, historyOf, startRelease, waitForStatus } from '../helpers/release.js';
import { eventually, settings, uniqueName, uniqueQueues, withWorkers } from '../helpers/temporal.js';
import { gatewayConfig, identitySection, SECRETS, send, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { errorRateQuery, startApp, startPrometheus, type App, type Prometheus } from '../helpers/prometheus.js';
import { alertRule, startAlertmanager, type Alertmanager } from '../helpers/alertmanager.js';

const TOKEN = 'am-token-0123456789abcdef';
const queues = uniqueQueues('alert');
const target = uniqueName('alerted');
const bystander = uniqueName('bystander');
const { privateKey } = generateKeyPairSync('ed25519');
const trust: DecisionTrust = { requireSigned: true, keys: [{ kid: 'k1', x: publicJwk(privateKey, 'k1').x }] };
const canarySpec = (service: string) => twoEnvSpec({ service, withBuild: false, canarySteps: [{ setWeight: 20 }, { pause: '1h' }, { setWeight: 100 }] });

let shipyard: ShipyardClient;
let gw: RunningGateway;
let app: App;
let am: Alertmanager;
let prom: Prometheus;
const hook = () => `${gw.url}/webhooks/alertmanager`;

before(async () => {
  shipyard = new ShipyardClient((await ShipyardClient.connect(settings())).client, settings(), queues);
  const config = gatewayConfig(canarySpec(target), { identity: identitySection(undefined, privateKey), alertmanager: { bearer: [{ env: 'AM_TOKEN' }] } });
  gw = await startGateway(shipyard, config, { env: { ...SECRETS, AM_TOKEN: TOKEN, SHIPYARD_MODE: 'production' } });
  app = await startApp('canary');
  am = await startAlertmanager({ webhookUrl: hook(), bearerToken: TOKEN });
  const rule = alertRule('CanaryErrorRate', `${errorRateQuery('canary')} > 0.05`, { shipyard_service: target, shipyard_environment: 'production', severity: 'page' }, 'canary 5xx above 5%');
  prom = await startPrometheus([app.target], undefined, { rules: [rule], alertmanager: am.target });
  await eventually(async () => (await prom.query(errorRateQuery('canary'))) === 0, 30_000, 'prometheus data');
});
after(async () => {
  app?.stop();
  await prom?.stop();
  await am?.stop();
  await gw?.close();
  await shipyard?.close();
});

const payload = (alerts: object[], status = 'firing') => JSON.stringify({ version: '4', status, receiver: 'shipyard', groupKey: '{}:{alertname="X"}', truncatedAlerts: 0, groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: am.url, alerts });
const alertFor = (service: string, status = 'firing', fingerprint = 'f00d') => ({
  status,
  labels: { alertname: 'ManualCheck', shipyard_service: service, shipyard_environment: 'production' },
  annotations: { summary: `manual ${status} alert` },
  startsAt: new Date().toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus/graph',
  fingerprint,
});
const post = (body: string, auth: string | null = `Bearer ${TOKEN}`) => send(hook(), body, { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) });

test('no or wrong credentials are 401 before anything is read; a body that is not the webhook payload is 400', async () => {
  const body = payload([alertFor(target)]);
  assert.equal((await post(body, null)).status, 401);
  assert.equal((await post(body, 'Bearer wrong-token')).status, 401);
  assert.equal((await post(body, `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}`)).status, 401);
  const bad = await post(JSON.stringify({ version: '3', alerts: [] }));
  assert.equal(bad.status, 400);
  assert.match(bad.body.detail, /version/);
  assert.equal((await post('{"version":"4","status":"firing","alerts":[{"status":"firing"}]}')).status, 400);
  assert.equal((await post('not json')).status, 400);
  assert.match(await gw.metrics(), /shipyard_gateway_requests_total\{route="webhook_alertmanager",outcome="unauthorized"\} 3/);
});

test('a firing alert from Alertmanager aborts the matching canary at once; resolved, unlabelled and unmatched alerts and repeats do nothing more', async () => {
  const world = new FakeWorld();
  await withWorkers(queues, world.activities(), async () => {
    const a = (await startRelease(shipyard, queues, canarySpec(target), { environments: ['production'] })).releaseId;
    const b = (await startRelease(shipyard, queues, canarySpec(bystander), { environments: ['production'] })).releaseId;
    for (const id of [a, b]) await waitForStatus(shipyard, id, (s) => s.canary?.description === 'pause 1h', `${id} paused in its canary`);
    await eventually(async () => (await shipyard.list({ stage: 'canary', running: true, service: target })).length === 1, 10_000, 'the canary in visibility');

    // Before the breach: what must change nothing.
    const resolved = await post(payload([alertFor(target, 'resolved')], 'resolved'));
    assert.equal(resolved.status, 200);
    assert.deepEqual(resolved.body.alerts[0].ignored, 'resolved');
    const other = await post(payload([alertFor(uniqueName('nobody')), { ...alertFor(target), labels: { alertname: 'NoLabels' } }]));
    assert.equal(other.status, 200);
    assert.deepEqual(other.body.aborted, []);
    assert.match(other.body.alerts[0].ignored, /no release of nobody-\w+ in its canary stage in production/);
    assert.equal(other.body.alerts[1].ignored, 'no shipyard_service or shipyard_environment label');
    for (const id of [a, b]) assert.equal((await shipyard.status(id)).outcome, 'running');

    // The breach: the example service answers 500s, the rule fires, Alertmanager calls the gateway.
    const t0 = Date.now();
    await app.fault(1);
    const done = await shipyard.wait(a, undefined, 100);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`# fault injected -> release aborted and compensated in ${seconds.toFixed(1)} s (scrape 1 s, rate[5s], rule every 1 s, group_wait 0s)`);
    assert.equal(done.outcome, 'aborted');
    const s = done.status!;
    assert.equal(s.abort?.by, 'alertmanager');
    assert.equal(s.abort?.authenticated, true);
    assert.match(s.abort?.reason ?? '', /^alert CanaryErrorRate firing: canary 5xx above 5% \(fingerprint [0-9a-f]+\)$/);
    assert.ok(seconds < 30, `aborted within seconds (${seconds} s), not at a canary interval (the pause is 1 h)`);
    // Compensation ran once and restored the split.
    assert.deepEqual(world.traffic.get(`default/${target}`), { stable: 100, canary: 0 });
    assert.deepEqual(s.compensation.map((c) => c.status), s.compensation.map(() => 'done'));
    assert.ok(s.compensation.length > 0);
    assert.equal(world.calls.filter((c) => c.name === 'restoreTraffic' && c.environment === 'production').length, 1);
    // History: the abort arrived as the control update, signed (a statement), not as a signal.
    const controls = acceptedUpdates(await historyOf(shipyard, a), 'control') as { action: string; statement?: string; reason?: string }[];
    assert.ok(controls.length >= 1);
    assert.equal(controls[0].action, 'abort');
    assert.ok(controls[0].statement, 'the gateway signed the abort');
    assert.match(await gw.metrics(), /shipyard_gateway_requests_total\{route="webhook_alertmanager",outcome="aborted"\} 1/);
    const held = await am.alerts();
    assert.ok(held.some((x) => x.labels.alertname === 'CanaryErrorRate' && x.labels.shipyard_service === target && x.status.state === 'active'), JSON.stringify(held));

    // The bystander (another service in its canary in the same environment) was not touched.
    const bs = await shipyard.status(b);
    assert.equal(bs.outcome, 'running');
    assert.deepEqual(world.traffic.get(`default/${bystander}`), { stable: 80, canary: 20 });

    // Alertmanager's repeat of the same alert: nothing left to abort.
    const again = await post(payload([{ ...alertFor(target), labels: { alertname: 'CanaryErrorRate', shipyard_service: target, shipyard_environment: 'production' } }]));
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.aborted, []);

    // Two deliveries of one alert at once (a resend crossing the first): one abort, one compensation.
    const both = await Promise.all([post(payload([alertFor(bystander)])), post(payload([alertFor(bystander)]))]);
    assert.deepEqual(both.map((r) => r.status), [200, 200]);
    assert.deepEqual(both.flatMap((r) => r.body.aborted), [b], JSON.stringify(both.map((r) => r.body)));
    const bDone = await shipyard.wait(b, undefined, 100);
    assert.equal(bDone.outcome, 'aborted');
    assert.equal(bDone.status!.abort?.reason, 'alert ManualCheck firing: manual firing alert (fingerprint f00d)');
    assert.equal(world.calls.filter((c) => c.name === 'restoreTraffic').length, 2, 'one restore per release');
    assert.equal(bDone.status!.compensation.length, s.compensation.length, 'no compensation twice');
  }, ROLES, { trust: () => trust });
  await app.fault(0);
});
