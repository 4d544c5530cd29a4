// The GitOps deployer: change the image tag in the config repository's values file (only the bytes
// of that scalar; comments and formatting stay), commit with a message that names the release and
// says [skip ci], push; on a non-fast-forward, fetch and try again (bounded). With `promoteFrom`
// the environment branch instead merges the previous environment's branch (dev -> test -> prod).
// Every commit carries a `Shipyard-Release: <release>#<environment>` trailer: a retry finds its own
// commit instead of committing twice, and the undo reverts exactly that commit, once.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize, isAbsolute } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { heartbeat } from '@temporalio/activity';
import { isScalar, parseDocument } from 'yaml';
import type { SimpleGit } from 'simple-git';
import { gitFor } from '../build/source.js';
import { redactText } from '../exec.js';
import type { GitOpsCommit, GitOpsInput } from '../types.js';

const MAX_PUSH_ATTEMPTS = 5;
const AUTHOR = ['-c', 'user.name=Shipyard', '-c', 'user.email=shipyard@localhost'];

export interface GitOpsSettings {
  askpass?: string;
}

function releaseKey(input: GitOpsInput): string {
  return `${input.releaseId}#${input.environment ?? 'all'}`;
}

async function clone(input: GitOpsInput, settings: GitOpsSettings): Promise<{ git: SimpleGit; dir: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'gitops-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    await gitFor(dir, settings).raw(['clone', '--quiet', '--branch', input.gitops.branch, input.gitops.repo, '.']);
  } catch (err) {
    cleanup();
    const text = redactText((err as Error).message);
    if (/Remote branch .* not found/i.test(text)) throw ApplicationFailure.nonRetryable(`config repo ${redactText(input.gitops.repo)} has no branch ${input.gitops.branch}`, 'BranchNotFound');
    throw ApplicationFailure.nonRetryable(`cannot clone config repo ${redactText(input.gitops.repo)}: ${text.split('\n').find((l) => /fatal/.test(l)) ?? text.slice(0, 200)}`, 'SourceUnavailable');
  }
  return { git: gitFor(dir, settings), dir, cleanup };
}

/** The commit on the branch whose message carries `trailer: value`, if any. */
async function findTrailer(git: SimpleGit, trailer: string, value: string): Promise<string | undefined> {
  const out = await git.raw(['log', '--format=%H', '--fixed-strings', `--grep=${trailer}: ${value}`]);
  return out.split('\n').map((l) => l.trim()).find(Boolean);
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
async function push(git: SimpleGit, branch: string): Promise<boolean> {
  try {
    await git.push('origin', branch);
    return true;
  } catch (err) {
    const text = (err as Error).message;
    if (/non-fast-forward|fetch first|rejected|failed to push some refs/i.test(text)) return false;
    throw ApplicationFailure.retryable(`git push: ${redactText(text).slice(0, 300)}`, 'PushFailed');
  }
}

async function withRetries<T>(what: string, attempt: () => Promise<T | 'conflict'>): Promise<T> {
  for (let n = 1; n <= MAX_PUSH_ATTEMPTS; n++) {
    const result = await attempt();
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
  const tag = input.image?.tag ?? input.version;
  return withRetries('gitops update', async () => {
    const { git, dir, cleanup } = await clone(input, settings);
    try {
      const mine = await findTrailer(git, 'Shipyard-Release', key);
      if (mine) {
        const body = await git.raw(['log', '-1', '--format=%B', mine]);
        const previous = /Shipyard-Previous-Tag: (.*)/.exec(body)?.[1] ?? null;
        return { repo: gitops.repo, branch: gitops.branch, commit: mine, previousTag: previous === 'none' ? null : previous };
      }
      const subject = `deploy(${input.service}): ${input.version} to ${input.environment} [skip ci]`;
      let previousTag: string | null = null;
      if (gitops.promoteFrom) {
        await git.fetch('origin', gitops.promoteFrom);
        const behind = (await git.raw(['rev-list', '--count', `HEAD..origin/${gitops.promoteFrom}`])).trim();
        if (behind === '0') return { repo: gitops.repo, branch: gitops.branch, commit: null, previousTag: null };
        await git.raw([...AUTHOR, 'merge', '--no-ff', '-m', `${subject}\n\nPromote ${gitops.promoteFrom} into ${gitops.branch}.\n\nShipyard-Release: ${key}\nShipyard-Previous-Tag: none`, `origin/${gitops.promoteFrom}`]).catch((err) => {
          throw ApplicationFailure.nonRetryable(`promotion of ${gitops.promoteFrom} into ${gitops.branch} does not merge cleanly: ${(err as Error).message.slice(0, 200)}`, 'MergeConflict');
        });
      } else {
        const file = valuesFilePath(dir, gitops.valuesFile);
        if (!existsSync(file)) throw ApplicationFailure.nonRetryable(`values file ${gitops.valuesFile} is not in ${redactText(gitops.repo)} ${gitops.branch}`, 'ValuesFileNotFound');
        const before = readFileSync(file, 'utf8');
        const { text, previous } = setYamlScalar(before, gitops.imageTagPath.split('.'), tag);
        previousTag = previous;
        if (previous === tag) return { repo: gitops.repo, branch: gitops.branch, commit: null, previousTag: previous };
        writeFileSync(file, text);
        await git.add(gitops.valuesFile);
        const message = `${subject}\n\n${gitops.valuesFile} ${gitops.imageTagPath}: ${previous ?? '(unset)'} -> ${tag}\nCommit: ${input.commit}\n\nShipyard-Release: ${key}\nShipyard-Previous-Tag: ${previous ?? 'none'}`;
        await git.raw([...AUTHOR, 'commit', '--quiet', '-m', message]);
      }
      const head = (await git.revparse(['HEAD'])).trim();
      if (!(await push(git, gitops.branch))) return 'conflict';
      return { repo: gitops.repo, branch: gitops.branch, commit: head, previousTag };
    } finally {
      cleanup();
    }
  });
}

export async function gitopsRevert(input: GitOpsInput, settings: GitOpsSettings = {}): Promise<void> {
  const key = releaseKey(input);
  await withRetries('gitops revert', async () => {
    const { git, cleanup } = await clone(input, settings);
    try {
      const mine = await findTrailer(git, 'Shipyard-Release', key);
      if (!mine) return undefined; // this release committed nothing here
      if (await findTrailer(git, 'Shipyard-Revert', key)) return undefined; // already reverted
      const parents = (await git.raw(['log', '-1', '--format=%P', mine])).trim().split(' ');
      try {
        await git.raw([...AUTHOR, 'revert', '--no-edit', ...(parents.length > 1 ? ['-m', '1'] : []), mine]);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`git revert of ${mine.slice(0, 12)} conflicts with later changes on ${input.gitops.branch}: ${(err as Error).message.slice(0, 200)}`, 'RevertConflict');
      }
      const body = await git.raw(['log', '-1', '--format=%B']);
      await git.raw([...AUTHOR, 'commit', '--quiet', '--amend', '-m', `${body.trim().split('\n')[0]} [skip ci]\n\n${body.trim().split('\n').slice(1).join('\n').trim()}\n\nShipyard-Revert: ${key}`]);
      return (await push(git, input.gitops.branch)) ? undefined : 'conflict';
    } finally {
      cleanup();
    }
  });
}
