// The GitOps deployer: change the image tag in the config repository's values file (only the bytes
// of that scalar; comments and formatting stay), commit with a message that names the release and
// says [skip ci], push; on a non-fast-forward, fetch and try again (bounded). With `promoteFrom`
// the environment branch instead merges the previous environment's branch (dev -> test -> prod;
// gitops-promote.ts). A canary promotion (purpose promote) is the same tag edit on the promotion's
// values file and path, under its own key, so its undo reverts only the promotion.
// Every commit carries `Shipyard-Release: <release>#<environment>[/promote]` and `Shipyard-Attempt:
// <attempt>` trailers (gitops-history.ts): a retry of the attempt finds its own commit instead of
// committing twice, a new attempt of the release (--retry-failed) commits anew, and the undo reverts
// exactly the attempt's commit, once.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize, isAbsolute } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { heartbeat } from '@temporalio/activity';
import { isScalar, parseDocument } from 'yaml';
import { imageTagFor } from '../../spec/version.js';
import type { SimpleGit } from 'simple-git';
import { gitFor, isCancelled, runGit } from '../build/source.js';
import { redactText } from '../exec.js';
import type { GitOpsCommit, GitOpsInput, UndoResult } from '../types.js';
import { AUTHOR, isOwn, readHistory, releaseKey, trailers, TRAILER, type GitOpsSettings } from './gitops-history.js';
import { promoteByMerge } from './gitops-promote.js';

const MAX_PUSH_ATTEMPTS = 5;

export type { GitOpsSettings };

async function clone(input: GitOpsInput, settings: GitOpsSettings): Promise<{ git: SimpleGit; dir: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'gitops-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    // The long part of every GitOps activity: it heartbeats and is killed on cancellation.
    await runGit(dir, ['clone', '--quiet', '--branch', input.gitops.branch, input.gitops.repo, '.'], settings);
  } catch (err) {
    cleanup();
    if (isCancelled(err)) throw err;
    const text = redactText((err as Error).message);
    if (/Remote branch .* not found/i.test(text)) throw ApplicationFailure.nonRetryable(`config repo ${redactText(input.gitops.repo)} has no branch ${input.gitops.branch}`, 'BranchNotFound');
    throw ApplicationFailure.nonRetryable(`cannot clone config repo ${redactText(input.gitops.repo)}: ${text.split('\n').find((l) => /fatal/.test(l)) ?? text.slice(0, 200)}`, 'SourceUnavailable');
  }
  return { git: gitFor(dir, settings), dir, cleanup };
}

/** Replaces the scalar at `path` in YAML text, touching only its bytes (comments, order, quotes stay). */
export function setYamlScalar(text: string, path: string[], value: string): { text: string; previous: string | null } {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length) throw ApplicationFailure.nonRetryable(`values file is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`, 'InvalidValuesFile');
  const node = doc.getIn(path, true);
  if (isScalar(node) && node.range) {
    const previous = node.value === null || node.value === undefined ? null : String(node.value);
    const [start, end] = node.range;
    const original = text.slice(start, end);
    const quote = original.startsWith('"') ? '"' : original.startsWith("'") ? "'" : '';
    const needsQuotes = !quote && !/^[A-Za-z0-9._\-/:@+]+$/.test(value);
    const rendered = quote ? `${quote}${value}${quote}` : needsQuotes ? JSON.stringify(value) : /^\d+(\.\d+)?$/.test(value) ? `"${value}"` : value;
    return { text: text.slice(0, start) + rendered + text.slice(end), previous };
  }
  if (node !== undefined) throw ApplicationFailure.nonRetryable(`values path ${path.join('.')} is not a scalar`, 'InvalidValuesPath');
  // The key does not exist yet: let the YAML library add it (the rest of the document keeps its comments).
  try {
    doc.setIn(path, value);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`values path ${path.join('.')}: ${(err as Error).message}`, 'InvalidValuesPath');
  }
  return { text: doc.toString(), previous: null };
}

function valuesFilePath(dir: string, file: string): string {
  const rel = normalize(file);
  if (isAbsolute(rel) || rel.startsWith('..')) throw ApplicationFailure.nonRetryable(`valuesFile '${file}' must be a path inside the config repository`, 'InvalidSpec');
  return join(dir, rel);
}

/** Pushes; on a non-fast-forward returns false so the caller starts over from a fresh clone. */
async function push(dir: string, branch: string, settings: GitOpsSettings): Promise<boolean> {
  try {
    await runGit(dir, ['push', '--quiet', 'origin', branch], settings);
    return true;
  } catch (err) {
    if (isCancelled(err)) throw err;
    const text = (err as Error).message;
    if (/non-fast-forward|fetch first|rejected|failed to push some refs/i.test(text)) return false;
    throw ApplicationFailure.retryable(`git push: ${redactText(text).slice(0, 300)}`, 'PushFailed');
  }
}

async function withRetries<T>(what: string, once: () => Promise<T | 'conflict'>): Promise<T> {
  for (let n = 1; n <= MAX_PUSH_ATTEMPTS; n++) {
    const result = await once();
    if (result !== 'conflict') return result;
    heartbeat({ [what]: `push conflict, attempt ${n}` });
    await new Promise((r) => setTimeout(r, 200 * n));
  }
  // Someone keeps pushing: let Temporal retry the activity later.
  throw ApplicationFailure.retryable(`${what}: the branch kept moving; ${MAX_PUSH_ATTEMPTS} pushes were rejected`, 'PushConflict');
}

export async function gitopsUpdate(input: GitOpsInput, settings: GitOpsSettings = {}): Promise<GitOpsCommit> {
  const { gitops } = input;
  const key = releaseKey(input);
  const promotion = input.purpose === 'promote';
  const environment = input.environment ?? 'all';
  const tag = input.image?.tag ?? imageTagFor(input.version);
  const result = (commit: string | null, previousTag: string | null): GitOpsCommit => ({ repo: gitops.repo, branch: gitops.branch, commit, previousTag });
  return withRetries('gitops update', async () => {
    const { git, dir, cleanup } = await clone(input, settings);
    try {
      const mine = (await readHistory(git)).find((c) => isOwn(c, 'release', key, input.attempt));
      if (mine) return result(mine.sha, mine.previousTag);
      let previousTag: string | null = null;
      // A promotion (purpose promote) is always the tag edit on the promotion's values file and path,
      // also on a branch that receives deploys by merge: the stable tag is this environment's own.
      if (gitops.promoteFrom && !promotion) {
        const subject = `deploy(${input.service}): ${input.version} to ${environment} [skip ci]`;
        const message = `${subject}\n\nPromote ${gitops.promoteFrom} into ${gitops.branch}.\n\n${trailers('release', key, input.attempt, { [TRAILER.previousTag]: 'none' })}`;
        if (!(await promoteByMerge({ git, dir, from: gitops.promoteFrom, branch: gitops.branch, message, settings }))) return result(null, null);
      } else {
        const file = valuesFilePath(dir, gitops.valuesFile);
        if (!existsSync(file)) throw ApplicationFailure.nonRetryable(`values file ${gitops.valuesFile} is not in ${redactText(gitops.repo)} ${gitops.branch}`, 'ValuesFileNotFound');
        const before = readFileSync(file, 'utf8');
        const { text, previous } = setYamlScalar(before, gitops.imageTagPath.split('.'), tag);
        previousTag = previous;
        if (previous === tag) return result(null, previous);
        writeFileSync(file, text);
        await git.add(gitops.valuesFile);
        const subject = promotion ? `promote(${input.service}): ${input.version} to stable in ${environment} [skip ci]` : `deploy(${input.service}): ${input.version} to ${environment} [skip ci]`;
        const message = `${subject}\n\n${gitops.valuesFile} ${gitops.imageTagPath}: ${previous ?? '(unset)'} -> ${tag}\nCommit: ${input.commit}\n\n${trailers('release', key, input.attempt, { [TRAILER.previousTag]: previous ?? 'none' })}`;
        await git.raw([...AUTHOR, 'commit', '--quiet', '-m', message]);
      }
      const head = (await git.revparse(['HEAD'])).trim();
      if (!(await push(dir, gitops.branch, settings))) return 'conflict';
      return result(head, previousTag);
    } finally {
      cleanup();
    }
  });
}

/**
 * Reverts this attempt's commit (the promotion's own with purpose promote), once. `unchanged` when
 * the attempt committed nothing on the branch or its commit is already reverted; `skipped` when the
 * branch is gone.
 */
export async function gitopsRevert(input: GitOpsInput, settings: GitOpsSettings = {}): Promise<UndoResult> {
  const { gitops } = input;
  const key = releaseKey(input);
  const where = `${redactText(gitops.repo)} ${gitops.branch}`;
  const who = input.attempt === undefined ? key : `${key} attempt ${input.attempt}`;
  return withRetries<UndoResult>('gitops revert', async () => {
    let repo: Awaited<ReturnType<typeof clone>>;
    try {
      repo = await clone(input, settings);
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === 'BranchNotFound') return { result: 'skipped', detail: `branch ${gitops.branch} no longer exists in ${redactText(gitops.repo)}: nothing of ${who} to revert` };
      throw err;
    }
    const { git, dir, cleanup } = repo;
    try {
      const history = await readHistory(git);
      const mine = history.find((c) => isOwn(c, 'release', key, input.attempt));
      if (!mine) return { result: 'unchanged', detail: `${who} made no config commit on ${where}: nothing to revert` };
      const reverted = history.find((c) => isOwn(c, 'revert', key, input.attempt));
      if (reverted) return { result: 'unchanged', detail: `config commit ${mine.sha} of ${who} is already reverted by ${reverted.sha} on ${where}` };
      try {
        await git.raw([...AUTHOR, 'revert', '--no-edit', ...(mine.parents.length > 1 ? ['-m', '1'] : []), mine.sha]);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`git revert of ${mine.sha.slice(0, 12)} conflicts with later changes on ${gitops.branch}: ${(err as Error).message.slice(0, 200)}`, 'RevertConflict');
      }
      const body = (await git.raw(['log', '-1', '--format=%B'])).trim().split('\n');
      const message = `${body[0]} [skip ci]\n\n${body.slice(1).join('\n').trim()}\n\n${trailers('revert', key, input.attempt)}`;
      await git.raw([...AUTHOR, 'commit', '--quiet', '--amend', '-m', message]);
      const head = (await git.revparse(['HEAD'])).trim();
      if (!(await push(dir, gitops.branch, settings))) return 'conflict';
      return { result: 'undone', detail: `config commit ${mine.sha} of ${who} reverted by ${head} on ${where}` };
    } finally {
      cleanup();
    }
  });
}
