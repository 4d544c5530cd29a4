// allowedRefs, checked against the repository: a trigger's ref is a claim (anyone starting a release
// can say `--ref refs/tags/v9`); the release may only use it when the repository agrees that the ref
// points at the released commit. Read-only: `git ls-remote`, safe to repeat.
import { tmpdir } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';
import { redactText } from '../exec.js';
import type { RefCheckInput, RefCheckResult } from '../types.js';
import { isCancelled, runGit } from './source.js';
import type { BuildSettings } from './settings.js';

/** The commit `ref` names in `ls-remote` output: the peeled commit of an annotated tag, else the ref's own. */
export function commitOfRef(lsRemote: string, ref: string): string | undefined {
  const rows = lsRemote.split('\n').map((l) => l.trim().split(/\s+/)).filter((r) => r.length === 2);
  return rows.find(([, name]) => name === `${ref}^{}`)?.[0] ?? rows.find(([, name]) => name === ref)?.[0];
}

export async function verifyRef(input: RefCheckInput, settings: BuildSettings): Promise<RefCheckResult> {
  if (!/^refs\/[A-Za-z0-9._/+-]+$/.test(input.ref) || input.ref.includes('..')) {
    throw ApplicationFailure.nonRetryable(`'${input.ref}' is not a full git ref name (refs/heads/..., refs/tags/...)`, 'RefMismatch');
  }
  let out: string;
  try {
    out = await runGit(tmpdir(), ['ls-remote', '--', input.repo, input.ref, `${input.ref}^{}`], settings);
  } catch (err) {
    if (isCancelled(err)) throw err;
    throw ApplicationFailure.retryable(`git ls-remote ${redactText(input.repo)} failed: ${redactText((err as Error).message).slice(0, 300)}`, 'SourceUnavailable');
  }
  const commit = commitOfRef(out, input.ref);
  if (!commit) throw ApplicationFailure.nonRetryable(`${input.ref} does not exist in ${redactText(input.repo)}`, 'RefMismatch');
  if (commit !== input.commit) {
    throw ApplicationFailure.nonRetryable(`${input.ref} points at ${commit.slice(0, 12)} in ${redactText(input.repo)}, not at the released commit ${input.commit.slice(0, 12)}`, 'RefMismatch');
  }
  return { ref: input.ref, commit };
}
