// One JSON log line per request, written when the answer has been sent, carrying what the handler
// noted about the outcome (release ID, delivery ID, ...). Fastify's default writes "incoming
// request" and "request completed" and the handler wrote a third line; at hundreds of webhooks per
// second those synchronous writes were the largest cost in the gateway process after the start RPC
// itself (bench/gateway.ts). Errors are logged as before ("request errored").
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

const outcomes = new WeakMap<FastifyRequest, Record<string, unknown>>();

/** Adds fields to the request's log line (several calls merge). */
export function noteOutcome(req: FastifyRequest, fields: Record<string, unknown>): void {
  outcomes.set(req, { ...outcomes.get(req), ...fields });
}

/** Fastify's `logController`: no "incoming request" line; the completion line has the request and the outcome. */
export class OneLineLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = { req: request, res: reply, responseTime: reply.elapsedTime, ...outcomes.get(request) };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
