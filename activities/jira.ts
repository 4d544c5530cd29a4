// JIRA: comment the outcome of a release on its issues and, when it succeeded, move them through the
// configured transition (e.g. Done). The issue keys come from the build worker (scanJiraIssues in
// jira-scan.ts, as `input.issues`); only releases started by older code make this activity scan.
// Idempotent per attempt by checking before acting: a comment carries a
// [shipyard:<release>:<attempt>:<outcome>] marker and is not posted twice by the same attempt, while
// a new attempt of the release (--retry-failed) comments its own outcome; an issue already in the
// target status is not transitioned again.
// 429 honours Retry-After (as the activity's next retry delay), 5xx retries, other 4xx fail with
// the API's message. Credentials come from an environment variable; they never enter history.
import { ApplicationFailure } from '@temporalio/common';
import got, { type Response } from 'got';
import type { BuildSettings } from './build/settings.js';
import { scanJiraIssues } from './jira-scan.js';
import { failForStatus } from './notify/http.js';
import { checkEgress, checkSecretName } from './egress.js';
import type { JiraInput } from './types.js';

export { issueKeys } from './jira-scan.js';

function authHeader(credentialsEnv: string): string {
  checkSecretName(credentialsEnv, 'JIRA credentials');
  const value = process.env[credentialsEnv]?.trim();
  if (!value) throw ApplicationFailure.nonRetryable(`${credentialsEnv} is not set on the deploy worker (JIRA credentials)`, 'NotConfigured');
  // user@example.com:api-token -> basic (JIRA Cloud); anything else is a personal access token.
  return value.includes(':') ? `Basic ${Buffer.from(value).toString('base64')}` : `Bearer ${value}`;
}

function apiMessage(res: Response<string>): string {
  try {
    const body = JSON.parse(res.body) as { errorMessages?: string[]; errors?: Record<string, string>; message?: string };
    const parts = [...(body.errorMessages ?? []), ...Object.entries(body.errors ?? {}).map(([k, v]) => `${k}: ${v}`)];
    if (body.message) parts.push(body.message);
    if (parts.length) return parts.join('; ');
  } catch {
    // not JSON
  }
  return String(res.body ?? '').slice(0, 300);
}

async function call(method: 'GET' | 'POST', url: string, auth: string, json?: unknown): Promise<any> {
  let res: Response<string>;
  try {
    res = await got(url, { method, json, headers: { authorization: auth, accept: 'application/json' }, timeout: { request: 15_000 }, retry: { limit: 0 }, throwHttpErrors: false });
  } catch (err) {
    throw ApplicationFailure.retryable(`jira ${method} ${new URL(url).pathname}: ${(err as Error).message}`, 'Unreachable');
  }
  if (res.statusCode >= 400) failForStatus(`jira ${method} ${new URL(url).pathname}`, res, apiMessage(res), 'JiraRefused');
  return res.body ? JSON.parse(res.body) : {};
}

/** The comment marker: per attempt; releases of older code (no attempt) keep the marker they had. */
export function jiraMarker(input: Pick<JiraInput, 'releaseId' | 'attempt' | 'outcome'>): string {
  return input.attempt === undefined ? `[shipyard:${input.releaseId}:${input.outcome}]` : `[shipyard:${input.releaseId}:${input.attempt}:${input.outcome}]`;
}

export async function updateJira(input: JiraInput, settings: BuildSettings): Promise<{ issues: string[] }> {
  checkEgress(input.jira.baseUrl, 'jira');
  const auth = authHeader(input.jira.credentialsEnv);
  const base = input.jira.baseUrl.replace(/\/+$/, '');
  // Histories recorded before the scan moved to the build worker give no issues: scan here, as then.
  const keys = input.issues ?? (await scanJiraIssues(input, settings)).issues;
  const marker = jiraMarker(input);
  for (const key of keys) {
    const issue = `${base}/rest/api/2/issue/${encodeURIComponent(key)}`;
    const comments = await call('GET', `${issue}/comment?maxResults=100&orderBy=-created`, auth);
    if (!(comments.comments ?? []).some((c: { body?: string }) => String(c.body ?? '').includes(marker))) {
      const env = input.environment ? ` to ${input.environment}` : '';
      await call('POST', `${issue}/comment`, auth, {
        body: `Release ${input.version} of ${input.service}${env}: ${input.outcome}. Commit ${input.commit.slice(0, 12)}. ${marker}`,
      });
    }
    if (input.outcome === 'succeeded' && input.jira.transition) {
      const current = await call('GET', `${issue}?fields=status`, auth);
      if (current.fields?.status?.name !== input.jira.transition) {
        const { transitions = [] } = await call('GET', `${issue}/transitions`, auth);
        const t = transitions.find((x: { name: string; to?: { name?: string } }) => x.name === input.jira.transition || x.to?.name === input.jira.transition);
        if (!t) throw ApplicationFailure.nonRetryable(`jira: ${key} has no transition '${input.jira.transition}' (available: ${transitions.map((x: { name: string }) => x.name).join(', ')})`, 'JiraRefused');
        await call('POST', `${issue}/transitions`, auth, { transition: { id: t.id } });
      }
    }
  }
  return { issues: keys };
}
