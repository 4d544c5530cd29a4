// When a released commit was made: the start of a change's lead time (DORA metrics, client/dora.ts).
// Best effort everywhere: an unknown time leaves the trigger's commitTime unset, it never stops a start.
import { execFile } from 'node:child_process';
import type { Trigger } from '../workflows/types.js';
import { isLocalRepo } from './commit.js';

/** Before 1970 or past 9999 is a broken clock or a forged payload, not a commit time. */
const LATEST = 253_402_300_799_000;

/** `v` as ISO 8601 UTC when it is a date (a webhook payload's timestamp, --commit-time), else undefined. */
export function commitTimeOf(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > 64) return undefined;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms) || ms < 0 || ms > LATEST) return undefined;
  return new Date(ms).toISOString();
}

/**
 * The committer date of `commit` (`git show -s --format=%cI`) in the first of `gitDirs` that has it;
 * undefined when none does, git is missing, or it takes longer than `timeoutMs`.
 */
export async function commitTimeIn(gitDirs: string[], commit: string, timeoutMs = 10_000): Promise<string | undefined> {
  if (!/^[0-9a-f]{40}$/.test(commit)) return undefined;
  for (const dir of gitDirs) {
    const out = await new Promise<string | undefined>((resolve) => {
      execFile(
        'git',
        ['-C', dir, 'show', '-s', '--format=%cI', `${commit}^{commit}`, '--'],
        // Never fetch a missing object or ask for a password for a timestamp.
        { timeout: timeoutMs, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_NO_LAZY_FETCH: '1' } },
        (err, stdout) => resolve(err ? undefined : String(stdout)),
      );
    });
    const time = commitTimeOf(out?.trim());
    if (time) return time;
  }
  return undefined;
}

/**
 * The trigger with the commit's time when the caller did not give one and the local git `checkout`,
 * or the spec's source repository when it is a local path, has the commit. Only with a checkout (the
 * CLI): the gateway's payloads carry the time. Never fails: unknown leaves it unset.
 */
export async function withCommitTime(trigger: Trigger, commit: string, checkout: string | undefined, sourceRepo: string): Promise<Trigger> {
  if (trigger.commitTime || !checkout) return trigger;
  const dirs = [checkout, ...(isLocalRepo(sourceRepo) && sourceRepo !== checkout ? [sourceRepo] : [])];
  const commitTime = await commitTimeIn(dirs, commit).catch(() => undefined);
  return commitTime ? { ...trigger, commitTime } : trigger;
}
