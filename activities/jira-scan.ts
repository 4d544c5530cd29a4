// The JIRA issue keys a release brings: found in the messages of the commits since the service's
// last successful release. Runs on the build worker (scanJiraIssues), where the source checkout is;
// the deploy worker's updateJira only talks to JIRA. Read-only; the git work heartbeats.
import { Context } from '@temporalio/activity';
import { SA } from '../workflows/search-attributes.js';
import { checkout, gitFor, heartbeatWhile, isCancelled, runGit } from './build/source.js';
import type { BuildSettings } from './build/settings.js';
import type { JiraScanInput } from './types.js';

const ISSUE_KEY = /\b([A-Z][A-Z0-9_]{1,9}-\d{1,7})\b/g;

export function issueKeys(messages: string[]): string[] {
  const keys = new Set<string>();
  for (const m of messages) for (const match of m.matchAll(ISSUE_KEY)) keys.add(match[1]);
  return [...keys];
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
export async function releaseMessages(input: Pick<JiraScanInput, 'repo' | 'commit' | 'service'>, settings: BuildSettings): Promise<string[]> {
  const dir = await checkout(input.repo, input.commit, input.service, settings);
  const git = gitFor(dir, settings);
  const previous = await heartbeatWhile(previousReleaseCommit(input.service, input.commit), 'last successful release');
  if (previous) {
    // The checkout is shallow: deepen it to see the range (best effort; a cancel still ends it).
    await runGit(dir, ['fetch', '--quiet', '--depth', '50', 'origin', input.commit], settings).catch((err) => {
      if (isCancelled(err)) throw err;
    });
  }
  const range = previous ? [`${previous}..${input.commit}`] : ['-n', '1', input.commit];
  const out = await git.raw(['log', '--format=%B%x00', '-n', '50', ...range]).catch(() => git.raw(['log', '--format=%B%x00', '-n', '1', input.commit]));
  return out.split('\0').map((m) => m.trim()).filter(Boolean);
}

export async function scanJiraIssues(input: JiraScanInput, settings: BuildSettings): Promise<{ issues: string[] }> {
  if (!input.jira.issueFromCommit) return { issues: [] };
  return { issues: issueKeys(await releaseMessages(input, settings)) };
}
