// Payload encryption on the real dev server: a release whose spec carries a secret helm value, run
// by workers and a client with the AES-256-GCM codec (mocked activities). The raw history, read
// around the codec, must not contain the secret anywhere; through the codec it is there. The
// gateway's /codec endpoint (Temporal UI) decodes for a caller with the token only, with CORS for
// the configured origins; rotated keys read old history; an unknown key id is a clear error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { ShipyardClient } from '../../client/index.js';
import { AesGcmPayloadCodec, ENCODING_ENCRYPTED } from '../../config/payload-codec.js';
import { statusQuery } from '../../workflows/messages.js';
import type { ReleaseStatus } from '../../workflows/types.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { gatewayConfig, identitySection, send, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { NAMESPACE, settings, temporalAddress, uniqueName, uniqueQueues, withWorkers } from '../helpers/temporal.js';

const { temporal } = proto;
const k1 = randomBytes(32);
const k2 = randomBytes(32);
const codecK1 = new AesGcmPayloadCodec({ current: 'k1', keys: new Map([['k1', k1]]) });
const TOKEN = `codec-token-${randomBytes(8).toString('hex')}`;
const UI = 'http://localhost:8233';

let connection: Connection;
const clients: ShipyardClient[] = [];
/** A Shipyard client on the shared connection, with the given codec (as ShipyardClient.connect builds it from the env). */
function shipyardWith(codec?: AesGcmPayloadCodec): ShipyardClient {
  const client = new Client({ connection, namespace: NAMESPACE, ...(codec ? { dataConverter: { payloadCodecs: [codec] } } : {}) });
  const s = new ShipyardClient(client, { ...settings(), payloadCodec: codec });
  clients.push(s);
  return s;
}

before(async () => {
  connection = await Connection.connect({ address: temporalAddress() });
});
after(async () => {
  await connection.close();
});

/**
 * Every payload in a history (inputs, results, update args, memos, headers...) except those Temporal
 * never passes through a codec: search attributes (the server indexes them) and the SDK's own patch
 * markers (which patches a run took: names only).
 */
function payloadsIn(value: unknown, out: Payload[] = []): Payload[] {
  if (!value || typeof value !== 'object') return out;
  if (value instanceof Uint8Array) return out;
  const v = value as Record<string, unknown>;
  if (v.data instanceof Uint8Array && v.metadata && typeof v.metadata === 'object') {
    out.push(v as Payload);
    return out;
  }
  if ((v as { markerName?: string }).markerName === 'core_patch') return out;
  // A local activity's marker: its result goes through the codec, the SDK's own bookkeeping beside it
  // (`data`: sequence number, attempt, activity type, times) does not.
  if ((v as { markerName?: string }).markerName === 'core_local_activity') {
    const { data: _bookkeeping, ...details } = (v as { details?: Record<string, unknown> }).details ?? {};
    return payloadsIn(details, out);
  }
  for (const [key, child] of Object.entries(v)) if (key !== 'searchAttributes') payloadsIn(child, out);
  return out;
}

async function rawHistory(shipyard: ShipyardClient, workflowId: string) {
  // The gRPC service directly: what the server stores, before any codec.
  const res = await shipyard.client.workflowService.getWorkflowExecutionHistory({ namespace: NAMESPACE, execution: { workflowId }, maximumPageSize: 1000 });
  assert.ok(!res.nextPageToken?.length, 'one page holds this history');
  const bytes = Buffer.from(temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse.encode(res).finish());
  return { events: res.history?.events ?? [], bytes };
}

describe('payload codec (real dev server, mocked activities)', () => {
  const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
  const comment = `approval-note-${randomBytes(6).toString('hex')}`;
  let releaseId = '';
  let finalStatus: ReleaseStatus;
  let startPayloads: Payload[] = [];
  let gateway: RunningGateway;

  before(async () => {
    const shipyard = shipyardWith(codecK1);
    const service = uniqueName('codec');
    const spec = twoEnvSpec({
      service,
      staging: {
        deploy: { helm: { chart: 'oci://registry.local/charts/app', release: service, namespace: 'staging', timeout: '1m', values: { db: { password: secret } } } },
        approval: { approvers: ['alice'], timeout: '1h' },
      },
    });
    const world = new FakeWorld();
    const activities = world.activities();
    const deployedValues: unknown[] = [];
    const helmDeploy = activities.deploy.helmDeploy;
    activities.deploy.helmDeploy = async (i) => {
      deployedValues.push(i.helm.values);
      return helmDeploy(i);
    };
    const queues = uniqueQueues('codec');
    await withWorkers(
      queues,
      activities,
      async () => {
        const started = await startRelease(shipyard, queues, spec, { environments: ['staging'] });
        releaseId = started.releaseId;
        // The status query through the codec: the worker encrypts its answer, the client decrypts it.
        const waiting = await waitForStatus(shipyard, releaseId, (s) => s.approvals.pending?.gate === 'staging/approval', 'staging approval gate');
        assert.equal(waiting.stage, 'approval');
        // Update arguments are payloads too.
        await shipyard.approve(releaseId, { approver: 'alice', comment });
        const final = await shipyard.wait(releaseId, undefined, 200);
        assert.equal(final.outcome, 'succeeded', final.message);
        finalStatus = final.status!;
        const queried = await shipyard.client.workflow.getHandle(releaseId).query(statusQuery);
        assert.equal(queried.outcome, 'succeeded');
      },
      undefined,
      { payloadCodec: codecK1 },
    );
    // The activity got the real value: the worker decrypted its input.
    assert.deepEqual(deployedValues, [{ db: { password: secret } }]);
    gateway = await startGateway(shipyard, gatewayConfig(spec), { env: { SHIPYARD_CODEC_TOKEN: TOKEN } });
  });
  after(async () => {
    await gateway?.close();
  });

  test('the raw history holds no plaintext; through the codec the secret is there', async () => {
    const shipyard = shipyardWith(codecK1);
    const { events, bytes } = await rawHistory(shipyard, releaseId);
    assert.ok(!bytes.includes(secret), 'the secret helm value must not be in the stored history');
    assert.ok(!bytes.includes(comment), 'the approval comment (update argument) must not be in the stored history');
    const payloads = payloadsIn(events);
    assert.ok(payloads.length >= 10, `payloads found: ${payloads.length}`);
    for (const p of payloads) assert.equal(Buffer.from(p.metadata!.encoding!).toString(), ENCODING_ENCRYPTED);
    // Decrypted, the secret is in the start input and the deploy activity's input: the check above could fail.
    const decoded = Buffer.concat((await codecK1.decode(payloads)).map((p) => Buffer.from(p.data ?? [])));
    assert.ok(decoded.includes(secret), 'the secret is in history, encrypted');
    assert.ok(decoded.includes(comment), 'the approval comment is in history, encrypted');
    startPayloads = [...(events[0].workflowExecutionStartedEventAttributes?.input?.payloads ?? [])] as Payload[];
    assert.equal(startPayloads.length, 1);
    // Memo (trigger, environments) and the final status read through the codec.
    const d = await shipyard.client.workflow.getHandle(releaseId).describe();
    assert.deepEqual((d.memo as { environments?: string[] }).environments, ['staging']);
    assert.equal(finalStatus.approvals.decisions[0]?.comment, comment);
  });

  test('search attributes (not encrypted by codecs) never carry the secret', async () => {
    const shipyard = shipyardWith(codecK1);
    const d = await shipyard.client.workflow.getHandle(releaseId).describe();
    const raw = Buffer.from(temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse.encode(d.raw).finish());
    assert.ok(d.raw.workflowExecutionInfo?.searchAttributes?.indexedFields?.ShipyardService, 'search attributes are set');
    assert.ok(!raw.includes(secret), 'describe (search attributes, memo) holds no plaintext secret');
    assert.ok(!JSON.stringify(d.typedSearchAttributes).includes(secret));
  });

  test('the coordination activities start the lease workflow through the worker codec', async () => {
    const shipyard = shipyardWith(codecK1);
    const leaseId = finalStatus.leases?.staging?.workflowId;
    assert.ok(leaseId, `lease workflow of staging: ${JSON.stringify(finalStatus.leases)}`);
    const { events } = await rawHistory(shipyard, leaseId);
    const input = events[0].workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    assert.ok(input.length > 0);
    for (const p of input) assert.equal(Buffer.from(p.metadata!.encoding!).toString(), ENCODING_ENCRYPTED);
  });

  test('rotation: history written with k1 reads with keys {k2 current, k1}; an unknown key id is a clear error', async () => {
    const rotated = shipyardWith(new AesGcmPayloadCodec({ current: 'k2', keys: new Map([['k2', k2], ['k1', k1]]) }));
    const final = await rotated.final(releaseId);
    assert.equal(final.outcome, 'succeeded');
    assert.equal(final.status?.approvals.decisions[0]?.comment, comment);
    const other = shipyardWith(new AesGcmPayloadCodec({ current: 'k3', keys: new Map([['k3', randomBytes(32)]]) }));
    await assert.rejects(other.final(releaseId), /payload encrypted with key id 'k1', which is not configured here \(configured: k3\)/);
    // And a client without a codec sees only ciphertext, not the value.
    const plain = shipyardWith();
    const result = await plain.client.workflow.getHandle(releaseId).result().catch((err: Error) => err);
    assert.ok(!JSON.stringify(result ?? null).includes(comment));
  });

  test('gateway /codec/decode: the token decodes, no token is 401, CORS only for the allowed origin', async () => {
    const body = JSON.stringify({
      payloads: startPayloads.map((p) => ({
        metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
        data: Buffer.from(p.data!).toString('base64'),
      })),
    });
    const headers = { 'content-type': 'application/json', 'x-namespace': NAMESPACE, origin: UI };
    const ok = await send(`${gateway.url}/codec/decode`, body, { ...headers, authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers.get('access-control-allow-origin'), UI);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    const out = ok.body.payloads[0];
    assert.equal(Buffer.from(out.metadata.encoding, 'base64').toString(), 'json/plain');
    assert.ok(Buffer.from(out.data, 'base64').toString().includes(secret), 'the plaintext comes back');

    const none = await send(`${gateway.url}/codec/decode`, body, headers);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    const wrong = await send(`${gateway.url}/codec/decode`, body, { ...headers, authorization: `Bearer ${TOKEN}x` });
    assert.equal(wrong.status, 401);
    assert.ok(!wrong.text.includes(secret) && !none.text.includes(secret));

    const preflight = (origin: string) =>
      fetch(`${gateway.url}/codec/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' } });
    const good = await preflight(UI);
    assert.equal(good.status, 204);
    assert.equal(good.headers.get('access-control-allow-origin'), UI);
    assert.equal(good.headers.get('access-control-allow-headers'), 'authorization, content-type, x-namespace');
    assert.equal(good.headers.get('access-control-allow-credentials'), 'true');
    const evil = await preflight('https://evil.example');
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.notEqual(evil.status, 204);
    const evilPost = await send(`${gateway.url}/codec/decode`, body, { ...headers, origin: 'https://evil.example', authorization: `Bearer ${TOKEN}` });
    assert.equal(evilPost.status, 403);
    assert.equal(evilPost.headers.get('access-control-allow-origin'), null);
    assert.ok(!evilPost.text.includes(secret));
  });

  test('gateway /codec/encode round-trips; bad bodies are 400; a payload of an unknown key is 422 naming it', async () => {
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
    const plain = defaultPayloadConverter.toPayload({ hello: 'world' });
    const asJson = (p: Payload) => ({ metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data!).toString('base64') });
    const enc = await send(`${gateway.url}/codec/encode`, JSON.stringify({ payloads: [asJson(plain)] }), auth);
    assert.equal(enc.status, 200, enc.text);
    assert.equal(Buffer.from(enc.body.payloads[0].metadata.encoding, 'base64').toString(), ENCODING_ENCRYPTED);
    assert.equal(Buffer.from(enc.body.payloads[0].metadata['encryption-key-id'], 'base64').toString(), 'k1');
    const dec = await send(`${gateway.url}/codec/decode`, JSON.stringify(enc.body), auth);
    assert.deepEqual(defaultPayloadConverter.fromPayload({ metadata: { encoding: Buffer.from(dec.body.payloads[0].metadata.encoding, 'base64') }, data: Buffer.from(dec.body.payloads[0].data, 'base64') }), { hello: 'world' });
    assert.equal((await send(`${gateway.url}/codec/decode`, '{"payloads": 3}', auth)).status, 400);
    assert.equal((await send(`${gateway.url}/codec/decode`, 'not json', auth)).status, 400);
    const [foreign] = await new AesGcmPayloadCodec({ current: 'k7', keys: new Map([['k7', randomBytes(32)]]) }).encode([plain]);
    const unknown = await send(`${gateway.url}/codec/decode`, JSON.stringify({ payloads: [asJson(foreign)] }), auth);
    assert.equal(unknown.status, 422);
    assert.match(unknown.body.detail, /key id 'k7', which is not configured here/);
  });

  test('a gateway without codec keys answers 404 not configured', async () => {
    const spec = twoEnvSpec({ service: uniqueName('nocodec') });
    const plainGateway = await startGateway(shipyardWith(), gatewayConfig(spec), { env: { SHIPYARD_CODEC_TOKEN: TOKEN } });
    try {
      const res = await send(`${plainGateway.url}/codec/decode`, '{"payloads":[]}', { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` });
      assert.equal(res.status, 404);
      assert.equal(res.body.error, 'not configured');
    } finally {
      await plainGateway.close();
    }
  });

  test('local stack: SHIPYARD_CODEC_ANONYMOUS_LOOPBACK lets loopback callers decode without a token, never in production', async () => {
    const spec = twoEnvSpec({ service: uniqueName('anon') });
    const body = JSON.stringify({ payloads: [] });
    const local = await startGateway(shipyardWith(codecK1), gatewayConfig(spec), { env: { SHIPYARD_CODEC_ANONYMOUS_LOOPBACK: '1' } });
    const prod = await startGateway(shipyardWith(codecK1), gatewayConfig(spec, { identity: identitySection() }), { env: { SHIPYARD_CODEC_ANONYMOUS_LOOPBACK: '1', SHIPYARD_MODE: 'production' } });
    try {
      const res = await send(`${local.url}/codec/decode`, body, { 'content-type': 'application/json' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { payloads: [] });
      // Production ignores the loopback switch: this gateway verifies ID tokens, so a caller without one is 401.
      const refused = await send(`${prod.url}/codec/decode`, body, { 'content-type': 'application/json' });
      assert.equal(refused.status, 401, refused.text);
    } finally {
      await local.close();
      await prod.close();
    }
  });
});

test('SHIPYARD_MODE=production without codec keys: the worker and the gateway refuse to start', () => {
  const dist = fileURLToPath(new URL('../../', import.meta.url));
  const env = { PATH: process.env.PATH, TEMPORAL_ADDRESS: temporalAddress(), SHIPYARD_MODE: 'production' };
  for (const [what, script] of [['worker', 'workers/all-in-one.js'], ['gateway', 'client/gateway/main.js']]) {
    const run = spawnSync(process.execPath, [`${dist}${script}`], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 1, `${what}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /SHIPYARD_MODE=production needs payload encryption: set SHIPYARD_CODEC_KEYS/, what);
  }
});
