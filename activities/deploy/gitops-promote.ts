// Promotion by merge (gitops.promoteFrom): the environment branch takes the previous environment's
// branch (dev -> test -> prod) as ONE merge commit, also after an earlier promotion was reverted.
//
// Why not a plain `git merge`: the undo of a promotion reverts its merge, but the merged commits stay
// ancestors of the branch. A new attempt would then find `rev-list HEAD..origin/<from>` empty, think
// the branch already promoted, and deploy nothing. So, as git's own advice for re-merging after a
// reverted merge (Documentation/howto/revert-a-faulty-merge.txt), the reverts of promotion merges
// made since the branch's last promotion merge are reverted first ("revert the revert"), then
// origin/<from> is merged for whatever is newer. Reverting the reverts brings back exactly what those
// promotions brought, with every other file of the environment as it is now; comparing files between
// the branches could not tell the environment's own differences from reverted promotions.
// The result is committed as one merge commit (parents: the branch as it was, origin/<from>), so the
// attempt has exactly one commit and its undo (`git revert -m 1`) takes all of it back; and a later
// attempt finds that revert after the last promotion merge and reverts it in turn.
import { ApplicationFailure } from '@temporalio/common';
import type { SimpleGit } from 'simple-git';
import { runGit } from '../build/source.js';
import { AUTHOR, readHistory, revertedCommit, type ConfigCommit, type GitOpsSettings } from './gitops-history.js';

export interface MergePromotion {
  git: SimpleGit;
  dir: string;
  from: string;
  branch: string;
  /** Message of the promotion commit (with its trailers). */
  message: string;
  settings: GitOpsSettings;
}

/** A promotion merge Shipyard made on `branch` from `from` (also those of releases before attempts). */
function isPromotionMerge(c: ConfigCommit, from: string, branch: string): boolean {
  return c.parents.length > 1 && c.releases.length > 0 && c.body.includes(`\nPromote ${from} into ${branch}.\n`);
}

/**
 * The reverts to revert before merging: Shipyard's reverts of promotion merges from `from`, on the
 * branch's own line after its last promotion merge (an earlier revert was already re-applied by that
 * merge, or that merge was itself reverted, and then its revert is the one listed). Newest first.
 */
export function revertsToReapply(line: ConfigCommit[], from: string, branch: string): ConfigCommit[] {
  const bySha = new Map(line.map((c) => [c.sha, c]));
  const out: ConfigCommit[] = [];
  for (const c of line) {
    if (isPromotionMerge(c, from, branch)) break;
    const target = c.reverts.length ? bySha.get(revertedCommit(c) ?? '') : undefined;
    if (target && isPromotionMerge(target, from, branch)) out.push(c);
  }
  return out;
}

async function step(git: SimpleGit, args: string[], what: string, from: string, branch: string): Promise<void> {
  try {
    await git.raw([...AUTHOR, ...args]);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`promotion of ${from} into ${branch} ${what}: ${(err as Error).message.slice(0, 200)}`, 'MergeConflict');
  }
}

/** Makes the promotion commit on the checked-out branch; false when the branch already has everything of `from`. */
export async function promoteByMerge({ git, dir, from, branch, message, settings }: MergePromotion): Promise<boolean> {
  await runGit(dir, ['fetch', '--quiet', 'origin', `+refs/heads/${from}:refs/remotes/origin/${from}`], settings);
  const source = `origin/${from}`;
  const start = (await git.revparse(['HEAD'])).trim();
  const startTree = (await git.revparse(['HEAD^{tree}'])).trim();
  const reapply = revertsToReapply(await readHistory(git, 'HEAD', true), from, branch);
  const behind = Number((await git.raw(['rev-list', '--count', `HEAD..${source}`])).trim());
  if (behind === 0 && reapply.length === 0) return false;
  if (reapply.length) {
    await step(git, ['revert', '--no-commit', ...reapply.map((c) => c.sha)], 'cannot re-apply the reverted promotion', from, branch);
    // Only a step: the promotion commit below takes its tree.
    await step(git, ['commit', '--quiet', '--allow-empty', '-m', 'reapply reverted promotions'], 'cannot re-apply the reverted promotion', from, branch);
  }
  if (behind > 0) await step(git, ['merge', '--quiet', '--no-ff', '--no-edit', source], 'does not merge cleanly', from, branch);
  const tree = (await git.revparse(['HEAD^{tree}'])).trim();
  if (behind === 0 && tree === startTree) {
    // The reverted content is back already (changed by hand): nothing to promote.
    await git.raw(['reset', '--quiet', '--hard', start]);
    return false;
  }
  const commit = (await git.raw([...AUTHOR, 'commit-tree', tree, '-p', start, '-p', source, '-m', message])).trim();
  await git.raw(['reset', '--quiet', '--hard', commit]);
  return true;
}
