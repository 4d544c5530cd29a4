// Post-deploy HTTP probe: the URL must answer with the expected status. A mismatch or an unreachable
// URL is retried by Temporal (the health stage's retry policy) before it fails the deploy.
import got from 'got';
import { ApplicationFailure } from '@temporalio/common';
import { parseDuration } from '../../spec/duration.js';
import type { ProbeInput } from '../types.js';

export async function httpProbe(input: ProbeInput): Promise<{ status: number }> {
  let status: number;
  try {
    const res = await got(input.url, { timeout: { request: parseDuration(input.timeout) }, retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false });
    status = res.statusCode;
  } catch (err) {
    throw ApplicationFailure.retryable(`probe ${input.url}: ${(err as Error).message}`, 'ProbeFailed');
  }
  if (status !== input.expectStatus) throw ApplicationFailure.retryable(`probe ${input.url}: status ${status}, expected ${input.expectStatus}`, 'ProbeFailed');
  return { status };
}
