// Ancestry in the config repository, for Argo CD health: an Application synced at a later revision
// of the shared config branch still runs the release's config commit if that commit is an ancestor
// (`git merge-base --is-ancestor`). One clone per activity call (commits and refs only, no trees or
// blobs where the server supports partial clone), fetched again only when a revision is not in it
// yet; answers are memoized. Credentials come from the worker's GIT_ASKPASS, as for the GitOps deployer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { redactText, run } from '../exec.js';
import type { GitOpsSettings } from './gitops.js';

const SHA = /^[0-9a-f]{7,64}$/i;

export class ConfigHistory {
  private dir: string | undefined;
  private readonly memo = new Map<string, boolean>();

  constructor(
    readonly repo: string,
    private readonly settings: GitOpsSettings = {},
  ) {}

  /** Whether `descendant` is `ancestor` or contains it. Revisions that are not commit hashes, or not in the repository, do not. */
  async contains(descendant: string, ancestor: string): Promise<boolean> {
    if (descendant === ancestor) return true;
    if (!SHA.test(descendant) || !SHA.test(ancestor)) return false;
    const key = `${ancestor}..${descendant}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    await this.ensure(descendant, ancestor);
    let answer = false;
    if ((await this.has(descendant)) && (await this.has(ancestor))) {
      const r = await this.git(['merge-base', '--is-ancestor', ancestor, descendant]);
      if (r.code !== 0 && r.code !== 1) throw ApplicationFailure.retryable(`git merge-base in the config repo: ${r.stderr.trim().slice(0, 200)}`, 'SourceUnavailable');
      answer = r.code === 0;
    }
    this.memo.set(key, answer);
    return answer;
  }

  /** Removes the clone; the object may be used again afterwards (it clones anew). */
  cleanup(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.memo.clear();
  }

  /** Clones on first use; fetches again when a revision is missing (the branch moved on since). */
  private async ensure(...revisions: string[]): Promise<void> {
    if (!this.dir) {
      const dir = mkdtempSync(join(tmpdir(), 'config-history-'));
      const r = await run('git', ['clone', '--quiet', '--bare', '--filter=tree:0', '--', this.repo, dir], { env: this.env() });
      if (r.code !== 0) {
        rmSync(dir, { recursive: true, force: true });
        throw ApplicationFailure.retryable(`cannot fetch config repo ${redactText(this.repo)} to check Argo CD's revision: ${firstFatal(r.stderr)}`, 'SourceUnavailable');
      }
      this.dir = dir;
      return;
    }
    const missing = [];
    for (const rev of revisions) if (!(await this.has(rev))) missing.push(rev);
    if (!missing.length) return;
    const r = await this.git(['fetch', '--quiet', 'origin', '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*']);
    if (r.code !== 0) throw ApplicationFailure.retryable(`cannot fetch config repo ${redactText(this.repo)}: ${firstFatal(r.stderr)}`, 'SourceUnavailable');
  }

  private async has(rev: string): Promise<boolean> {
    return (await this.git(['cat-file', '-e', `${rev}^{commit}`])).code === 0;
  }

  private git(args: string[]) {
    return run('git', ['--git-dir', this.dir!, ...args], { env: this.env() });
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
    if (this.settings.askpass) env.GIT_ASKPASS = this.settings.askpass;
    return env;
  }
}

function firstFatal(stderr: string): string {
  const text = redactText(stderr);
  return (text.split('\n').find((l) => /fatal|error/i.test(l)) ?? text).trim().slice(0, 200);
}
