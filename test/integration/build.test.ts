// The build matrix with the real Go toolchain and real git remotes: a release of the example
// service through the workflow (real build activities; deploy activities MOCKED), the test gate,
// the content-addressed cache, cancellation, and bad input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBuildActivities } from '../../activities/build/index.js';
import type { BuildSettings } from '../../activities/build/settings.js';
import type { BuildTargetInput } from '../../activities/types.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { createRepo, type TestRepo } from '../helpers/git.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';
import { freePort } from '../helpers/net.js';
import { parseSpec } from '../../spec/load.js';
import { stringify } from 'yaml';

let ctx: TemporalTestContext;
let repo: TestRepo;
let commit: string;
before(async () => {
  ctx = await connectClient();
  repo = await createRepo();
  commit = await repo.commit('example service');
});
after(async () => {
  await ctx.close();
});

function settings(goBuilds: string[] = []): BuildSettings {
  const dir = mkdtempSync(join(tmpdir(), 'build-'));
  return {
    workDir: join(dir, 'work'),
    artifactDir: join(dir, 'artifacts'),
    insecureRegistries: [],
    onCommand: (cmd, args) => cmd === 'go' && args[0] === 'build' && goBuilds.push(args[args.length - 1]),
  };
}

function buildSpec(service: string, targets: string[], source: { repo: string; goPackage?: string; dir?: string }, test = true) {
  const spec = twoEnvSpec({ service, withBuild: false });
  return parseSpec(
    stringify({
      service,
      source: { goPackage: './cmd/hello', ...source },
      build: { targets, test, versionVariable: 'main.version' },
      environments: [spec.environments[0]],
      notify: [],
    }),
  );
}

/** What `file` would say, from the header: format and architecture. */
function binaryFormat(path: string): string {
  const b = readFileSync(path);
  if (b.readUInt32BE(0) === 0x7f454c46) {
    const machine = b.readUInt16LE(18);
    return `ELF ${machine === 0x3e ? 'x86-64' : machine === 0xb7 ? 'aarch64' : machine.toString(16)}`;
  }
  if (b.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = b.readUInt32LE(4);
    return `Mach-O ${cpu === 0x0100000c ? 'arm64' : cpu === 0x01000007 ? 'x86_64' : cpu.toString(16)}`;
  }
  if (b.toString('latin1', 0, 2) === 'MZ') {
    const pe = b.readUInt32LE(0x3c);
    assert.equal(b.toString('latin1', pe, pe + 4), 'PE\0\0');
    const machine = b.readUInt16LE(pe + 4);
    return `PE ${machine === 0x8664 ? 'x86-64' : machine === 0xaa64 ? 'arm64' : machine.toString(16)}`;
  }
  return 'unknown';
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('build matrix (real go, real git; deploy activities mocked)', () => {
  const targets = ['linux/amd64', 'linux/arm64', 'darwin/arm64', 'windows/amd64'];
  const expected: Record<string, string> = {
    'linux/amd64': 'ELF x86-64',
    'linux/arm64': 'ELF aarch64',
    'darwin/arm64': 'Mach-O arm64',
    'windows/amd64': 'PE x86-64',
  };

  test('a release builds every target: right formats, checksums verify, linux/amd64 runs and answers /healthz; a second build is a cache hit', async () => {
    const goBuilds: string[] = [];
    const s = settings(goBuilds);
    const world = new FakeWorld();
    const service = uniqueName('build');
    const spec = buildSpec(service, targets, { repo: repo.url });
    const queues = uniqueQueues();
    const build = createBuildActivities(s);
    await withWorkers(queues, { build, deploy: world.deploy() }, async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { commit, version: 'v9.8.7' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 500);
      assert.equal(final.outcome, 'succeeded', final.message);
      const manifest = final.status!.build!;
      assert.equal(manifest.commit, commit);
      assert.match(manifest.goVersion ?? '', /^go1\.\d+/);
      assert.deepEqual(manifest.artifacts.map((a) => a.target), targets);
      for (const a of manifest.artifacts) {
        const path = fileURLToPath(a.uri);
        assert.equal(binaryFormat(path), expected[a.target], a.target);
        assert.equal(sha256(path), a.sha256, `${a.target} checksum`);
        assert.equal(statSync(path).size, a.size);
        assert.equal(a.cacheHit, false);
      }
      assert.equal(goBuilds.length, 4);
      const linux = fileURLToPath(manifest.artifacts[0].uri);
      const port = await freePort();
      const child = spawn(linux, [], { env: { ADDR: `127.0.0.1:${port}` }, stdio: 'ignore' });
      try {
        const health = await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, 10_000, 'binary to serve');
        assert.ok(health);
        const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string };
        assert.equal(version.version, 'v9.8.7', 'the version variable was set by -ldflags -X');
      } finally {
        child.kill('SIGKILL');
      }
      const mtimes = manifest.artifacts.map((a) => statSync(fileURLToPath(a.uri)).mtimeMs);

      // Same commit and build settings again (another release of them: a second service built from
      // the same source): every target is a cache hit, `go build` never runs.
      const again = await startRelease(ctx.shipyard, queues, buildSpec(`${service}-again`, targets, { repo: repo.url }), { commit, version: 'v9.8.7' });
      const second = await ctx.shipyard.wait(again.releaseId, undefined, 500);
      assert.equal(second.outcome, 'succeeded');
      assert.ok(second.status!.build!.artifacts.every((a) => a.cacheHit));
      assert.deepEqual(second.status!.build!.artifacts.map((a) => a.sha256), manifest.artifacts.map((a) => a.sha256));
      assert.equal(goBuilds.length, 4, 'no go build ran for the cache hits');
      assert.deepEqual(manifest.artifacts.map((a) => statSync(fileURLToPath(a.uri)).mtimeMs), mtimes);
    });
  });

  test('a failing go test fails the release at the test gate with the test name; nothing is built', async () => {
    const broken = await createRepo();
    const bad = await broken.commit('breaks a test', {
      'cmd/hello/broken_test.go': 'package main\n\nimport "testing"\n\nfunc TestCheckoutTotals(t *testing.T) { t.Fatal("total is 41, want 42") }\n',
    });
    const goBuilds: string[] = [];
    const world = new FakeWorld();
    const queues = uniqueQueues();
    await withWorkers(queues, { build: createBuildActivities(settings(goBuilds)), deploy: world.deploy() }, async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, buildSpec(uniqueName('testfail'), ['linux/amd64'], { repo: broken.url }), { commit: bad });
      const final = await ctx.shipyard.wait(releaseId, undefined, 500);
      assert.equal(final.outcome, 'failed');
      assert.equal(final.status!.error?.stage, 'build');
      assert.equal(final.status!.error?.type, 'TestsFailed');
      assert.match(final.status!.error!.message, /failing tests: example.com\/hello-api\/cmd\/hello TestCheckoutTotals/);
      assert.match(final.status!.error!.message, /total is 41, want 42/);
      assert.equal(goBuilds.length, 0);
      assert.deepEqual(world.effects(), []);
    });
  });

  test('cancelling a release mid-build kills the go processes (no orphans)', async () => {
    const s = settings();
    // A cold build cache makes the compile long enough to cancel; GOTMPDIR marks every compiler process.
    const marker = mkdtempSync(join(tmpdir(), 'gotmp-'));
    const env = { GOCACHE: mkdtempSync(join(tmpdir(), 'gocache-')), GOTMPDIR: marker };
    const saved = { GOCACHE: process.env.GOCACHE, GOTMPDIR: process.env.GOTMPDIR };
    Object.assign(process.env, env);
    const world = new FakeWorld();
    const queues = uniqueQueues();
    try {
      await withWorkers(queues, { build: createBuildActivities(s), deploy: world.deploy() }, async () => {
        const spec = buildSpec(uniqueName('cancel'), ['linux/arm64', 'windows/amd64'], { repo: repo.url }, false);
        const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { commit });
        await eventually(async () => processesMentioning(marker).length > 0, 60_000, 'go compilers to start');
        await ctx.shipyard.abort(releaseId, 'test', 'cancel the build');
        const final = await ctx.shipyard.wait(releaseId, undefined, 500);
        assert.equal(final.outcome, 'aborted');
        await eventually(async () => processesMentioning(marker).length === 0, 20_000, 'go processes to be gone');
      });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

/** PIDs whose command line or environment-visible cwd mentions `marker` (go, compile, link...). */
function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (Number(entry) !== process.pid && (cmdline.includes(marker) || environ.includes(`GOTMPDIR=${marker}`))) pids.push(Number(entry));
    } catch {
      // process ended while we looked
    }
  }
  return pids;
}

describe('build activities: bad input (real go and git, activity run directly)', () => {
  const base = (over: Partial<BuildTargetInput>): BuildTargetInput => ({
    releaseId: 'release/x/all/abc',
    service: 'hello',
    version: 'v1',
    commit,
    repo: repo.url,
    goPackage: './cmd/hello',
    target: 'linux/amd64',
    ldflags: '-s -w',
    ...over,
  });

  async function failure(input: BuildTargetInput): Promise<{ type?: string; message: string; nonRetryable?: boolean }> {
    const acts = createBuildActivities(settings());
    try {
      await new MockActivityEnvironment().run(acts.buildTarget, input);
    } catch (err) {
      return err as { type?: string; message: string; nonRetryable?: boolean };
    }
    assert.fail('build succeeded');
  }

  test('unknown GOOS/GOARCH', async () => {
    const err = await failure(base({ target: 'plan10/amd64' }));
    assert.equal(err.type, 'UnsupportedTarget');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /unsupported build target plan10\/amd64/);
  });

  test('missing package path', async () => {
    const err = await failure(base({ goPackage: './cmd/nope' }));
    assert.equal(err.type, 'PackageNotFound');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /package .\/cmd\/nope not found for linux\/amd64/);
  });

  test('compile error names the target', async () => {
    const broken = await createRepo();
    const bad = await broken.commit('syntax error', { 'cmd/hello/oops.go': 'package main\n\nfunc broken() { return 1 }\n' });
    const err = await failure(base({ repo: broken.url, commit: bad, target: 'linux/arm64' }));
    assert.equal(err.type, 'CompileError');
    assert.match(err.message, /build for linux\/arm64 failed:[\s\S]*too many return values/);
  });

  test('unreachable repository and unknown commit', async () => {
    const err = await failure(base({ repo: 'file:///nonexistent/repo.git' }));
    assert.equal(err.type, 'SourceUnavailable');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /cannot fetch file:\/\/\/nonexistent\/repo.git/);
    const missing = await failure(base({ commit: 'f'.repeat(40) }));
    assert.equal(missing.type, 'CommitNotFound');
  });

  test('credentials in a repository URL never appear in errors', async () => {
    const err = await failure(base({ repo: 'https://deploy:s3cr3t-token@127.0.0.1:1/team/app.git' }));
    assert.ok(!err.message.includes('s3cr3t-token'), err.message);
    assert.match(err.message, /https:\/\/\*\*\*@127.0.0.1:1/);
  });

  test('a module directory outside the repository is refused', async () => {
    const err = await failure(base({ dir: '../../etc' }));
    assert.equal(err.type, 'InvalidSpec');
  });
});
