// `shipyard release start` as a real process against the dev server: one release per commit however
// it is spelled (short SHAs resolved against real git repositories), and a start of a release that
// already ended says how it ended. Releases that must run are served by workers with MOCKED activities.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { EXIT } from '../../client/exit-codes.js';
import { resolveCommit } from '../../client/commit.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { runCli, runCliIn } from '../helpers/cli.js';
import { createRepo, type TestRepo } from '../helpers/git.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { SA } from '../../workflows/search-attributes.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
let repo: TestRepo;
const commits: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'cli-start-'));
before(async () => {
  ctx = await connectClient();
  repo = await createRepo(null);
  commits.push(await repo.commit('first', { 'README.md': 'one\n' }));
  commits.push(await repo.commit('second', { 'README.md': 'two\n' }));
});
after(async () => {
  await ctx.close();
});

/** A spec file for `service` whose source is `repoRef` (written as is: a URL, or a path relative to the file). */
function specFile(service: string, repoRef: string, at = dir): string {
  const spec = twoEnvSpec({ service, withBuild: false });
  const file = join(at, `${service}.yaml`);
  writeFileSync(file, stringify({ ...spec, source: { ...spec.source, repo: repoRef } }));
  return file;
}


const idle = () => ({ SHIPYARD_ORCHESTRATOR_QUEUE: uniqueName('idle') });

async function terminate(id: string): Promise<void> {
  await ctx.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
}

/**
 * Two real commits in `bare` whose hashes share their first 7 hex digits: commit objects with the
 * empty tree and a counter in the message, hashed here until two prefixes collide (~20k tries).
 */
function ambiguousCommits(bare: string): { prefix: string; shas: [string, string] } {
  const tree = execFileSync('git', ['-C', bare, 'hash-object', '-t', 'tree', '-w', '--stdin'], { input: '' }).toString().trim();
  const seen = new Map<string, string>();
  const body = (i: number) => `tree ${tree}\nauthor T <t@t.invalid> 1700000000 +0000\ncommitter T <t@t.invalid> 1700000000 +0000\n\nambiguous ${i}\n`;
  for (let i = 0; ; i++) {
    const b = body(i);
    const sha = createHash('sha1').update(`commit ${Buffer.byteLength(b)}\0${b}`).digest('hex');
    const other = seen.get(sha.slice(0, 7));
    if (other !== undefined) {
      const shas = [other, b].map((content, n) => {
        const written = execFileSync('git', ['-C', bare, 'hash-object', '-t', 'commit', '-w', '--stdin'], { input: content }).toString().trim();
        execFileSync('git', ['-C', bare, 'update-ref', `refs/heads/ambiguous-${n}`, written]);
        return written;
      }) as [string, string];
      assert.equal(shas[1], sha, 'git hashed the commit as computed');
      return { prefix: sha.slice(0, 7), shas };
    }
    seen.set(sha.slice(0, 7), b);
  }
}

describe('one release per commit, however spelled (real git repositories)', () => {
  test('a short SHA is resolved through the spec source URL: short, full and every -e spelling are one release', async () => {
    const service = uniqueName('shortsha');
    const file = specFile(service, repo.url);
    const env = idle();
    const full = commits[0];
    const first = await runCli(['release', 'start', '-f', file, '--commit', full.slice(0, 9).toUpperCase(), '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    const a = JSON.parse(first.stdout);
    assert.equal(a.releaseId, `release/${service}/all/${full}`);
    assert.equal(a.commit, full);
    assert.equal(a.state, 'started');
    try {
      for (const spelling of [['--commit', full], ['--commit', full.slice(0, 7), '--env', 'staging', '--env', 'production'], ['--commit', full.slice(0, 12), '--env', 'production,staging,production']]) {
        const again = await runCli(['release', 'start', '-f', file, ...spelling, '--json'], env);
        assert.equal(again.code, 0, again.stderr);
        const b = JSON.parse(again.stdout);
        assert.equal(b.releaseId, a.releaseId, spelling.join(' '));
        assert.equal(b.runId, a.runId);
        assert.equal(b.state, 'running');
      }
      const human = await runCli(['release', 'start', '-f', file, '--commit', full.slice(0, 8)], env);
      assert.equal(human.code, 0);
      assert.match(human.stdout, new RegExp(`^attached to running release release/${service}/all/${full}`));
      // The workflow got the full commit, and the default version is its first 12 digits.
      const d = await ctx.client.workflow.getHandle(a.releaseId).describe();
      assert.equal(d.typedSearchAttributes.get(SA.commit), full);
      assert.equal(d.typedSearchAttributes.get(SA.version), full.slice(0, 12));
      const input = (await ctx.client.workflow.getHandle(a.releaseId).fetchHistory()).events?.[0].workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      const decoded = JSON.parse(Buffer.from(input!.data!).toString()) as { commit: string; environments?: string[] };
      assert.equal(decoded.commit, full);
      assert.equal(decoded.environments, undefined, 'every environment is the same input as none named');
    } finally {
      await terminate(a.releaseId);
    }
  });

  test('in a checkout that has the commit, no source repository is needed; a path source is read in place', async () => {
    const env = idle();
    // The spec's source cannot be reached: only the working directory can resolve the SHA.
    const unreachable = uniqueName('cwdsha');
    const inCheckout = await runCliIn(repo.work, ['release', 'start', '-f', specFile(unreachable, 'https://git.invalid/team/app.git'), '--commit', commits[1].slice(0, 10), '--json'], env);
    assert.equal(inCheckout.code, 0, inCheckout.stderr);
    assert.equal(JSON.parse(inCheckout.stdout).releaseId, `release/${unreachable}/all/${commits[1]}`);
    await terminate(JSON.parse(inCheckout.stdout).releaseId);
    // Outside any checkout the same start fails, naming the repository it could not fetch.
    const elsewhere = await runCliIn(dir, ['release', 'start', '-f', specFile(unreachable, 'https://git.invalid/team/app.git'), '--commit', commits[1].slice(0, 10)], env);
    assert.equal(elsewhere.code, EXIT.error);
    assert.match(elsewhere.stderr, /cannot resolve commit '[0-9a-f]{10}': fetching https:\/\/git\.invalid\/team\/app\.git failed .*pass the full commit hash/);

    // source.repo as a path relative to the spec file (spec/load.ts resolves it): rev-parse in place.
    const specDir = join(dir, 'specs', uniqueName('nested'));
    mkdirSync(specDir, { recursive: true });
    const pathService = uniqueName('pathsha');
    const file = specFile(pathService, relative(specDir, repo.bare), specDir);
    const res = await runCliIn(dir, ['release', 'start', '-f', file, '--commit', commits[0].slice(0, 7), '--env', 'production', '--json'], env);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout).releaseId, `release/${pathService}/production/${commits[0]}`);
    await terminate(JSON.parse(res.stdout).releaseId);
  });

  test('unknown and ambiguous short SHAs are usage errors; nothing is started', async () => {
    const service = uniqueName('badsha');
    const file = specFile(service, repo.url);
    const unknown = await runCli(['release', 'start', '-f', file, '--commit', 'deadbee1', '--json'], idle());
    assert.equal(unknown.code, EXIT.usage);
    assert.equal(JSON.parse(unknown.stdout).error, `commit 'deadbee1' is not on any branch or tag of ${repo.url}`);

    const ambiguous = await createRepo(null);
    const { prefix, shas } = ambiguousCommits(ambiguous.bare);
    const ambiguousFile = specFile(service, ambiguous.url);
    const res = await runCli(['release', 'start', '-f', ambiguousFile, '--commit', prefix], idle());
    assert.equal(res.code, EXIT.usage);
    assert.match(res.stderr, new RegExp(`commit '${prefix}' is ambiguous in ${ambiguous.url}: .*give more digits or the full commit hash`));
    // Both candidates are named, each by its shortest unique abbreviation.
    const differ = [...shas[0]].findIndex((c, i) => c !== shas[1][i]);
    for (const sha of shas) assert.match(res.stderr, new RegExp(`${sha.slice(0, differ + 1)} commit `));
    // One more digit (where they differ) picks one; the bare repository path is read in place too.
    for (const sha of shas) assert.equal(await resolveCommit(sha.slice(0, differ + 1), { repo: ambiguous.bare }), sha);
    await assert.rejects(resolveCommit(prefix, { repo: ambiguous.bare }), /is ambiguous in/);
    assert.equal((await ctx.shipyard.list({ service })).length, 0);
  });
});

describe('release start of a release that already ended (mocked activities behind the workers)', () => {
  test('rolled back: its outcome, message, exit code and --retry-failed; after the retry succeeded: already succeeded, exit 0', async () => {
    const world = new FakeWorld().fail('helmDeploy', 'boom', { times: 1 });
    const service = uniqueName('ended');
    const file = specFile(service, repo.url);
    const queues = uniqueQueues();
    const env = { SHIPYARD_ORCHESTRATOR_QUEUE: queues.orchestrator, SHIPYARD_BUILD_QUEUE: queues.build, SHIPYARD_DEPLOY_QUEUE: queues.deploy };
    const short = commits[1].slice(0, 8);
    const id = `release/${service}/all/${commits[1]}`;
    await withWorkers(queues, world.activities(), async () => {
      const first = await runCli(['release', 'start', '-f', file, '--commit', short, '--wait'], env);
      assert.equal(first.code, EXIT.rolledBack, first.stderr);

      const again = await runCli(['release', 'start', '-f', file, '--commit', short], env);
      assert.equal(again.code, EXIT.rolledBack);
      assert.doesNotMatch(again.stdout, /attached/);
      assert.match(again.stdout, new RegExp(`^release ${id} already ended: rolled-back: .*boom`, 'm'));
      assert.match(again.stdout, new RegExp(`to start a new attempt: shipyard release start -f ${file} --commit ${commits[1]} --retry-failed`));

      const json = await runCli(['release', 'start', '-f', file, '--commit', short, '--json'], env);
      assert.equal(json.code, EXIT.rolledBack);
      const out = JSON.parse(json.stdout);
      assert.deepEqual([out.releaseId, out.started, out.state, out.outcome, out.exitCode], [id, false, 'ended', 'rolled-back', EXIT.rolledBack]);
      assert.match(out.message, /boom/);

      const waited = await runCli(['release', 'start', '-f', file, '--commit', short, '--wait', '--json'], env);
      assert.equal(waited.code, EXIT.rolledBack);
      assert.equal(JSON.parse(waited.stdout).status.outcome, 'rolled-back');

      // The list tells rolled-back from failed and says what stopped it.
      await eventually(async () => {
        const list = await runCli(['list', '--service', service], env);
        return list.code === 0 && new RegExp(`${id}\\s+failed\\s+done\\s+rolled-back \\(InjectedFailure\\)`).test(list.stdout);
      }, 15_000, 'list row of the rolled-back release');

      const retry = await runCli(['release', 'start', '-f', file, '--commit', short, '--retry-failed', '--wait'], env);
      assert.equal(retry.code, 0, retry.stderr);
      assert.match(retry.stderr, new RegExp(`^started release ${id}`, 'm'));

      const done = await runCli(['release', 'start', '-f', file, '--commit', commits[1], '--retry-failed'], env);
      assert.equal(done.code, 0);
      assert.match(done.stdout, new RegExp(`^release ${id} already succeeded; a succeeded release is not run again`));
    });
  });

  test('a release that never got a worker is listed as queued; terminated outside Shipyard exits 14', async () => {
    const service = uniqueName('queued');
    const file = specFile(service, repo.url);
    const env = idle();
    const started = JSON.parse((await runCli(['release', 'start', '-f', file, '--commit', commits[0], '--json'], env)).stdout);
    const rows = await eventually(async () => {
      const r = JSON.parse((await runCli(['list', '--service', service, '--json'])).stdout);
      return r.length === 1 && r;
    }, 15_000, 'visibility');
    assert.deepEqual([rows[0].stage, rows[0].outcome, rows[0].status], ['queued', 'running', 'RUNNING']);
    assert.match((await runCli(['list', '--service', service])).stdout, new RegExp(`${started.releaseId}\\s+running\\s+queued\\s+running`));
    await ctx.client.workflow.getHandle(started.releaseId).terminate('stuck');
    const again = await runCli(['release', 'start', '-f', file, '--commit', commits[0]], env);
    assert.equal(again.code, EXIT.ended);
    assert.match(again.stdout, /already ended: terminated: stuck/);
    await eventually(async () => JSON.parse((await runCli(['list', '--service', service, '--json'])).stdout)[0].outcome === 'terminated', 15_000, 'terminated in the list');
  });
});
