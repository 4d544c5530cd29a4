// The remote payload codec for the Temporal UI (and `temporal --codec-endpoint`): POST /codec/encode
// and /codec/decode, with the same codec the gateway's client uses (config/payload-codec.ts).
// The UI sends {"payloads": [{"metadata": {"encoding": "<base64>", ...}, "data": "<base64>"}]} with
// headers Content-Type: application/json, X-Namespace and (with "pass access token") Authorization:
// Bearer <token>; the answer has the same shape. Point the UI at http://<gateway>/codec.
//
// Who may call: a bearer token (gateway config `codec.token`, default env SHIPYARD_CODEC_TOKEN,
// compared in constant time) or, when an OIDC verifier is given, a valid ID token. Decoding hands out
// plaintext of every release in the namespace, so without a way to authenticate the routes are off
// (404), except for SHIPYARD_CODEC_ANONYMOUS_LOOPBACK=1 outside production (the local stack's UI,
// which cannot send a token, calling from this machine).
// Browsers: CORS for the configured origins only (codec.allowedOrigins), preflight answered here.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { OidcVerifier } from '../auth/oidc.js';
import type { ShipyardClient } from '../index.js';
import type { LoadedGatewayConfig } from './config.js';
import { SecretSet } from './secrets.js';

/** Who called, or false. The lead can swap this for OIDC-only verification without touching the routes. */
export type CodecAuthorizer = (authorization: string | undefined) => Promise<{ identity: string } | false>;

export interface CodecRoutesOptions {
  config: LoadedGatewayConfig;
  shipyard: ShipyardClient;
  env?: NodeJS.ProcessEnv;
  /** Replaces the default check (configured token, or an ID token when `oidc` is given). */
  authorize?: CodecAuthorizer;
  /** Also accept OIDC ID tokens verified by this verifier. */
  oidc?: OidcVerifier;
}

const ALLOW_HEADERS = 'authorization, content-type, x-namespace';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const digest = (b: Buffer) => createHash('sha256').update(b).digest();

/** Bearer token equal (constant time, over digests so lengths do not leak) to one configured token, or a valid ID token. */
export function tokenAuthorizer(tokens: SecretSet, oidc?: OidcVerifier): CodecAuthorizer {
  return async (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return false;
    const presented = digest(Buffer.from(m[1]));
    let match = false;
    for (const token of tokens.values()) match = timingSafeEqual(presented, digest(token)) || match;
    if (match) return { identity: 'codec-token' };
    if (!oidc) return false;
    try {
      return { identity: (await oidc.verify(m[1])).identity };
    } catch {
      return false;
    }
  };
}

function problem(reply: FastifyReply, status: number, error: string, detail?: string) {
  return reply.code(status).send({ error, ...(detail ? { detail } : {}) });
}

/** The UI's JSON payloads -> SDK payloads, or a reason they are malformed. */
export function payloadsFromJson(body: unknown): Payload[] | string {
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) return 'expected {"payloads": [...]}';
  const out: Payload[] = [];
  for (const [i, p] of list.entries()) {
    if (!p || typeof p !== 'object') return `payloads[${i}] is not an object`;
    const { metadata = {}, data = '' } = p as { metadata?: unknown; data?: unknown };
    if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) return `payloads[${i}].metadata is not an object`;
    const meta: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string' || !BASE64.test(v)) return `payloads[${i}].metadata.${k.slice(0, 40)} is not base64`;
      meta[k] = new Uint8Array(Buffer.from(v, 'base64'));
    }
    if (typeof data !== 'string' || !BASE64.test(data)) return `payloads[${i}].data is not base64`;
    out.push({ metadata: meta, data: new Uint8Array(Buffer.from(data, 'base64')) });
  }
  return out;
}

export function payloadsToJson(payloads: Payload[]) {
  const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('base64');
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
      data: b64(p.data),
    })),
  };
}

const isLoopback = (ip: string) => ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';

export function registerCodecRoutes(app: FastifyInstance, opts: CodecRoutesOptions): void {
  const env = opts.env ?? process.env;
  const { allowedOrigins } = opts.config.codec;
  // The codecs the gateway's own client writes with: the endpoint can never disagree with it.
  const codecs: PayloadCodec[] = opts.shipyard.client.options.loadedDataConverter.payloadCodecs;
  const tokens = new SecretSet('codec', opts.config.codec.token, env);
  const authorize = opts.authorize ?? tokenAuthorizer(tokens, opts.oidc);
  const canAuthenticate = () => Boolean(opts.authorize || opts.oidc || tokens.values().length);
  const anonymousLoopback = env.SHIPYARD_CODEC_ANONYMOUS_LOOPBACK === '1' && env.SHIPYARD_MODE !== 'production';

  /** CORS headers for an allowed Origin; whether the origin (if any) is allowed. */
  const cors = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const origin = req.headers.origin;
    if (!origin) return true;
    if (!allowedOrigins.includes(origin)) return false;
    reply.header('Access-Control-Allow-Origin', origin).header('Access-Control-Allow-Credentials', 'true').header('Vary', 'Origin');
    return true;
  };

  const handler = (op: 'encode' | 'decode') => async (req: FastifyRequest<{ Body: Buffer }>, reply: FastifyReply) => {
    if (!cors(req, reply)) return problem(reply, 403, 'origin not allowed', 'add it to the gateway config codec.allowedOrigins');
    if (codecs.length === 0) return problem(reply, 404, 'not configured', 'no payload codec keys on this gateway (SHIPYARD_CODEC_KEYS or SHIPYARD_CODEC_KEY)');
    let caller: { identity: string } | false = false;
    if (canAuthenticate()) caller = await authorize(typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined);
    else if (!anonymousLoopback) return problem(reply, 404, 'not configured', 'no codec token on this gateway (SHIPYARD_CODEC_TOKEN or codec.token)');
    if (!caller && anonymousLoopback && isLoopback(req.socket.remoteAddress ?? '')) caller = { identity: 'anonymous-loopback' };
    if (!caller) {
      reply.header('WWW-Authenticate', 'Bearer');
      return problem(reply, 401, 'unauthorized', 'send Authorization: Bearer <codec token>');
    }
    const mediaType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== 'application/json') return problem(reply, 415, 'unsupported media type', 'send application/json');
    let body: unknown;
    try {
      body = JSON.parse((req.body ?? Buffer.alloc(0)).toString('utf8'));
    } catch {
      return problem(reply, 400, 'malformed JSON', 'the body is not JSON');
    }
    const payloads = payloadsFromJson(body);
    if (typeof payloads === 'string') return problem(reply, 400, 'bad payloads', payloads);
    let result = payloads;
    try {
      // Codecs apply in order on encode and in reverse on decode, as in the SDK.
      for (const codec of op === 'encode' ? codecs : [...codecs].reverse()) result = await codec[op](result);
    } catch (err) {
      req.log.warn({ op, identity: caller.identity, err: (err as Error).message }, 'codec request failed');
      return problem(reply, 422, `cannot ${op}`, (err as Error).message);
    }
    req.log.info({ op, identity: caller.identity, namespace: req.headers['x-namespace'], payloads: payloads.length }, 'codec request');
    return reply.code(200).header('Cache-Control', 'no-store').send(payloadsToJson(result));
  };

  for (const op of ['encode', 'decode'] as const) {
    app.post(`/codec/${op}`, handler(op));
    app.options(`/codec/${op}`, async (req, reply) => {
      if (!req.headers.origin || !cors(req, reply)) return problem(reply, 403, 'origin not allowed', 'add it to the gateway config codec.allowedOrigins');
      return reply
        .code(204)
        .header('Access-Control-Allow-Methods', 'POST, OPTIONS')
        .header('Access-Control-Allow-Headers', ALLOW_HEADERS)
        .header('Access-Control-Max-Age', '600')
        .send();
    });
  }
}
