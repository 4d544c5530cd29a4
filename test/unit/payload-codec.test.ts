// The AES-256-GCM payload codec and its key configuration: round trip, no plaintext in what is
// encoded, pass-through of old plain payloads, rotation, unknown key ids, tampering, env rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  AesGcmPayloadCodec,
  CodecConfigError,
  codecKeysFromEnv,
  ENCODING_ENCRYPTED,
  METADATA_KEY_ID,
  payloadCodecFromEnv,
  PayloadDecryptionError,
} from '../../config/payload-codec.js';
import { ConfigError, temporalSettings } from '../../config/temporal.js';

const key = () => randomBytes(32);
const codec = (current: string, keys: Record<string, Buffer>) => new AesGcmPayloadCodec({ current, keys: new Map(Object.entries(keys)) });
const str = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

test('encode hides the value and its encoding; decode gives back the original payload', async () => {
  const c = codec('k1', { k1: key() });
  const secret = `s3cr3t-${randomBytes(6).toString('hex')}`;
  const plain = defaultPayloadConverter.toPayload({ values: { password: secret } });
  const [enc] = await c.encode([plain]);
  assert.equal(str(enc.metadata!.encoding), ENCODING_ENCRYPTED);
  assert.equal(str(enc.metadata![METADATA_KEY_ID]), 'k1');
  assert.ok(!Buffer.from(enc.data!).includes(secret), 'ciphertext must not contain the plaintext');
  assert.ok(!Buffer.from(enc.data!).includes('json/plain'), 'the original encoding is encrypted too');
  const [dec] = await c.decode([enc]);
  assert.equal(str(dec.metadata!.encoding), 'json/plain');
  assert.deepEqual(defaultPayloadConverter.fromPayload(dec), { values: { password: secret } });
  // Fresh IV each time: the same payload encodes differently.
  const [again] = await c.encode([plain]);
  assert.notDeepEqual(Buffer.from(again.data!), Buffer.from(enc.data!));
});

test('payloads that are not encrypted pass through decode unchanged (histories from before encryption)', async () => {
  const c = codec('k1', { k1: key() });
  const plain = defaultPayloadConverter.toPayload('hello');
  const [dec] = await c.decode([plain]);
  assert.equal(dec, plain);
});

test('rotation: written with k1, read by a codec with k2 current and k1 kept; new payloads use k2', async () => {
  const k1 = key();
  const old = codec('k1', { k1 });
  const [enc] = await old.encode([defaultPayloadConverter.toPayload('written-with-k1')]);
  const rotated = codec('k2', { k1, k2: key() });
  assert.equal(defaultPayloadConverter.fromPayload((await rotated.decode([enc]))[0]), 'written-with-k1');
  const [fresh] = await rotated.encode([defaultPayloadConverter.toPayload('x')]);
  assert.equal(str(fresh.metadata![METADATA_KEY_ID]), 'k2');
  assert.deepEqual(rotated.keyIds, ['k2', 'k1']);
});

test('an unknown key id, a wrong key, tampering and a relabelled key id are refused with clear errors', async () => {
  const [enc] = await codec('k9', { k9: key() }).encode([defaultPayloadConverter.toPayload('x')]);
  await assert.rejects(codec('k1', { k1: key() }).decode([enc]), (err: Error) => {
    assert.ok(err instanceof PayloadDecryptionError);
    assert.match(err.message, /key id 'k9', which is not configured here \(configured: k1\)/);
    return true;
  });
  await assert.rejects(codec('k9', { k9: key() }).decode([enc]), /key id 'k9' does not decrypt/);
  const k = key();
  const c = codec('a', { a: k, b: k });
  const [good] = await c.encode([defaultPayloadConverter.toPayload('x')]);
  const tampered = { ...good, data: Buffer.from(good.data!) };
  tampered.data[20] ^= 1;
  await assert.rejects(c.decode([tampered]), /does not decrypt/);
  // Same key material under another id: the key id is authenticated, so relabelling fails.
  const relabelled = { ...good, metadata: { ...good.metadata, [METADATA_KEY_ID]: new TextEncoder().encode('b') } };
  await assert.rejects(c.decode([relabelled]), /key id 'b' does not decrypt/);
});

test('key configuration from the environment: file, inline key, wrong lengths, production without keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'codec-'));
  const file = join(dir, 'keys.json');
  writeFileSync(file, JSON.stringify({ current: 'k2', keys: { k1: key().toString('base64'), k2: key().toString('base64') } }));
  const keys = codecKeysFromEnv({ SHIPYARD_CODEC_KEYS: file });
  assert.equal(keys?.current, 'k2');
  assert.deepEqual([...keys!.keys.keys()], ['k1', 'k2']);
  const inline = codecKeysFromEnv({ SHIPYARD_CODEC_KEY: key().toString('base64') });
  assert.equal(inline?.current, 'default');
  assert.equal(codecKeysFromEnv({}), undefined, 'development default: no codec');

  assert.throws(() => codecKeysFromEnv({ SHIPYARD_CODEC_KEY: randomBytes(16).toString('base64') }), /SHIPYARD_CODEC_KEY: key is 16 bytes; AES-256-GCM needs exactly 32/);
  assert.throws(() => codecKeysFromEnv({ SHIPYARD_CODEC_KEY: 'not base64!' }), CodecConfigError);
  writeFileSync(file, JSON.stringify({ current: 'k3', keys: { k1: key().toString('base64') } }));
  assert.throws(() => codecKeysFromEnv({ SHIPYARD_CODEC_KEYS: file }), /current key 'k3' is not among the keys \(k1\)/);
  writeFileSync(file, JSON.stringify({ current: 'k1', keys: { k1: randomBytes(31).toString('base64') } }));
  assert.throws(() => codecKeysFromEnv({ SHIPYARD_CODEC_KEYS: file }), /key 'k1'.*31 bytes/);
  assert.throws(() => codecKeysFromEnv({ SHIPYARD_CODEC_KEYS: join(dir, 'missing.json') }), /cannot read \(ENOENT\)/);
  assert.throws(() => codecKeysFromEnv({ SHIPYARD_CODEC_KEYS: file, SHIPYARD_CODEC_KEY: key().toString('base64') }), /not both/);
  assert.throws(() => codecKeysFromEnv({ SHIPYARD_MODE: 'production' }), /SHIPYARD_MODE=production needs payload encryption/);
  // The key never appears in an error.
  const short = randomBytes(20).toString('base64');
  assert.throws(() => codecKeysFromEnv({ SHIPYARD_CODEC_KEY: short }), (err: Error) => !err.message.includes(short));
});

test('temporalSettings carries the codec; production without keys is a ConfigError (workers, gateway and CLI stop)', () => {
  const b64 = key().toString('base64');
  const s = temporalSettings({ SHIPYARD_CODEC_KEY: b64 });
  assert.ok(s.payloadCodec instanceof AesGcmPayloadCodec);
  assert.equal(s.payloadCodec, payloadCodecFromEnv({ SHIPYARD_CODEC_KEY: b64 }), 'one codec per configuration');
  assert.equal(temporalSettings({}).payloadCodec, undefined);
  assert.throws(() => temporalSettings({ SHIPYARD_MODE: 'production' }), (err: Error) => err instanceof ConfigError && /SHIPYARD_CODEC_KEYS/.test(err.message));
});
