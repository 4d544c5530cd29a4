// Shipyard's commits in a config repository, read back by their trailers. Every config commit
// carries `Shipyard-Release: <release>#<environment>[/promote]` and `Shipyard-Attempt: <attempt>`;
// its revert carries `Shipyard-Revert: <same key>` and the same attempt. Trailers are parsed by git
// (%(trailers)) and compared as whole values: `…#prod` never matches `…#prod-eu`, and a release ID
// never matches inside a longer one, as a --grep on the message would.
import type { SimpleGit } from 'simple-git';
import type { GitOpsInput } from '../types.js';

export interface GitOpsSettings {
  askpass?: string;
}

/** Shipyard's identity on config commits. */
export const AUTHOR = ['-c', 'user.name=Shipyard', '-c', 'user.email=shipyard@localhost'];

export const TRAILER = { release: 'Shipyard-Release', revert: 'Shipyard-Revert', attempt: 'Shipyard-Attempt', previousTag: 'Shipyard-Previous-Tag' } as const;

export interface ConfigCommit {
  sha: string;
  parents: string[];
  /** Values of the Shipyard-Release / Shipyard-Revert / Shipyard-Attempt trailers. */
  releases: string[];
  reverts: string[];
  attempts: string[];
  previousTag: string | null;
  body: string;
}

/** The trailer key of this input: one per release, environment and purpose. */
export function releaseKey(input: Pick<GitOpsInput, 'releaseId' | 'environment' | 'purpose'>): string {
  return `${input.releaseId}#${input.environment ?? 'all'}${input.purpose === 'promote' ? '/promote' : ''}`;
}

/** The trailer lines of a commit of this attempt (no Shipyard-Attempt for releases of older code). */
export function trailers(kind: 'release' | 'revert', key: string, attempt: string | undefined, extra: Record<string, string> = {}): string {
  const lines = [`${TRAILER[kind]}: ${key}`];
  if (attempt !== undefined) lines.push(`${TRAILER.attempt}: ${attempt}`);
  for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${v}`);
  return lines.join('\n');
}

const FIELD = '%x1f';
const LIST = 'valueonly,separator=%x1e';
const FORMAT = ['%H', '%P', ...[TRAILER.release, TRAILER.revert, TRAILER.attempt, TRAILER.previousTag].map((k) => `%(trailers:key=${k},${LIST})`), '%B'].join(FIELD) + '%x00';

/** The commits reachable from `rev`, newest first (`firstParent`: the branch's own line only). */
export async function readHistory(git: SimpleGit, rev = 'HEAD', firstParent = false): Promise<ConfigCommit[]> {
  const out = await git.raw(['log', `--format=${FORMAT}`, ...(firstParent ? ['--first-parent'] : []), rev, '--']);
  const list = (s: string) => s.split('\x1e').map((v) => v.trim()).filter(Boolean);
  return out
    .split('\0')
    .map((r) => r.replace(/^\n/, ''))
    .filter((r) => r.trim())
    .map((r) => {
      const [sha, parents, releases, reverts, attempts, previous, ...body] = r.split('\x1f');
      const previousTag = list(previous)[0] ?? null;
      return {
        sha: sha.trim(),
        parents: parents.trim().split(' ').filter(Boolean),
        releases: list(releases),
        reverts: list(reverts),
        attempts: list(attempts),
        previousTag: previousTag === 'none' ? null : previousTag,
        body: body.join('\x1f'),
      };
    });
}

/**
 * Whether `commit` is this attempt's release commit (`kind` release) or its revert (`kind` revert).
 * Without an attempt (a release started by older code) only commits without a Shipyard-Attempt match.
 */
export function isOwn(commit: ConfigCommit, kind: 'release' | 'revert', key: string, attempt: string | undefined): boolean {
  if (!(kind === 'release' ? commit.releases : commit.reverts).includes(key)) return false;
  return attempt === undefined ? commit.attempts.length === 0 : commit.attempts.includes(attempt);
}

/** The commit a `git revert` commit reverts ("This reverts commit <sha>"), if it says. */
export function revertedCommit(commit: ConfigCommit): string | undefined {
  return /This reverts commit ([0-9a-f]{40})/.exec(commit.body)?.[1];
}
