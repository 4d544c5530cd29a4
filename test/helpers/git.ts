// Real git repositories for tests: a working copy and a bare "remote" in a temp dir.
import { cpSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleGit } from 'simple-git';

export const EXAMPLE_SERVICE = fileURLToPath(new URL('../../../examples/service', import.meta.url));

export interface TestRepo {
  /** Working copy. */
  work: string;
  /** Bare remote, as a file:// URL (what a release spec points at). */
  url: string;
  bare: string;
  /** Commits the working copy's changes and pushes; returns the commit hash. */
  commit(message: string, files?: Record<string, string>): Promise<string>;
}

const AUTHOR = ['-c', 'user.name=Shipyard Test', '-c', 'user.email=test@shipyard.invalid'];

/** A repository seeded with a copy of `seedDir` (default: the example Go service), pushed to a bare remote. */
export async function createRepo(seedDir: string | null = EXAMPLE_SERVICE, branch = 'main'): Promise<TestRepo> {
  const root = mkdtempSync(join(tmpdir(), 'repo-'));
  const work = join(root, 'work');
  const bare = join(root, 'remote.git');
  mkdirSync(work);
  if (seedDir) cpSync(seedDir, work, { recursive: true });
  await simpleGit().raw(['init', '--bare', '--initial-branch', branch, bare]);
  const git = simpleGit(work);
  await git.raw(['init', '--initial-branch', branch]);
  await git.addRemote('origin', bare);
  const repo: TestRepo = {
    work,
    bare,
    url: `file://${bare}`,
    async commit(message, files = {}) {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(work, path)), { recursive: true });
        writeFileSync(join(work, path), content);
      }
      await git.add('.');
      await git.raw([...AUTHOR, 'commit', '--allow-empty', '-q', '-m', message]);
      await git.push('origin', branch);
      return (await git.revparse(['HEAD'])).trim();
    },
  };
  return repo;
}
