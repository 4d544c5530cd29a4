// The GitOps deployer per attempt, against real git (bare remotes in temp dirs): exact trailers,
// a --retry-failed attempt that deploys again after the first was reverted, promotion commits and
// their own undo, re-promotion after a reverted promotion merge, what each undo reports, and the
// long git work heartbeating and killed on cancellation (a slow ssh transport made with GIT_SSH).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { gitopsRevert, gitopsUpdate } from '../../activities/deploy/gitops.js';
import { createBuildActivities } from '../../activities/build/index.js';
import type { GitOpsCommit, GitOpsInput, UndoResult } from '../../activities/types.js';
import { createRepo, type TestRepo } from '../helpers/git.js';

const run = <T>(fn: (i: any) => Promise<T>, input: unknown) => new MockActivityEnvironment().run(fn, input) as Promise<T>;
const update = (i: GitOpsInput) => run<GitOpsCommit>(gitopsUpdate, i);
const revert = (i: GitOpsInput) => run<UndoResult>(gitopsRevert, i);
const AUTHOR = ['-c', 'user.name=Someone', '-c', 'user.email=someone@example.invalid'];

function git(repo: TestRepo, ...args: string[]): string {
  return execFileSync('git', ['--git-dir', repo.bare, ...args], { encoding: 'utf8' });
}
const file = (repo: TestRepo, branch: string, path: string) => git(repo, 'show', `${branch}:${path}`);
const count = (repo: TestRepo, branch: string) => Number(git(repo, 'rev-list', '--count', branch).trim());
const message = (repo: TestRepo, rev: string) => git(repo, 'log', '-1', '--format=%B', rev);
const parents = (repo: TestRepo, rev: string) => git(repo, 'log', '-1', '--format=%P', rev).trim().split(' ');
/** The trailers git itself parses from a commit message, as [key, value] pairs. */
const trailersOf = (repo: TestRepo, rev: string) =>
  git(repo, 'log', '-1', '--format=%(trailers:only,unfold)', rev)
    .split('\n')
    .filter(Boolean)
    .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]);

/** A commit by someone else on `branch` of the remote (through a throwaway clone). */
function commitOn(repo: TestRepo, branch: string, msg: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'other-'));
  execFileSync('git', ['clone', '--quiet', '--branch', branch, repo.url, dir]);
  for (const [p, c] of Object.entries(files)) writeFileSync(join(dir, p), c);
  execFileSync('git', ['-C', dir, 'add', '.']);
  execFileSync('git', ['-C', dir, ...AUTHOR, 'commit', '--quiet', '--allow-empty', '-m', msg]);
  execFileSync('git', ['-C', dir, 'push', '--quiet', 'origin', branch]);
  return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
}

function input(repo: TestRepo, over: Partial<GitOpsInput> = {}): GitOpsInput {
  return {
    releaseId: 'release/hello-api/all/abc1234',
    attempt: 'run-1',
    service: 'hello-api',
    version: 'v2',
    commit: 'abc1234def',
    environment: 'prod',
    gitops: { repo: repo.url, branch: 'main', valuesFile: 'prod/values.yaml', imageTagPath: 'image.tag', timeout: '1m' },
    image: null,
    ...over,
  };
}

async function configRepo(files: Record<string, string> = { 'prod/values.yaml': 'image:\n  tag: v1\n', 'eu/values.yaml': 'image:\n  tag: v1\n', 'stable/values.yaml': 'tag: v1\n' }) {
  const repo = await createRepo(null);
  await repo.commit('values', files);
  return repo;
}

describe('GitOps per attempt (real git remotes)', () => {
  test('trailers match exactly: #prod is not #prod-eu, not #prod/promote, not a mention in the body', async () => {
    const repo = await configRepo();
    const i = input(repo);
    // A message that quotes the key outside its trailer block: `git log --grep` would match it.
    await repo.commit(`notes\n\nquoted from elsewhere:\nShipyard-Release: ${i.releaseId}#prod\nShipyard-Attempt: run-1\n\nnot a trailer block`);
    const eu = await update({ ...i, environment: 'prod-eu', gitops: { ...i.gitops, valuesFile: 'eu/values.yaml' } });
    const promo = await update({ ...i, purpose: 'promote', gitops: { ...i.gitops, valuesFile: 'stable/values.yaml', imageTagPath: 'tag' } });
    assert.ok(eu.commit && promo.commit);
    const prod = await update(i);
    assert.ok(prod.commit && prod.commit !== eu.commit && prod.commit !== promo.commit, 'prod makes its own commit');
    assert.equal(file(repo, 'main', 'prod/values.yaml'), 'image:\n  tag: v2\n');
    assert.deepEqual(trailersOf(repo, prod.commit), [
      ['Shipyard-Release', `${i.releaseId}#prod`],
      ['Shipyard-Attempt', 'run-1'],
      ['Shipyard-Previous-Tag', 'v1'],
    ]);
    assert.deepEqual(trailersOf(repo, eu.commit)[0], ['Shipyard-Release', `${i.releaseId}#prod-eu`]);
    assert.deepEqual(trailersOf(repo, promo.commit)[0], ['Shipyard-Release', `${i.releaseId}#prod/promote`]);

    const undone = await revert(i);
    assert.equal(undone.result, 'undone', undone.detail);
    assert.equal(file(repo, 'main', 'prod/values.yaml'), 'image:\n  tag: v1\n');
    assert.equal(file(repo, 'main', 'eu/values.yaml'), 'image:\n  tag: v2\n', 'prod-eu stays');
    assert.equal(file(repo, 'main', 'stable/values.yaml'), 'tag: v2\n', 'the promotion stays');
    assert.deepEqual(trailersOf(repo, 'main'), [
      ['Shipyard-Revert', `${i.releaseId}#prod`],
      ['Shipyard-Attempt', 'run-1'],
    ]);
    // The #prod revert is not prod-eu's: prod-eu still reverts, once.
    assert.equal((await revert({ ...i, environment: 'prod-eu', gitops: { ...i.gitops, valuesFile: 'eu/values.yaml' } })).result, 'undone');
    assert.equal((await revert({ ...i, environment: 'prod-eu', gitops: { ...i.gitops, valuesFile: 'eu/values.yaml' } })).result, 'unchanged');
    assert.equal(file(repo, 'main', 'eu/values.yaml'), 'image:\n  tag: v1\n');
    assert.equal(file(repo, 'main', 'stable/values.yaml'), 'tag: v2\n');
  });

  test('attempt 1 deploys and is reverted; attempt 2 of the same release deploys again with a new commit', async () => {
    const repo = await configRepo();
    const a1 = input(repo, { attempt: 'run-1' });
    const a2 = input(repo, { attempt: 'run-2' });
    const start = count(repo, 'main');
    const first = await update(a1);
    const r1 = await revert(a1);
    assert.equal(r1.result, 'undone');
    assert.match(r1.detail, new RegExp(`config commit ${first.commit} of .*#prod attempt run-1 reverted by [0-9a-f]{40}`));
    assert.equal(file(repo, 'main', 'prod/values.yaml'), 'image:\n  tag: v1\n');

    const second = await update(a2);
    assert.ok(second.commit && second.commit !== first.commit, 'a new config commit');
    assert.equal(second.previousTag, 'v1');
    assert.equal(file(repo, 'main', 'prod/values.yaml'), 'image:\n  tag: v2\n');
    assert.equal(git(repo, 'rev-parse', 'main').trim(), second.commit);
    assert.equal(count(repo, 'main'), start + 3);

    // Undo of attempt 2 is attempt 2's; attempt 1's is done already.
    assert.equal((await revert(a1)).result, 'unchanged');
    assert.equal(file(repo, 'main', 'prod/values.yaml'), 'image:\n  tag: v2\n', "attempt 1's repeat undo leaves attempt 2 deployed");
    const r2 = await revert(a2);
    assert.equal(r2.result, 'undone');
    assert.equal(file(repo, 'main', 'prod/values.yaml'), 'image:\n  tag: v1\n');
    const again = await revert(a2);
    assert.equal(again.result, 'unchanged');
    assert.match(again.detail, /already reverted by [0-9a-f]{40}/);
    assert.equal(count(repo, 'main'), start + 4);
  });

  test('a repeat of the same attempt is idempotent: one commit, one revert', async () => {
    const repo = await configRepo();
    const i = input(repo);
    const start = count(repo, 'main');
    const a = await update(i);
    const b = await update(i);
    assert.equal(b.commit, a.commit);
    assert.equal(b.previousTag, 'v1');
    assert.equal(count(repo, 'main'), start + 1);
    assert.equal((await revert(i)).result, 'undone');
    assert.equal((await revert(i)).result, 'unchanged');
    assert.equal(count(repo, 'main'), start + 2);
    // The attempt's update, repeated after its undo, still finds its commit (the workflow does not deploy again in one attempt).
    assert.equal((await update(i)).commit, a.commit);
    assert.equal(count(repo, 'main'), start + 2);
  });

  test('releases of older code (no attempt) keep working, and only match commits without an attempt', async () => {
    const repo = await configRepo();
    const legacy = input(repo, { attempt: undefined });
    const old = await update(legacy);
    assert.deepEqual(trailersOf(repo, old.commit!), [
      ['Shipyard-Release', `${legacy.releaseId}#prod`],
      ['Shipyard-Previous-Tag', 'v1'],
    ]);
    assert.equal((await update(legacy)).commit, old.commit);
    assert.equal((await revert(legacy)).result, 'undone');
    // An attempt of the same release is not the legacy commit, and the other way round.
    const attempt = await update(input(repo, { attempt: 'run-9' }));
    assert.ok(attempt.commit && attempt.commit !== old.commit);
    const legacyAgain = await revert(legacy);
    assert.equal(legacyAgain.result, 'unchanged');
    assert.match(legacyAgain.detail, /already reverted/);
    assert.equal(file(repo, 'main', 'prod/values.yaml'), 'image:\n  tag: v2\n');
  });

  test('a promotion commit has its own key; its undo reverts only the promotion, not the deploy', async () => {
    const repo = await configRepo({ 'prod/values.yaml': '# canary and stable\ncanary:\n  image:\n    tag: v1\n\nstable:\n  image:\n    tag: v1\n' });
    const deploy = input(repo, { gitops: { ...input(repo).gitops, imageTagPath: 'canary.image.tag' } });
    const promote: GitOpsInput = { ...deploy, purpose: 'promote', gitops: { ...deploy.gitops, imageTagPath: 'stable.image.tag' } };
    const d = await update(deploy);
    const p = await update(promote);
    assert.ok(d.commit && p.commit && d.commit !== p.commit);
    assert.equal(p.previousTag, 'v1');
    assert.match(message(repo, p.commit), /^promote\(hello-api\): v2 to stable in prod \[skip ci\]/);
    assert.equal((await update(promote)).commit, p.commit, 'the promotion is idempotent too');
    assert.equal(file(repo, 'main', 'prod/values.yaml'), '# canary and stable\ncanary:\n  image:\n    tag: v2\n\nstable:\n  image:\n    tag: v2\n');

    const undo = await revert(promote);
    assert.equal(undo.result, 'undone');
    assert.match(undo.detail, new RegExp(`${p.commit}.*#prod/promote attempt run-1`));
    assert.equal(file(repo, 'main', 'prod/values.yaml'), '# canary and stable\ncanary:\n  image:\n    tag: v2\n\nstable:\n  image:\n    tag: v1\n');
    assert.deepEqual(trailersOf(repo, 'main')[0], ['Shipyard-Revert', `${deploy.releaseId}#prod/promote`]);
    assert.equal((await revert(promote)).result, 'unchanged');
    // The deploy's own undo is still to do, and does only the deploy.
    assert.equal((await revert(deploy)).result, 'undone');
    assert.equal(file(repo, 'main', 'prod/values.yaml'), '# canary and stable\ncanary:\n  image:\n    tag: v1\n\nstable:\n  image:\n    tag: v1\n');
  });

  test('promotion by merge: after its merge was reverted, a new attempt promotes again (and picks up newer changes)', async () => {
    const envs = await createRepo(null, 'dev');
    await envs.commit('values', { 'values.yaml': 'image:\n  tag: v1\n' });
    execFileSync('git', ['-C', envs.work, 'push', '--quiet', 'origin', 'dev:test']);
    // The test environment's own file: promotions must leave it as it is.
    commitOn(envs, 'test', 'test-only settings', { 'test-only.yaml': 'replicas: 1\n' });
    const dev = (attempt: string, version: string) => input(envs, { environment: 'dev', attempt, version, gitops: { repo: envs.url, branch: 'dev', valuesFile: 'values.yaml', imageTagPath: 'image.tag', timeout: '1m' } });
    const toTest = (attempt: string): GitOpsInput => ({ ...dev(attempt, 'v2'), environment: 'test', gitops: { ...dev(attempt, 'v2').gitops, branch: 'test', promoteFrom: 'dev' } });

    await update(dev('d1', 'v2'));
    const a1 = await update(toTest('a1'));
    assert.ok(a1.commit);
    assert.equal(file(envs, 'test', 'values.yaml'), 'image:\n  tag: v2\n');
    assert.equal((await revert(toTest('a1'))).result, 'undone');
    assert.equal(file(envs, 'test', 'values.yaml'), 'image:\n  tag: v1\n');
    assert.equal(git(envs, 'rev-list', '--count', 'test..dev').trim(), '0', 'dev is merged as far as git is concerned');

    const a2 = await update(toTest('a2'));
    assert.ok(a2.commit && a2.commit !== a1.commit, 'attempt 2 promotes again');
    assert.equal(git(envs, 'rev-parse', 'test').trim(), a2.commit);
    assert.equal(file(envs, 'test', 'values.yaml'), 'image:\n  tag: v2\n');
    assert.equal(file(envs, 'test', 'test-only.yaml'), 'replicas: 1\n');
    assert.equal(parents(envs, a2.commit).length, 2, 'one merge commit');
    assert.equal(parents(envs, a2.commit)[1], git(envs, 'rev-parse', 'dev').trim());
    assert.equal((await update(toTest('a2'))).commit, a2.commit, 'a repeat of attempt 2 finds its commit');

    // Attempt 2 reverted too; meanwhile dev moved on: attempt 3 brings both back.
    assert.equal((await revert(toTest('a2'))).result, 'undone');
    assert.equal(file(envs, 'test', 'values.yaml'), 'image:\n  tag: v1\n');
    await update(dev('d2', 'v3'));
    commitOn(envs, 'dev', 'dev adds a setting', { 'feature.yaml': 'flag: on\n' });
    const a3 = await update(toTest('a3'));
    assert.ok(a3.commit);
    assert.equal(file(envs, 'test', 'values.yaml'), 'image:\n  tag: v3\n');
    assert.equal(file(envs, 'test', 'feature.yaml'), 'flag: on\n');
    assert.equal(file(envs, 'test', 'test-only.yaml'), 'replicas: 1\n');
    assert.equal(git(envs, 'diff', 'dev', 'test', '--name-only').trim(), 'test-only.yaml', 'test has all of dev and keeps its own file');

    // Nothing new: the next attempt has nothing to promote, and nothing to undo.
    const a4 = await update(toTest('a4'));
    assert.equal(a4.commit, null);
    const none = await revert(toTest('a4'));
    assert.equal(none.result, 'unchanged');
    assert.match(none.detail, /attempt a4 made no config commit on .* test/);
    // Attempt 3's undo takes back all of it: the re-applied content and the newer merge.
    assert.equal((await revert(toTest('a3'))).result, 'undone');
    assert.equal(file(envs, 'test', 'values.yaml'), 'image:\n  tag: v1\n');
    assert.ok(!git(envs, 'ls-tree', '--name-only', 'test').includes('feature.yaml'));
    assert.equal(file(envs, 'test', 'test-only.yaml'), 'replicas: 1\n');
  });

  test('undo results: no commit of this attempt is unchanged; a deleted branch is skipped; both name the target', async () => {
    const repo = await configRepo();
    execFileSync('git', ['-C', repo.work, 'push', '--quiet', 'origin', 'main:preview']);
    const already = input(repo, { version: 'v1', gitops: { ...input(repo).gitops, branch: 'preview' } });
    const noop = await update(already);
    assert.equal(noop.commit, null, 'the file already has the tag');
    const unchanged = await revert(already);
    assert.equal(unchanged.result, 'unchanged');
    assert.match(unchanged.detail, /release\/hello-api\/all\/abc1234#prod attempt run-1 made no config commit on file:\/\/.*remote\.git preview/);

    const deployed = input(repo, { attempt: 'run-2', gitops: { ...input(repo).gitops, branch: 'preview' } });
    assert.ok((await update(deployed)).commit);
    git(repo, 'branch', '-D', 'preview');
    const skipped = await revert(deployed);
    assert.equal(skipped.result, 'skipped');
    assert.match(skipped.detail, /branch preview no longer exists in file:\/\/.*remote\.git/);
  });
});

describe('long git work heartbeats and stops on cancel (a slow ssh transport)', () => {
  /** Runs `fn` against ssh://slow.invalid, whose "ssh" sleeps; cancels after 5 s. */
  async function cancelSlowGit(fn: (env: MockActivityEnvironment) => Promise<unknown>) {
    const dir = mkdtempSync(join(tmpdir(), 'slow-ssh-'));
    const pidFile = join(dir, 'pid');
    const ssh = join(dir, 'slow-ssh');
    writeFileSync(ssh, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 120\n`, { mode: 0o755 });
    process.env.GIT_SSH = ssh;
    process.env.GIT_SSH_VARIANT = 'simple';
    try {
      const env = new MockActivityEnvironment();
      const beats: number[] = [];
      env.on('heartbeat', () => beats.push(Date.now()));
      const started = Date.now();
      const running = fn(env);
      running.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 5000));
      assert.ok(existsSync(pidFile), 'git is running the transport');
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      env.cancel();
      const cancelledAt = Date.now();
      await assert.rejects(running, (e: Error) => e instanceof CancelledFailure);
      assert.ok(Date.now() - cancelledAt < 1000, `ended ${Date.now() - cancelledAt}ms after the cancel`);
      const gaps = [started, ...beats.filter((t) => t <= cancelledAt), cancelledAt].map((t, k, all) => (k ? t - all[k - 1] : 0));
      assert.ok(beats.length >= 4, `${beats.length} heartbeats in 5 s`);
      assert.ok(Math.max(...gaps) <= 2000, `longest gap between heartbeats ${Math.max(...gaps)}ms`);
      // The transport git started is killed with git (a zombie waiting for its reaper counts as gone).
      const deadline = Date.now() + 2000;
      const alive = () => {
        try {
          process.kill(pid, 0);
        } catch {
          return false;
        }
        return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      };
      while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(alive(), false, `transport process ${pid} still running`);
      return { beats: beats.length, maxGap: Math.max(...gaps) };
    } finally {
      delete process.env.GIT_SSH;
      delete process.env.GIT_SSH_VARIANT;
    }
  }

  test('the config-repo clone of gitopsUpdate', async () => {
    const i = input({ url: 'ssh://slow.invalid/config.git' } as TestRepo);
    const stats = await cancelSlowGit((env) => env.run(gitopsUpdate, i));
    console.log(`gitops clone: ${stats.beats} heartbeats, longest gap ${stats.maxGap}ms`);
  });

  test('the source checkout of the build worker (scanJiraIssues)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'scan-'));
    const build = createBuildActivities({ workDir: join(work, 'work'), artifactDir: join(work, 'a'), insecureRegistries: [] });
    const scan = { releaseId: 'r', attempt: 'a', service: 'slow', version: 'v1', commit: 'a'.repeat(40), repo: 'ssh://slow.invalid/src.git', jira: { baseUrl: 'http://127.0.0.1:9', issueFromCommit: true, credentialsEnv: 'X' } };
    const stats = await cancelSlowGit((env) => env.run(build.scanJiraIssues, scan));
    console.log(`source checkout: ${stats.beats} heartbeats, longest gap ${stats.maxGap}ms`);
  });
});
