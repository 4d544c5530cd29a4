// The Alertmanager receiver's pure parts: payload parsing, alert -> intent, the recorded reason,
// the auth check and the gateway config's alertmanager section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { abortReason, alertIntent, parseAlertmanagerPayload, type Alert } from '../../client/gateway/alerts.js';
import { verifyAlertmanagerAuth } from '../../client/gateway/alert-routes.js';
import { checkGatewaySecurity, resolveGatewayConfig } from '../../client/gateway/config.js';
import { SecretSet } from '../../client/gateway/secrets.js';

const MATCHERS = { service: 'shipyard_service', environment: 'shipyard_environment' };
const alert = (over: Partial<Alert> = {}): Alert => ({
  status: 'firing',
  labels: { alertname: 'HighErrorRate', shipyard_service: 'hello-api', shipyard_environment: 'production' },
  annotations: { summary: '5xx above 5%' },
  startsAt: '2026-01-01T00:00:00Z',
  fingerprint: 'abc123',
  ...over,
});
const payload = (alerts: unknown[], extra: Record<string, unknown> = {}) => ({ version: '4', status: 'firing', receiver: 'shipyard', groupKey: '{}:{}', truncatedAlerts: 0, groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am', alerts, ...extra });

test('payload: version 4 with alerts parses (unknown fields kept out of the way); anything else says what is wrong', () => {
  const ok = parseAlertmanagerPayload(payload([{ ...alert(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prom' }]));
  assert.ok(ok.ok);
  assert.equal(ok.payload.alerts[0].fingerprint, 'abc123');
  const empty = parseAlertmanagerPayload(payload([]));
  assert.ok(empty.ok);
  const bad = (body: unknown, match: RegExp) => {
    const r = parseAlertmanagerPayload(body);
    assert.ok(!r.ok, JSON.stringify(body));
    assert.match(r.detail, match);
  };
  bad(payload([alert()], { version: '3' }), /version/);
  bad({ alerts: [] }, /version/);
  bad(payload([{ ...alert(), status: 'pending' }]), /alerts\.0\.status/);
  bad(payload([{ ...alert(), fingerprint: undefined }]), /alerts\.0\.fingerprint/);
  bad(payload([{ ...alert(), labels: { a: 1 } }]), /alerts\.0\.labels\.a/);
  bad(payload('nope' as never), /alerts/);
  bad([], /version|expected object/);
});

test('intent: firing with both labels aborts; resolved, missing labels and unusable values are ignored with why', () => {
  assert.deepEqual(alertIntent(alert(), MATCHERS), { abort: { service: 'hello-api', environment: 'production' }, reason: 'alert HighErrorRate firing: 5xx above 5% (fingerprint abc123)' });
  assert.deepEqual(alertIntent(alert({ status: 'resolved' }), MATCHERS), { ignored: 'resolved' });
  assert.deepEqual(alertIntent(alert({ labels: { alertname: 'X', shipyard_service: 'a' } }), MATCHERS), { ignored: 'no shipyard_environment label' });
  assert.deepEqual(alertIntent(alert({ labels: {} }), MATCHERS), { ignored: 'no shipyard_service or shipyard_environment label' });
  const injected = alertIntent(alert({ labels: { shipyard_service: "a' OR 1=1", shipyard_environment: 'p' } }), MATCHERS);
  assert.match((injected as { ignored: string }).ignored, /not usable as a release filter/);
  // Label names are configurable.
  const custom = alertIntent(alert({ labels: { app: 'x', env: 'y' } }), { service: 'app', environment: 'env' });
  assert.deepEqual((custom as { abort: object }).abort, { service: 'x', environment: 'y' });
});

test('reason: alert name, summary else description, fingerprint; a long annotation is cut, never the fingerprint', () => {
  assert.equal(abortReason(alert({ annotations: { description: 'd' } })), 'alert HighErrorRate firing: d (fingerprint abc123)');
  assert.equal(abortReason(alert({ annotations: {}, labels: {} })), 'alert unnamed alert firing (fingerprint abc123)');
  const long = abortReason(alert({ annotations: { summary: 'x'.repeat(5000) } }));
  assert.ok(long.length <= 2000, String(long.length));
  assert.match(long, /… \(fingerprint abc123\)$/);
});

test('auth: bearer or basic, any configured secret; wrong, missing or other schemes are refused', () => {
  const env = { AM_TOKEN: 'tok-1', AM_TOKEN_OLD: 'tok-0', AM_PASS: 'pw' };
  const bearer = new SecretSet('am', [{ env: 'AM_TOKEN' }, { env: 'AM_TOKEN_OLD' }], env);
  const pass = new SecretSet('am', [{ env: 'AM_PASS' }], env);
  const none = new SecretSet('am', [], env);
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  assert.deepEqual(verifyAlertmanagerAuth('Bearer tok-1', bearer, 'am', pass), { ok: true });
  assert.deepEqual(verifyAlertmanagerAuth('Bearer tok-0', bearer, 'am', pass), { ok: true });
  assert.deepEqual(verifyAlertmanagerAuth(basic('am', 'pw'), bearer, 'am', pass), { ok: true });
  for (const h of [undefined, 'Bearer tok-2', 'Bearer tok-1x', basic('am', 'nope'), basic('other', 'pw'), 'Token tok-1', 'Basic !!!']) {
    assert.equal(verifyAlertmanagerAuth(h, bearer, 'am', pass).ok, false, String(h));
  }
  // Bearer only: basic is refused; nothing configured (development): open.
  assert.equal(verifyAlertmanagerAuth(basic('am', 'pw'), bearer, undefined, none).ok, false);
  assert.deepEqual(verifyAlertmanagerAuth(undefined, none, undefined, none), { ok: true });
  // A configured variable that is unset verifies nothing.
  assert.equal(verifyAlertmanagerAuth('Bearer ', new SecretSet('am', [{ env: 'UNSET' }], env), undefined, none).ok, false);
});

test('config: defaults for labels and identity; no auth is a warning in development and refused in production', () => {
  const c = resolveGatewayConfig({ alertmanager: { bearer: [{ env: 'AM_TOKEN' }] } }, '/tmp');
  assert.deepEqual(c.alertmanager?.matchers, MATCHERS);
  assert.equal(c.alertmanager?.identity, 'alertmanager');
  assert.deepEqual(checkGatewaySecurity(c, {}), []);
  const open = resolveGatewayConfig({ alertmanager: {} }, '/tmp');
  assert.match(checkGatewaySecurity(open, {}).join(), /without authentication/);
  assert.throws(() => checkGatewaySecurity(open, { SHIPYARD_MODE: 'production' }), /alertmanager is configured without authentication/);
  assert.throws(() => resolveGatewayConfig({ alertmanager: { bearer: [{ env: 'lower' }] } }, '/tmp'), /NAME of an environment variable/);
  assert.throws(() => resolveGatewayConfig({ alertmanager: { bearer: 'literal-token' } }, '/tmp'));
  assert.throws(() => resolveGatewayConfig({ alertmanager: { identity: 'bad identity' } }, '/tmp'), /identity/);
  const files = resolveGatewayConfig({ alertmanager: { basic: { username: 'am', password: [{ file: 'pw.txt' }] } } }, '/etc/gw');
  assert.deepEqual(files.alertmanager?.basic?.password, [{ file: '/etc/gw/pw.txt' }]);
});
