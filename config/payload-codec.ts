// Encryption of everything Shipyard puts into Temporal history: workflow inputs and results, query
// and update results, update and signal arguments, memos, activity inputs and results, heartbeat
// details. A PayloadCodec runs in every client and worker (and the gateway's /codec endpoint for
// the Temporal UI), so the Temporal server and its database only ever see ciphertext.
//
// Configuration (environment; read by temporalSettings()):
//   SHIPYARD_CODEC_KEYS  path to a JSON key file: {"current": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}
//                        each key 32 random bytes, base64 (`openssl rand -base64 32`). New payloads are
//                        encrypted with `current`; any listed key decrypts (rotation: add the new key,
//                        make it current, keep the old one until no history needs it).
//   SHIPYARD_CODEC_KEY   one inline base64 key, key id `default` (simple setups; not with SHIPYARD_CODEC_KEYS)
//   SHIPYARD_MODE=production  one of the two is required: workers, gateway and CLI refuse to start without.
// Neither set (development default): no codec, payloads are plain JSON in history.
//
// An encrypted payload (format v1):
//   metadata  encoding = "binary/encrypted", encryption-key-id = <kid>, encryption-cipher = "AES-256-GCM"
//   data      iv (12 random bytes) || ciphertext || GCM tag (16 bytes)
// The plaintext is the whole original Payload protobuf (its metadata too, e.g. json/plain), and the
// key id is authenticated (GCM additional data), so a payload cannot be relabelled to another key.
// Decoding passes payloads without the encrypted encoding through unchanged: histories written
// before encryption was turned on stay readable.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_CIPHER = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KID = /^[A-Za-z0-9._-]{1,64}$/;

/** A configuration mistake (key file, key length, production without keys): the process must not start. */
export class CodecConfigError extends Error {
  override name = 'CodecConfigError';
}

/** A payload that cannot be decrypted: unknown key id, wrong key, corrupted or malformed data. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

export interface CodecKeys {
  /** Key id new payloads are encrypted with. */
  current: string;
  /** Every key that may decrypt, by key id; includes `current`. */
  keys: Map<string, Buffer>;
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/** AES-256-GCM payload encryption with key rotation: encode with the current key, decode with any. */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly current: { kid: string; key: Buffer };
  private readonly keys: Map<string, Buffer>;

  constructor(keys: CodecKeys) {
    validateKeys(keys, 'codec keys');
    this.keys = new Map(keys.keys);
    this.current = { kid: keys.current, key: this.keys.get(keys.current)! };
  }

  /** The configured key ids, current first (never the keys). */
  get keyIds(): string[] {
    return [this.current.kid, ...[...this.keys.keys()].filter((k) => k !== this.current.kid)];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encryptOne(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decryptOne(p));
  }

  private encryptOne(payload: Payload): Payload {
    const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(this.current.kid, 'utf8'));
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: utf8(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: utf8(this.current.kid), [METADATA_CIPHER]: utf8(CIPHER) },
      data: new Uint8Array(data),
    };
  }

  private decryptOne(payload: Payload): Payload {
    if (text(payload.metadata?.encoding) !== ENCODING_ENCRYPTED) return payload;
    const kid = text(payload.metadata?.[METADATA_KEY_ID]);
    if (!kid) throw new PayloadDecryptionError(`an encrypted payload has no ${METADATA_KEY_ID} metadata: cannot tell which key to use`);
    const cipherName = text(payload.metadata?.[METADATA_CIPHER]);
    if (cipherName !== undefined && cipherName !== CIPHER) {
      throw new PayloadDecryptionError(`payload encrypted with key id '${kid}' uses cipher ${cipherName}; this codec only knows ${CIPHER}`);
    }
    const key = this.keys.get(kid);
    if (!key) {
      throw new PayloadDecryptionError(
        `payload encrypted with key id '${kid}', which is not configured here (configured: ${this.keyIds.join(', ')}); ` +
          `add that key to SHIPYARD_CODEC_KEYS to read it`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError(`payload encrypted with key id '${kid}' is truncated (${data.length} bytes)`);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`payload encrypted with key id '${kid}' does not decrypt: the configured key '${kid}' is a different key, or the data was altered`);
    }
    return proto.temporal.api.common.v1.Payload.decode(plain) as Payload;
  }
}

/** A base64 key of exactly 32 bytes, or a CodecConfigError naming where it came from (never the value). */
export function parseKey(value: unknown, where: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value.trim())) {
    throw new CodecConfigError(`${where}: a key must be a base64 string of ${KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`);
  }
  const key = Buffer.from(value.trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new CodecConfigError(`${where}: key is ${key.length} bytes; AES-256-GCM needs exactly ${KEY_BYTES} (\`openssl rand -base64 32\`)`);
  return key;
}

function validateKeys(keys: CodecKeys, where: string): void {
  if (keys.keys.size === 0) throw new CodecConfigError(`${where}: no keys`);
  for (const [kid, key] of keys.keys) {
    if (!KID.test(kid)) throw new CodecConfigError(`${where}: key id '${kid.slice(0, 80)}' must be 1-64 characters of A-Z a-z 0-9 . _ -`);
    if (key.length !== KEY_BYTES) throw new CodecConfigError(`${where}: key '${kid}' is ${key.length} bytes; AES-256-GCM needs exactly ${KEY_BYTES}`);
  }
  if (!keys.keys.has(keys.current)) throw new CodecConfigError(`${where}: current key '${keys.current}' is not among the keys (${[...keys.keys.keys()].join(', ')})`);
}

/** Parses the key file's JSON: {"current": "<kid>", "keys": {"<kid>": "<base64 32 bytes>", ...}}. */
export function parseKeyFile(json: string, where: string): CodecKeys {
  let data: any;
  try {
    data = JSON.parse(json);
  } catch {
    throw new CodecConfigError(`${where}: not JSON; expected {"current": "k1", "keys": {"k1": "<base64 32 bytes>"}}`);
  }
  if (!data || typeof data !== 'object' || typeof data.current !== 'string' || !data.keys || typeof data.keys !== 'object' || Array.isArray(data.keys)) {
    throw new CodecConfigError(`${where}: expected {"current": "k1", "keys": {"k1": "<base64 32 bytes>"}}`);
  }
  const keys = new Map<string, Buffer>();
  for (const [kid, value] of Object.entries(data.keys)) keys.set(kid, parseKey(value, `${where}: key '${kid}'`));
  const parsed = { current: data.current, keys };
  validateKeys(parsed, where);
  return parsed;
}

/** The keys configured in the environment, or undefined (no encryption). Throws CodecConfigError on a bad setup. */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKeys | undefined {
  const file = env.SHIPYARD_CODEC_KEYS?.trim();
  const inline = env.SHIPYARD_CODEC_KEY?.trim();
  if (file && inline) throw new CodecConfigError('set one of SHIPYARD_CODEC_KEYS (key file) and SHIPYARD_CODEC_KEY (one inline key), not both');
  if (file) {
    let json: string;
    try {
      json = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CodecConfigError(`SHIPYARD_CODEC_KEYS=${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return parseKeyFile(json, `SHIPYARD_CODEC_KEYS=${file}`);
  }
  if (inline) return { current: 'default', keys: new Map([['default', parseKey(inline, 'SHIPYARD_CODEC_KEY')]]) };
  if (env.SHIPYARD_MODE === 'production') {
    throw new CodecConfigError(
      'SHIPYARD_MODE=production needs payload encryption: set SHIPYARD_CODEC_KEYS (a key file) or SHIPYARD_CODEC_KEY (a base64 32-byte key); ' +
        'without it release inputs (specs, helm values) would be stored in Temporal history in plain text',
    );
  }
  return undefined;
}

const cache = new Map<string, AesGcmPayloadCodec | undefined>();

/**
 * The payload codec the environment configures, or undefined (development without keys). One codec
 * per configuration per process: settings are read on every activity call, the key file once.
 */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmPayloadCodec | undefined {
  const id = JSON.stringify([env.SHIPYARD_CODEC_KEYS ?? '', env.SHIPYARD_CODEC_KEY ?? '', env.SHIPYARD_MODE ?? '']);
  if (!cache.has(id)) {
    const keys = codecKeysFromEnv(env);
    cache.set(id, keys && new AesGcmPayloadCodec(keys));
  }
  return cache.get(id);
}

/** The data converter option for a Client or Worker: `{ payloadCodecs: [codec] }`, or nothing without a codec. */
export function dataConverterFor(codec: PayloadCodec | undefined): { dataConverter?: { payloadCodecs: PayloadCodec[] } } {
  return codec ? { dataConverter: { payloadCodecs: [codec] } } : {};
}
