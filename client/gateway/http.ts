// Small request/answer helpers shared by the gateway's route modules (webhooks, chat callbacks).
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A request whose body is kept as raw bytes (signatures are over exactly what was sent). */
export type Req = FastifyRequest<{ Body: Buffer }>;

/** A JSON error answer: `{error, detail?}`, never a secret. */
export function problem(reply: FastifyReply, status: number, error: string, detail?: string) {
  return reply.code(status).send({ error, ...(detail ? { detail } : {}) });
}

export function mediaType(req: FastifyRequest): string {
  return String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

export function parseJson(raw: Buffer): { ok: true; value: any } | { ok: false } {
  try {
    const value = JSON.parse(raw.toString('utf8'));
    return value !== null && typeof value === 'object' ? { ok: true, value } : { ok: false };
  } catch {
    return { ok: false };
  }
}

export function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
