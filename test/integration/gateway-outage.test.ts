// Back-pressure: with Temporal stopped the gateway answers 503 + Retry-After (so GitHub/GitLab
// redeliver) and never a 2xx; the breaker opens; when Temporal is back the same delivery succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShipyardClient } from '../../client/index.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startDevServer } from '../helpers/dev-server.js';
import { eventually, uniqueName, uniqueQueues } from '../helpers/temporal.js';
import { gatewayConfig, githubHeaders, send, startGateway } from '../helpers/gateway.js';
import { readFileSync } from 'node:fs';
import { freePort } from '../helpers/net.js';
import { fileURLToPath } from 'node:url';

const push = readFileSync(fileURLToPath(new URL('../../../test/fixtures/webhooks/github-push.json', import.meta.url)), 'utf8');

// Both connections the gateway can use: grpc-js, and the SDK's native one (the gateway process's default).
for (const kind of ['grpc-js', 'native'] as const) test(`Temporal down (${kind} connection): 503 + Retry-After and breaker open; back up: the redelivered event starts its release`, async () => {
  let server = await startDevServer();
  const port = server.port;
  const settings = { address: server.address, namespace: 'default', uiUrl: 'http://localhost:8233' };
  const shipyard = ShipyardClient.lazy(settings, uniqueQueues('outage'), kind);
  const service = uniqueName(`outage-${kind}`);
  const gw = await startGateway(shipyard, gatewayConfig(twoEnvSpec({ service })), { guard: { resetMs: 1500, timeoutMs: 3000, volumeThreshold: 2 } });
  try {
    const up = await send(`${gw.url}/webhooks/github`, push, githubHeaders('push', push, undefined, 'before-outage'));
    assert.equal(up.status, 202, up.text);

    await server.stop();
    const down = await send(`${gw.url}/webhooks/github`, push, githubHeaders('push', push, undefined, 'during-outage'));
    assert.equal(down.status, 503, down.text);
    assert.equal(down.headers.get('retry-after'), '30');
    assert.equal(down.body.error, 'temporal unavailable');
    // More deliveries open the breaker: refused fast, without waiting on a dead frontend.
    for (let i = 0; i < 3; i++) await send(`${gw.url}/webhooks/github`, push, githubHeaders('push', push));
    const started = Date.now();
    const fast = await send(`${gw.url}/webhooks/github`, push, githubHeaders('push', push));
    assert.equal(fast.status, 503);
    assert.ok(Date.now() - started < 1000, 'an open breaker answers at once');
    assert.equal((await fetch(`${gw.url}/readyz`)).status, 503);
    assert.match(await gw.metrics(), /shipyard_gateway_temporal_breaker_open 1/);
    assert.match(await gw.metrics(), /shipyard_gateway_requests_total\{route="webhook_github",outcome="unavailable"\} [4-9]/);

    server = await startDevServer({ port });
    // GitHub redelivers the event it got a 503 for; once the breaker lets a trial through, it lands.
    const recovered = await eventually(async () => {
      const res = await send(`${gw.url}/webhooks/github`, push, githubHeaders('push', push, undefined, 'during-outage'));
      return res.status === 202 ? res : undefined;
    }, 30_000, 'gateway to recover');
    if (kind === 'grpc-js') assert.equal(recovered.body.status, 'started', 'the fresh server has no such release yet');
    // The native client retries UNAVAILABLE calls inside the SDK's core after the gateway has answered
    // 503 (its deadline ends the wait, not core's retries), so a start from the outage may land once the
    // server is back; the release ID is the same, so the redelivery attaches to it: one release either way.
    else assert.ok(['started', 'existing'].includes(recovered.body.status), recovered.text);
    assert.equal(recovered.body.releaseId, `release/${service}/staging/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c`);
    await eventually(async () => (await fetch(`${gw.url}/readyz`)).status === 200, 10_000, 'ready again');
  } finally {
    await gw.close();
    await shipyard.close().catch(() => undefined);
    await server.stop();
  }
});

test('native connection: the gateway starts while Temporal is down, answers 503, and connects once it is up', async () => {
  const port = await freePort();
  const settings = { address: `127.0.0.1:${port}`, namespace: 'default', uiUrl: 'http://localhost:8233' };
  const shipyard = ShipyardClient.lazy(settings, uniqueQueues('outage-cold'), 'native');
  const service = uniqueName('outage-cold');
  const gw = await startGateway(shipyard, gatewayConfig(twoEnvSpec({ service })), { guard: { resetMs: 1500, timeoutMs: 3000, volumeThreshold: 2 } });
  let server: Awaited<ReturnType<typeof startDevServer>> | undefined;
  try {
    const down = await send(`${gw.url}/webhooks/github`, push, githubHeaders('push', push, undefined, 'cold-start'));
    assert.equal(down.status, 503, down.text);
    assert.equal(down.body.error, 'temporal unavailable');
    server = await startDevServer({ port });
    const recovered = await eventually(async () => {
      const res = await send(`${gw.url}/webhooks/github`, push, githubHeaders('push', push, undefined, 'cold-start'));
      return res.status === 202 ? res : undefined;
    }, 30_000, 'gateway to connect');
    assert.equal(recovered.body.status, 'started');
    assert.equal(recovered.body.releaseId, `release/${service}/staging/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c`);
  } finally {
    await gw.close();
    await shipyard.close().catch(() => undefined);
    await server?.stop();
  }
});
