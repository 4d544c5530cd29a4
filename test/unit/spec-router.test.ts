// canary.router: exactly one of istio or gatewayApi; what only Istio can do (canary.generate, fault
// steps) is refused for Gateway API at load with a message saying why; Istio specs parse as before.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseSpec } from '../../spec/load.js';
import { routeObjectOf, routerNamespaceOf } from '../../spec/router.js';
import { issueLines } from '../helpers/spec-issues.js';

const HELM = { helm: { chart: 'oci://registry.local/charts/web', release: 'web' } };
const GATEWAY = { httpRoute: 'web', stableBackend: { name: 'web', port: 80 }, canaryBackend: { name: 'web-canary' } };
const ISTIO = { virtualService: 'web' };
const canary = (router: unknown, over: Record<string, unknown> = {}) => ({ router, workloads: { stable: 'web', canary: 'web-canary' }, steps: [{ setWeight: 20 }, { setWeight: 50 }], ...over });

function doc(canarySection: unknown): string {
  return stringify({
    service: 'web',
    source: { repo: 'https://git.example.com/team/web.git' },
    image: { repository: 'registry.local/web' },
    build: { targets: ['linux/amd64'] },
    environments: [{ name: 'production', deploy: HELM, canary: canarySection }],
  });
}

const issues = issueLines;

describe('canary.router', () => {
  test('gatewayApi parses with its fields; nothing of istio appears', () => {
    const full = { ...GATEWAY, namespace: 'shop', rule: 'primary', headerRoute: { header: 'x-canary', value: 'yes' }, mirror: { percent: 10 } };
    const spec = parseSpec(doc(canary({ gatewayApi: full })), 't.yaml');
    const router = spec.environments[0].canary!.router;
    assert.deepEqual(router, { gatewayApi: full });
    assert.equal('istio' in router, false);
    assert.equal(routeObjectOf(router), 'HTTPRoute web');
    assert.equal(routerNamespaceOf(router), 'shop');
  });

  test('istio parses as before (defaults filled), and is named by its bare VirtualService name', () => {
    const router = parseSpec(doc(canary({ istio: { ...ISTIO, namespace: 'shop' } })), 't.yaml').environments[0].canary!.router;
    assert.deepEqual(router, { istio: { virtualService: 'web', namespace: 'shop', stableSubset: 'stable', canarySubset: 'canary' } });
    assert.equal(routeObjectOf(router), 'web');
    assert.equal(routerNamespaceOf(router), 'shop');
  });

  test('exactly one router: none and both are refused, naming what was found', () => {
    assert.deepEqual(issues(doc(canary({}))), ['environments[0].canary.router: a canary router has exactly one of istio, gatewayApi (found none)']);
    assert.deepEqual(issues(doc(canary({ istio: ISTIO, gatewayApi: GATEWAY }))), ['environments[0].canary.router: a canary router has exactly one of istio, gatewayApi (found istio, gatewayApi)']);
  });

  test('gatewayApi needs the HTTPRoute and both backends; unknown fields and bad values are refused', () => {
    const { canaryBackend: _c, ...noCanary } = GATEWAY;
    assert.match(issues(doc(canary({ gatewayApi: noCanary }))).join('\n'), /environments\[0\]\.canary\.router\.gatewayApi\.canaryBackend/);
    const { httpRoute: _h, ...noRoute } = GATEWAY;
    assert.match(issues(doc(canary({ gatewayApi: noRoute }))).join('\n'), /gatewayApi\.httpRoute/);
    assert.match(issues(doc(canary({ gatewayApi: { ...GATEWAY, virtualService: 'web' } }))).join('\n'), /gatewayApi\.virtualService: unknown field/);
    assert.match(issues(doc(canary({ gatewayApi: { ...GATEWAY, mirror: { percent: 150 } } }))).join('\n'), /gatewayApi\.mirror\.percent/);
    assert.match(issues(doc(canary({ gatewayApi: { ...GATEWAY, stableBackend: { name: 'web', port: 0 } } }))).join('\n'), /gatewayApi\.stableBackend\.port/);
    assert.match(issues(doc(canary({ gatewayApi: { ...GATEWAY, httpRoute: 'Web_Route' } }))).join('\n'), /gatewayApi\.httpRoute: must be lowercase letters, digits, dashes and dots/);
  });

  test('the canary backend must differ from the stable one', () => {
    assert.deepEqual(issues(doc(canary({ gatewayApi: { ...GATEWAY, canaryBackend: { name: 'web', port: 80 } } }))), [
      'environments[0].canary.router.gatewayApi.canaryBackend: the canary backend must differ from the stable backend',
    ]);
  });

  test('a fault step requires istio: Gateway API has no fault injection', () => {
    const steps = [{ setWeight: 20 }, { fault: { abort: { percent: 50, httpStatus: 503 }, duration: '30s', metrics: ['errors'] } }];
    const metrics = [{ name: 'errors', prometheus: { query: 'up', address: 'http://prometheus:9090' }, thresholdRange: { max: 1 } }];
    assert.deepEqual(issues(doc(canary({ gatewayApi: GATEWAY }, { steps, metrics }))), [
      'environments[0].canary.steps[1].fault: a fault step requires canary.router.istio: Gateway API has no fault injection (canary.router.gatewayApi)',
    ]);
    assert.deepEqual(issues(doc(canary({ istio: ISTIO }, { steps, metrics }))), [], 'the same steps are fine with istio');
  });

  test('canary.generate requires istio', () => {
    const generated = { router: { gatewayApi: GATEWAY }, generate: true, steps: [{ setWeight: 50 }] };
    assert.deepEqual(issues(doc(generated)), [
      'environments[0].canary.generate: canary.generate requires canary.router.istio (it generates a VirtualService); with canary.router.gatewayApi, keep the canary Deployment and Service yourself and use canary.workloads',
    ]);
    assert.deepEqual(issues(doc({ ...generated, router: { istio: ISTIO } })), []);
  });
});
