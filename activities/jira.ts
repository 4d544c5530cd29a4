// JIRA: find the issue keys in the commit messages of a release, comment the outcome on each and,
// when it succeeded, move them through the configured transition (e.g. Done).
// Idempotent by checking before acting: a comment carries a [shipyard:<release>:<outcome>] marker
// and is not posted twice; an issue already in the target status is not transitioned again.
// 429 honours Retry-After (as the activity's next retry delay), 5xx retries, other 4xx fail with
// the API's message. Credentials come from an environment variable; they never enter history.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import got, { type Response } from 'got';
import { SA } from '../workflows/search-attributes.js';
import { checkout } from './build/source.js';
import { gitFor } from './build/source.js';
import type { BuildSettings } from './build/settings.js';
import { failForStatus } from './notify/http.js';
import type { JiraInput } from './types.js';

const ISSUE_KEY = /\b([A-Z][A-Z0-9_]{1,9}-\d{1,7})\b/g;

export function issueKeys(messages: string[]): string[] {
  const keys = new Set<string>();
  for (const m of messages) for (const match of m.matchAll(ISSUE_KEY)) keys.add(match[1]);
  return [...keys];
}

function authHeader(credentialsEnv: string): string {
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

/** The commit of the last succeeded release of this service before this one, from visibility. */
async function previousReleaseCommit(service: string, commit: string): Promise<string | undefined> {
  let client;
  try {
    client = Context.current().client;
  } catch {
    return undefined;
  }
  const query = `${SA.service.name} = '${service}' AND ${SA.outcome.name} = 'succeeded' AND ${SA.commit.name} != '${commit}'`;
  for await (const w of client.workflow.list({ query, pageSize: 1 })) return w.typedSearchAttributes.get(SA.commit);
  return undefined;
}

/** Messages of the commits this release brings: since the previous successful release, at most 50. */
export async function releaseMessages(input: JiraInput, settings: BuildSettings): Promise<string[]> {
  const dir = await checkout(input.repo, input.commit, input.service, settings);
  const git = gitFor(dir, settings);
  const previous = await previousReleaseCommit(input.service, input.commit);
  if (previous) await git.fetch(['--depth', '50', 'origin', input.commit]).catch(() => undefined);
  const range = previous ? [`${previous}..${input.commit}`] : ['-n', '1', input.commit];
  const out = await git.raw(['log', '--format=%B%x00', '-n', '50', ...range]).catch(() => git.raw(['log', '--format=%B%x00', '-n', '1', input.commit]));
  return out.split('\0').map((m) => m.trim()).filter(Boolean);
}

export async function updateJira(input: JiraInput, settings: BuildSettings): Promise<{ issues: string[] }> {
  const auth = authHeader(input.jira.credentialsEnv);
  const base = input.jira.baseUrl.replace(/\/+$/, '');
  const keys = input.jira.issueFromCommit ? issueKeys(await releaseMessages(input, settings)) : [];
  const marker = `[shipyard:${input.releaseId}:${input.outcome}]`;
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
