// Posting to chat and webhook endpoints with got, classifying failures for Temporal's retries:
// 429 and 5xx are retried (429 after its Retry-After), other 4xx are not, with the API's message.
import got, { type Response } from 'got';
import { ApplicationFailure } from '@temporalio/common';
import { checkEgress, checkSecretName } from '../egress.js';

export function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Throws the right ApplicationFailure for a non-2xx response. `detail` is what the API said (its
 * body by default); `refusedType` names the non-retryable 4xx failure.
 */
export function failForStatus(what: string, res: Response<string>, detail = String(res.body ?? '').slice(0, 300), refusedType = 'RequestRefused'): never {
  if (res.statusCode === 429) {
    const delay = retryAfterMs(res.headers['retry-after']);
    throw ApplicationFailure.create({ type: 'RateLimited', message: `${what}: 429 ${detail}`, nonRetryable: false, nextRetryDelay: delay });
  }
  if (res.statusCode >= 500) throw ApplicationFailure.retryable(`${what}: ${res.statusCode} ${detail}`, 'UpstreamError');
  throw ApplicationFailure.nonRetryable(`${what}: ${res.statusCode} ${detail}`, refusedType);
}

export async function postJson(what: string, url: string, json: unknown, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Response<string>> {
  checkEgress(url, what);
  let res: Response<string>;
  try {
    res = await got.post(url, { json, headers, timeout: { request: timeoutMs }, retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false });
  } catch (err) {
    // connection refused, DNS, timeout: Temporal retries
    throw ApplicationFailure.retryable(`${what}: ${(err as Error).message}`, 'Unreachable');
  }
  if (res.statusCode < 200 || res.statusCode >= 300) failForStatus(what, res);
  return res;
}

export function parseBody(res: Response<string>): Record<string, unknown> {
  try {
    return JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The value of a required environment variable named by the spec (a secret reference). */
export function secretFromEnv(name: string, purpose: string): string {
  checkSecretName(name, purpose);
  const value = process.env[name]?.trim();
  if (!value) throw ApplicationFailure.nonRetryable(`${name} is not set on the deploy worker (${purpose})`, 'NotConfigured');
  return value;
}
