// Resolving the commit a release is started with to its full hash, so that `--commit 1a2b3c4` and
// `--commit 1a2b3c4d5e...` are one release (one workflow ID), not two running side by side.
// A full hash needs no git at all (the gateway always sends full ones). A short one is looked up
//   1. in the caller's git checkout (the CLI's working directory, e.g. Jenkins' workspace), if it
//      has the commit;
//   2. else in the spec's source repository: a local path directly, a URL through a temporary
//      commits-only partial clone (--filter=tree:0: commit objects, no trees or blobs).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShipyardUsageError } from './errors.js';
import { isFullCommit, validateCommit } from './release-id.js';

export interface ResolveCommitOptions {
  /** The spec's source.repo: a URL, or a path (spec/load.ts made it absolute). */
  repo: string;
  /** A git checkout to look in first (the CLI passes its working directory). */
  checkout?: string;
  /** Limit for each git command, the partial clone included. */
  timeoutMs?: number;
}

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Lookup = { found: string } | { ambiguous: string[] } | { missing: string };

const GIT_ENV = {
  // Never wait for a password nobody will type.
  GIT_TERMINAL_PROMPT: '0',
  GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
  // A partial clone may fetch missing objects on demand; a name lookup must not (git >= 2.45).
  GIT_NO_LAZY_FETCH: '1',
};

function git(args: string[], timeoutMs: number): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { env: { ...process.env, ...GIT_ENV }, timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new ShipyardUsageError('git is not installed: it is needed to resolve a short commit hash (or pass the full 40-hex commit)'));
        return;
      }
      if (err && (err as { killed?: boolean }).killed) {
        reject(new Error(`git ${args.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ')} did not finish in ${timeoutMs / 1000}s`));
        return;
      }
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Looks `short` up as a commit in the repository at `gitDir` (a work tree or a bare repo). */
async function lookup(gitDir: string, short: string, timeoutMs: number): Promise<Lookup> {
  // Without --quiet git names the candidates of an ambiguous prefix on stderr.
  const r = await git(['-C', gitDir, 'rev-parse', '--verify', `${short}^{commit}`], timeoutMs);
  const full = r.stdout.trim();
  if (r.code === 0 && isFullCommit(full)) return { found: full };
  if (/is ambiguous/.test(r.stderr)) {
    const candidates = [...r.stderr.matchAll(/^hint:\s+([0-9a-f]{7,})\s+(commit|tag)\b(.*)$/gm)].map((m) => `${m[1]} ${m[2]}${m[3]}`.trim());
    return { ambiguous: candidates };
  }
  return { missing: r.stderr.trim().split('\n').pop() ?? '' };
}

/** A git location that is a local path rather than a URL (https://, ssh://, file://, git@host:repo). */
export function isLocalRepo(repo: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) && !/^[^/\s]+@[^/\s]+:/.test(repo);
}

/** Credentials in a URL never reach an error message. */
function safeUrl(repo: string): string {
  return repo.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@');
}

function ambiguousError(short: string, where: string, candidates: string[]): ShipyardUsageError {
  const list = candidates.length ? `: ${candidates.join('; ')}` : '';
  return new ShipyardUsageError(`commit '${short}' is ambiguous in ${where}${list}; give more digits or the full commit hash`);
}

/**
 * The full hash of `commit`, lowercase. Unknown or ambiguous short hashes are usage errors; a
 * source repository that cannot be fetched is an error naming it.
 */
export async function resolveCommit(commit: string, opts: ResolveCommitOptions): Promise<string> {
  const short = String(commit).trim().toLowerCase();
  validateCommit(short);
  if (isFullCommit(short)) return short;
  const timeoutMs = opts.timeoutMs ?? 180_000;

  if (opts.checkout) {
    const local = await lookup(opts.checkout, short, timeoutMs);
    if ('found' in local) return local.found;
    if ('ambiguous' in local) throw ambiguousError(short, `the git checkout ${opts.checkout}`, local.ambiguous);
    // Not a checkout, or one without the commit (another repository, a shallow clone): ask the source.
  }

  const repo = opts.repo;
  if (isLocalRepo(repo)) {
    if (!existsSync(repo)) throw new ShipyardUsageError(`cannot resolve commit '${short}': the spec's source repository ${repo} does not exist; pass the full commit hash`);
    const found = await lookup(repo, short, timeoutMs);
    if ('found' in found) return found.found;
    if ('ambiguous' in found) throw ambiguousError(short, repo, found.ambiguous);
    throw new ShipyardUsageError(`commit '${short}' is not a commit of ${repo}${found.missing.includes('not a git repository') ? ' (not a git repository)' : ''}`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'shipyard-commit-'));
  try {
    const bare = join(dir, 'source.git');
    // Commits only (tree:0); branches and tags, which is where a commit someone releases lives.
    const clone = await git(['clone', '--bare', '--quiet', '--filter=tree:0', '--', repo, bare], timeoutMs);
    if (clone.code !== 0) {
      const reason = clone.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('warning:')).pop() ?? `git exited ${clone.code}`;
      throw new Error(`cannot resolve commit '${short}': fetching ${safeUrl(repo)} failed (${safeUrl(reason.trim())}); pass the full commit hash`);
    }
    const found = await lookup(bare, short, timeoutMs);
    if ('found' in found) return found.found;
    if ('ambiguous' in found) throw ambiguousError(short, safeUrl(repo), found.ambiguous);
    throw new ShipyardUsageError(`commit '${short}' is not on any branch or tag of ${safeUrl(repo)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
