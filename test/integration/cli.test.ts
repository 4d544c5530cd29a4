// The shipyard CLI as a real process against the real dev server: exit codes and --json output.
// Workers with MOCKED activities serve the releases the CLI starts (task queues from SHIPYARD_*_QUEUE).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXIT } from '../../client/exit-codes.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { runCli, startCli, queueEnv } from '../helpers/cli.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { waitForStatus } from '../helpers/release.js';
import { connectClient, eventually, randomCommit, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
const dir = mkdtempSync(join(tmpdir(), 'cli-'));
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

function specFile(name: string, spec: object): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(spec));
  return file;
}


describe('shipyard CLI exit codes (mocked activities behind the workers)', () => {
  const cases: { outcome: string; code: number; inject: (w: FakeWorld) => void }[] = [
    { outcome: 'succeeded', code: EXIT.succeeded, inject: () => undefined },
    { outcome: 'failed', code: EXIT.failed, inject: (w) => w.fail('buildTarget', 'compile error') },
    { outcome: 'rolled-back', code: EXIT.rolledBack, inject: (w) => w.fail('checkHealth', 'CrashLoopBackOff', { environment: 'staging' }) },
  ];
  for (const c of cases) {
    test(`release start --wait --json: ${c.outcome} exits ${c.code}`, async () => {
      const world = new FakeWorld();
      c.inject(world);
      const service = uniqueName('cli');
      const file = specFile(service, twoEnvSpec({ service }));
      const queues = uniqueQueues();
      const res = await withWorkers(queues, world.activities(), () =>
        runCli(['release', 'start', '-f', file, '--commit', randomCommit(), '--version', 'v2.0.0', '--as', 'jenkins', '--wait', '--json'], queueEnv(queues)),
      );
      assert.equal(res.code, c.code, res.stderr);
      const out = JSON.parse(res.stdout);
      assert.equal(out.outcome, c.outcome);
      assert.equal(out.exitCode, c.code);
      assert.equal(out.status.version, 'v2.0.0');
      assert.equal(out.status.trigger.by, 'jenkins');
      assert.match(out.releaseId, new RegExp(`^release/${service}/all/[0-9a-f]{40}$`));
    });
  }

  test('release start --wait prints progress in the order it happened, each line once', async () => {
    const world = new FakeWorld().metric('error-rate', [0, 0.001]);
    const service = uniqueName('cliorder');
    const file = specFile(service, twoEnvSpec({ service, withBuild: false }));
    const queues = uniqueQueues();
    const commit = randomCommit();
    const res = await withWorkers(queues, world.activities(), () =>
      runCli(['release', 'start', '-f', file, '--commit', commit, '--wait'], queueEnv(queues)),
    );
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stderr.split('\n');
    const first = (needle: string) => lines.findIndex((l) => l.includes(needle));
    const last = (needle: string) => lines.reduce((found, l, i) => (l.includes(needle) ? i : found), -1);
    const order = [
      first('deploy (staging)'),
      first('promote (staging)'),
      first('promote (staging) ok'),
      first('deploy (production)'),
      first('canary (production)'),
      first('weight 10%'),
      last('metric error-rate'),
      first('canary (production) ok'),
      first('promote (production)'),
    ];
    // Releases whose status has canaryHistory show every weight, each after the step before it.
    const status = JSON.parse((await runCli(['status', `release/${service}/all/${commit}`, '--json'])).stdout);
    if (status.canaryHistory) order.splice(7, 0, first('weight 50%'), first('weight 100%'));
    assert.ok(order.every((i) => i >= 0), res.stderr);
    assert.deepEqual([...order].sort((a, b) => a - b), order, res.stderr);
    // Stamped with when each thing happened, so the stamps never go back; nothing is printed twice.
    const stamps = lines.map((l) => /^\[(\d\d:\d\d:\d\d)\]/.exec(l)?.[1]).filter((x): x is string => Boolean(x));
    for (let i = 1; i < stamps.length; i++) {
      const wrapped = stamps[i - 1].startsWith('23') && stamps[i].startsWith('00'); // UTC midnight
      assert.ok(stamps[i] >= stamps[i - 1] || wrapped, res.stderr);
    }
    const progress = lines.filter((l) => l.startsWith('['));
    assert.equal(new Set(progress).size, progress.length, res.stderr);
  });

  test('rejected from the CLI exits 12; aborted exits 13; approve of an unknown approver exits 4', async () => {
    const world = new FakeWorld();
    const service = uniqueName('cliappr');
    const spec = twoEnvSpec({ service, withBuild: false, staging: { approval: { approvers: ['alice'], timeout: '1h' } } });
    const file = specFile(service, spec);
    const queues = uniqueQueues();
    const env = queueEnv(queues);
    await withWorkers(queues, world.activities(), async () => {
      const commit = randomCommit();
      const waiting = startCli(['release', 'start', '-f', file, '--commit', commit, '--wait'], env);
      const id = `release/${service}/all/${commit}`;
      // The --wait progress tells the person at the terminal which gate waits and how to decide it.
      await eventually(async () => waiting.stderr.includes('waiting for approval staging/approval: 1 of alice'), 30_000, 'gate in progress output');
      assert.match(waiting.stderr, new RegExp(`shipyard approve ${id} --as <approver>`));
      const refused = await runCli(['approve', id, '--as', 'mallory', '--json'], env);
      assert.equal(refused.code, EXIT.refused);
      assert.match(JSON.parse(refused.stdout).error, /'mallory' is not an approver for staging\/approval/);
      const rejected = await runCli(['reject', id, '--as', 'alice', '--comment', 'wrong build'], env);
      assert.equal(rejected.code, 0, rejected.stderr);
      assert.match(rejected.stdout, /staging\/approval rejected by alice/);
      const res = await waiting.done;
      assert.equal(res.code, EXIT.rejected);
      assert.match(res.stderr, /release rejected: .*wrong build/);

      const commit2 = randomCommit();
      const waiting2 = runCli(['release', 'start', '-f', file, '--commit', commit2, '--wait'], env);
      const id2 = `release/${service}/all/${commit2}`;
      await waitForStatus(ctx.shipyard, id2, (s) => s.approvals.pending !== null, 'gate');
      const paused = await runCli(['pause', id2, '--as', 'ops', '--json'], env);
      assert.equal(paused.code, 0);
      assert.deepEqual(JSON.parse(paused.stdout), { releaseId: id2, signal: 'pause', by: 'ops', authenticated: false });
      assert.equal((await runCli(['abort', id2, '--as', 'ops', '--reason', 'stop'], env)).code, 0);
      assert.equal((await waiting2).code, EXIT.aborted);
      const late = await runCli(['abort', id2, '--as', 'ops'], env);
      assert.equal(late.code, EXIT.refused);
      assert.match(late.stderr, /is not running \(failed\)/);
    });
  });

  test('status, list and history with --json read what Temporal recorded', async () => {
    const world = new FakeWorld();
    const service = uniqueName('clils');
    const file = specFile(service, twoEnvSpec({ service, withBuild: false }));
    const queues = uniqueQueues();
    const env = queueEnv(queues);
    const commit = randomCommit();
    const id = `release/${service}/staging/${commit}`;
    await withWorkers(queues, world.activities(), async () => {
      const res = await runCli(['release', 'start', '-f', file, '--commit', commit, '--env', 'staging', '--wait'], env);
      assert.equal(res.code, 0, res.stderr);
    });
    const status = await runCli(['status', id, '--json']);
    assert.equal(status.code, 0);
    const s = JSON.parse(status.stdout);
    assert.equal(s.outcome, 'succeeded');
    assert.deepEqual(s.environments, ['staging']);
    const human = await runCli(['status', id]);
    assert.match(human.stdout, /outcome\s+succeeded/);
    // Each stage with how long it took, from its recorded start and end.
    assert.match(human.stdout, /ok\s+deploy \(staging\) - helm revision 1  \(\d+(\.\d)?s\)/);
    for (const st of s.stages.filter((x: { stage: string }) => x.stage !== 'done')) {
      assert.match(human.stdout, new RegExp(`${st.result}\\s+${st.stage}.*  \\(\\d[^)]*s\\)`), st.stage);
    }

    const list = await runCli(['list', '--service', service, '--json']);
    assert.equal(list.code, 0);
    const rows = JSON.parse(list.stdout);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].releaseId, id);
    assert.equal(rows[0].outcome, 'succeeded');
    assert.equal(rows[0].environment, 'staging');
    assert.equal((JSON.parse((await runCli(['list', '--service', service, '--running', '--json'])).stdout) as unknown[]).length, 0);
    const humanList = (await runCli(['list', '--service', service])).stdout.split('\n');
    assert.match(humanList[0], /^RELEASE\s+STATE\s+STAGE\s+OUTCOME\s+VERSION\s+STARTED$/);
    assert.match(humanList[1], new RegExp(`^${id}\\s+completed\\s+done\\s+succeeded\\s`));

    const history = await runCli(['history', id]);
    assert.equal(history.code, 0);
    assert.match(history.stdout, /WORKFLOW_EXECUTION_STARTED/);
    assert.match(history.stdout, /ACTIVITY_TASK_SCHEDULED\s+helmDeploy/);
    assert.match(history.stdout, /WORKFLOW_EXECUTION_COMPLETED/);
    const historyJson = JSON.parse((await runCli(['history', id, '--json'])).stdout);
    assert.equal(historyJson.events[0].eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
  });
});

describe('shipyard freeze / unfreeze', () => {
  test('freeze sets the line-wide freeze (seen by the next start) and unfreeze lifts it', async () => {
    const queues = uniqueQueues();
    const env = queueEnv(queues);
    await withWorkers(queues, new FakeWorld().activities(), async () => {
      const frozen = await runCli(['freeze', '--as', 'ops', '--reason', 'peak season', '--json'], env);
      assert.equal(frozen.code, 0, frozen.stderr);
      assert.deepEqual(JSON.parse(frozen.stdout), { frozen: true, by: 'ops (unauthenticated)', reason: 'peak season', releases: [] });
      const service = uniqueName('clifreeze');
      const file = specFile(service, twoEnvSpec({ service, withBuild: false }));
      const commit = randomCommit();
      const started = await runCli(['release', 'start', '-f', file, '--commit', commit, '--json'], env);
      const id = JSON.parse(started.stdout).releaseId;
      await waitForStatus(ctx.shipyard, id, (s) => s.policy?.frozen?.reason === 'peak season', 'held by the freeze');
      const status = await runCli(['status', id], env);
      assert.match(status.stdout, /policy\s+frozen by ops \(unauthenticated\) since .*: peak season/);
      const lifted = await runCli(['unfreeze', '--as', 'ops', '--json'], env);
      assert.equal(lifted.code, 0);
      assert.deepEqual(JSON.parse(lifted.stdout).releases, [id]);
      assert.equal((await ctx.shipyard.wait(id, undefined, 200)).outcome, 'succeeded');
    });
  });
});

describe('shipyard CLI bad input (nothing started)', () => {
  test('usage errors exit 2 and name the problem', async () => {
    const missing = await runCli(['release', 'start', '--commit', randomCommit()]);
    assert.equal(missing.code, EXIT.usage);
    assert.match(missing.stderr, /give the spec with exactly one of -f <spec\.yaml> or --repo <url>/);
    const unknown = await runCli(['release', 'start', '--frobnicate']);
    assert.equal(unknown.code, EXIT.usage);
    const badTrigger = await runCli(['release', 'start', '-f', 'x', '--commit', randomCommit(), '--trigger', 'cron']);
    assert.equal(badTrigger.code, EXIT.usage);
    assert.match(badTrigger.stderr, /Allowed choices are cli, jenkins/);
    const badLimit = await runCli(['list', '--limit', '0', '--json']);
    assert.equal(badLimit.code, EXIT.usage);
  });

  test('an invalid spec exits 2 with the field path and line; nothing is started', async () => {
    const service = uniqueName('badspec');
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `service: ${service}\nsource: { repo: x }\nenvironments:\n  - name: staging\n    deploy: { helm: { chart: c, release: r, timeout: soon } }\n`);
    const res = await runCli(['release', 'start', '-f', file, '--commit', randomCommit(), '--json']);
    assert.equal(res.code, EXIT.usage);
    assert.match(JSON.parse(res.stdout).error, /bad.yaml:5:\d+: environments\[0\]\.deploy\.helm\.timeout: must be a duration/);
    const validate = await runCli(['spec', 'validate', file]);
    assert.equal(validate.code, EXIT.usage);
    assert.equal((await ctx.shipyard.list({ service })).length, 0);
  });

  test('a bad commit exits 2; an unknown release exits 3', async () => {
    const service = uniqueName('badcommit');
    const file = specFile(service, twoEnvSpec({ service, withBuild: false }));
    const res = await runCli(['release', 'start', '-f', file, '--commit', 'HEAD']);
    assert.equal(res.code, EXIT.usage);
    assert.match(res.stderr, /commit 'head' is not a git commit hash/);
    const unknown = await runCli(['status', 'release/nope/all/0000000']);
    assert.equal(unknown.code, EXIT.notFound);
    assert.match(unknown.stderr, /no release with ID release\/nope\/all\/0000000/);
  });

  test('Temporal unreachable exits 1 with a hint', async () => {
    const res = await runCli(['list'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(res.code, EXIT.error);
    assert.match(res.stderr, /cannot reach Temporal .*is it running\?/);
  });

  test('spec schema prints the JSON Schema; spec validate accepts the demo', async () => {
    const schema = await runCli(['spec', 'schema']);
    assert.equal(schema.code, 0);
    assert.equal(JSON.parse(schema.stdout).title, 'Shipyard release spec');
    const ok = await runCli(['spec', 'validate', 'examples/release.yaml']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid \(hello-api, environments staging, production\)/);
  });
});
