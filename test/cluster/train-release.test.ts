// Release trains end to end against real components: the real CLI (`shipyard train start -f
// train.yaml --wait`, a child process) starts a train of three services a -> b, a -> c on the dev
// server; each service is its own helm release (the test chart) in its own namespace, deployed by
// the real helm onto the kwok API server, installed at v1 by helm beforehand so a previous revision
// exists. No build (the specs have no `build`/`image`): each spec's values say which image runs.
//   1. all succeed: every release is at revision 2 running v2, the train's status says so, and the
//      children started in dependency order.
//   2. c's upgrade cannot become ready (a nodeSelector no kwok node has, helm timeout 4s): c fails
//      (helm --atomic undoes the upgrade; c's own compensation finds revision 1 there: unchanged);
//      b then a are rolled back by their own compensation (helm rollback to 1), in that order, and
//      run v1 again; the train is rolled-back and names c.
// About 15s and 25s (the train itself ~7s and ~17s) on the local stack.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createDeployActivities, createIntegrationActivities } from '../../activities/index.js';
import { trainStatus } from '../../client/train.js';
import type { TrainStatus } from '../../workflows/train-types.js';
import { CHART, deploymentImage, helmHistory, helmValues, namespace } from '../helpers/cluster.js';
import { queueEnv, runCli } from '../helpers/cli.js';
import { historyOf } from '../helpers/release.js';
import { connectClient, randomCommit, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

const repoOf = (service: string) => `registry.local/team/${service}`;

interface Service {
  name: string;
  ns: string;
}

/** Three services, each with its helm release (named after it) installed at v1 in its own namespace. */
async function installedAtV1(prefix: string): Promise<{ a: Service; b: Service; c: Service }> {
  const make = async (x: string): Promise<Service> => {
    const name = uniqueName(`${prefix}${x}`);
    const ns = await namespace(`${prefix}${x}`);
    return { name, ns };
  };
  const s = { a: await make('a'), b: await make('b'), c: await make('c') };
  for (const x of Object.values(s)) {
    execFileSync('helm', ['install', x.name, CHART, '-n', x.ns, '--set', `image.repository=${repoOf(x.name)}`, '--set', 'image.tag=v1', '--wait', '--timeout', '60s'], { stdio: 'ignore' });
    assert.equal(await deploymentImage(x.ns, x.name), `${repoOf(x.name)}:v1`);
  }
  return s;
}

/** The train file and each service's release spec (deploying v2 by its values), in a temp dir. */
function writeTrain(s: { a: Service; b: Service; c: Service }, cValues: Record<string, unknown> = {}, cTimeout = '60s'): { file: string; name: string } {
  const dir = mkdtempSync(join(tmpdir(), 'train-release-'));
  const spec = (x: Service, values: Record<string, unknown> = {}, timeout = '60s') =>
    stringify({
      service: x.name,
      source: { repo: 'https://git.example.com/team/app.git' },
      environments: [
        {
          name: 'staging',
          deploy: { helm: { chart: CHART, release: x.name, namespace: x.ns, timeout, values: { image: { repository: repoOf(x.name), tag: 'v2' }, ...values } } },
          health: { timeout: '30s' },
        },
      ],
    });
  writeFileSync(join(dir, 'a.yaml'), spec(s.a));
  writeFileSync(join(dir, 'b.yaml'), spec(s.b));
  writeFileSync(join(dir, 'c.yaml'), spec(s.c, cValues, cTimeout));
  const name = uniqueName('shop');
  writeFileSync(
    join(dir, 'train.yaml'),
    stringify({
      name,
      services: [
        { name: s.a.name, spec: 'a.yaml' },
        { name: s.b.name, spec: 'b.yaml', dependsOn: [s.a.name] },
        { name: s.c.name, spec: 'c.yaml', dependsOn: [s.a.name] },
      ],
      maxParallel: 2,
    }),
  );
  return { file: join(dir, 'train.yaml'), name };
}

/** `shipyard train start -f train.yaml --commit ... --wait --json`: exit code and the final status it printed. */
async function runTrain(file: string, services: Service[], queues: ReturnType<typeof uniqueQueues>) {
  const commits = services.flatMap((x) => ['--commit', `${x.name}=${randomCommit()}`]);
  const r = await runCli(['train', 'start', '-f', file, ...commits, '--wait', '--json', '--as', 'carol'], queueEnv(queues), 240_000);
  let printed: TrainStatus & { stages?: Record<string, string> };
  try {
    printed = JSON.parse(r.stdout);
  } catch {
    throw new Error(`train start printed no status (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, stderr: r.stderr, printed };
}

const realActivities = () => ({ deploy: { ...createDeployActivities(), ...createIntegrationActivities() } });

describe('release trains against real helm and the API server (kwok)', () => {
  test('all succeed: each release at a new revision running v2, every service succeeded, children started in dependency order', async () => {
    const s = await installedAtV1('tok');
    const { file, name } = writeTrain(s);
    const queues = uniqueQueues('trok');
    await withWorkers(queues, realActivities(), async () => {
      const t0 = Date.now();
      const { code, stderr, printed } = await runTrain(file, [s.a, s.b, s.c], queues);
      const took = Date.now() - t0;
      assert.equal(code, 0, `${stderr}\n${JSON.stringify(printed)}`);
      assert.equal(printed.outcome, 'succeeded');
      assert.match(printed.trainId, new RegExp(`^train/${name}/[0-9a-f]{16}$`));
      console.log(`train ${printed.trainId} succeeded in ${took}ms`);

      // The status read from the train (client API), not just what the CLI printed.
      const status = await trainStatus(ctx.shipyard, printed.trainId);
      assert.equal(status.outcome, 'succeeded');
      assert.equal(status.failure, undefined);
      assert.deepEqual(status.services.map((x) => [x.name, x.state, x.outcome]), [
        [s.a.name, 'succeeded', 'succeeded'],
        [s.b.name, 'succeeded', 'succeeded'],
        [s.c.name, 'succeeded', 'succeeded'],
      ]);
      assert.deepEqual(status.stages, { [s.a.name]: 'succeeded', [s.b.name]: 'succeeded', [s.c.name]: 'succeeded' });

      // The world: each release upgraded once by its own release, running v2.
      for (const x of [s.a, s.b, s.c]) {
        const h = helmHistory(x.name, x.ns);
        assert.deepEqual(h.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'deployed']], `${x.name}: ${JSON.stringify(h)}`);
        assert.equal(h[1].description, `shipyard ${printed.trainId}/${x.name}`);
        assert.deepEqual(helmValues(x.name, x.ns).image, { repository: repoOf(x.name), tag: 'v2' });
        assert.equal(await deploymentImage(x.ns, x.name), `${repoOf(x.name)}:v2`, `${x.name} runs v2`);
      }

      // Dependency order in the train's history: a's release first; b and c only after a was released.
      const events = await historyOf(ctx.shipyard, printed.trainId);
      const childStarts = events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId!);
      assert.deepEqual(childStarts, [`${printed.trainId}/${s.a.name}`, `${printed.trainId}/${s.b.name}`, `${printed.trainId}/${s.c.name}`]);
      const idx = (pred: (e: (typeof events)[number]) => boolean) => events.findIndex(pred);
      const aReleased = idx((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'trainReleased');
      const bStart = idx((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId?.endsWith(`/${s.b.name}`) === true);
      const cStart = idx((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId?.endsWith(`/${s.c.name}`) === true);
      assert.ok(aReleased > 0 && aReleased < bStart && aReleased < cStart, `a released (event ${aReleased}) before b (${bStart}) and c (${cStart}) started`);
      // And a's helm upgrade happened before b's and c's.
      const upgradedAt = (x: Service) => Date.parse((helmHistory(x.name, x.ns)[1] as unknown as { updated: string }).updated);
      assert.ok(upgradedAt(s.a) < upgradedAt(s.b) && upgradedAt(s.a) < upgradedAt(s.c), 'a upgraded before b and c');
    });
  });

  test('c cannot become ready: c fails (helm --atomic undid it), b then a are rolled back by helm to revision 1 and run v1; the train names c', async () => {
    const s = await installedAtV1('trb');
    // c's new pods ask for a node pool no kwok node has: helm --wait gives up after 4s (--atomic).
    const { file, name } = writeTrain(s, { nodeSelector: { pool: 'nowhere' } }, '4s');
    const queues = uniqueQueues('trrb');
    await withWorkers(queues, realActivities(), async () => {
      const t0 = Date.now();
      const { code, stderr, printed } = await runTrain(file, [s.a, s.b, s.c], queues);
      const took = Date.now() - t0;
      assert.equal(code, 11, `rolled back: exit 11\n${stderr}\n${JSON.stringify(printed)}`);
      assert.equal(printed.outcome, 'rolled-back');
      console.log(`train ${printed.trainId} rolled back in ${took}ms`);
      const trainId = printed.trainId;

      const status = await trainStatus(ctx.shipyard, trainId);
      assert.equal(status.outcome, 'rolled-back');
      assert.equal(status.failure?.service, s.c.name);
      assert.deepEqual(status.services.map((x) => [x.name, x.state]), [
        [s.a.name, 'rolled-back'],
        [s.b.name, 'rolled-back'],
        [s.c.name, 'rolled-back'],
      ]);
      assert.match(status.failure!.message, new RegExp(`^release rolled-back at deploy in staging: helm upgrade ${s.c.name}: Error: UPGRADE FAILED: .*context deadline exceeded`), status.failure!.message);
      for (const x of [s.a, s.b]) assert.match(status.services.find((y) => y.name === x.name)!.message ?? '', new RegExp(`train ${name} rolled back: ${s.c.name} failed; 1 step\\(s\\) rolled back`));
      // The train's own failure names c.
      const err = await ctx.client.workflow.getHandle(trainId).result().then(() => undefined, (e: Error & { cause?: Error & { type?: string } }) => e.cause);
      assert.equal(err?.type, 'TrainRolledBack');
      assert.match(err!.message, new RegExp(`^train ${name} rolled-back: ${s.c.name} failed: `));
      for (const x of [s.a, s.b]) {
        const r = await ctx.shipyard.status(`${trainId}/${x.name}`);
        assert.equal(r.outcome, 'rolled-back', x.name);
        assert.equal(r.error?.message, `train ${name} rolled back: ${s.c.name} failed`);
        assert.ok(r.compensation.some((c) => c.status === 'done' && /rolled back to revision 1/.test(c.detail ?? '')), `${x.name} compensation: ${JSON.stringify(r.compensation)}`);
      }

      // The world: a and b were upgraded (revision 2) and rolled back to 1 (revision 3), and run v1 again.
      const rolledBackAt: Record<string, number> = {};
      for (const x of [s.a, s.b]) {
        const h = helmHistory(x.name, x.ns) as (ReturnType<typeof helmHistory>[number] & { updated: string })[];
        assert.deepEqual(h.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'superseded'], [3, 'deployed']], `${x.name}: ${JSON.stringify(h)}`);
        assert.equal(h[1].description, `shipyard ${trainId}/${x.name}`);
        assert.match(h[2].description, /Rollback to 1/);
        assert.deepEqual(helmValues(x.name, x.ns, 2).image, { repository: repoOf(x.name), tag: 'v2' }, 'v2 was really deployed');
        assert.equal(await deploymentImage(x.ns, x.name), `${repoOf(x.name)}:v1`, `${x.name} runs v1 again`);
        rolledBackAt[x.name] = Date.parse(h[2].updated);
      }
      // c never became v2: helm --atomic undid its failed upgrade, so c's own compensation found
      // revision 1's manifest already deployed (unchanged, said so); it runs v1.
      const hc = helmHistory(s.c.name, s.c.ns);
      assert.deepEqual(hc.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'failed'], [3, 'deployed']], JSON.stringify(hc));
      assert.match(hc[2].description, /Rollback to 1/);
      const c = await ctx.shipyard.status(`${trainId}/${s.c.name}`);
      assert.equal(c.outcome, 'rolled-back');
      assert.equal(c.error?.stage, 'deploy');
      assert.equal(c.error?.type, 'HelmUpgradeFailed');
      assert.deepEqual(c.compensation.map((x) => [x.status, x.detail]), [['unchanged', `helm release ${s.c.ns}/${s.c.name} revision 3 already has revision 1's manifest`]]);
      assert.equal(await deploymentImage(s.c.ns, s.c.name), `${repoOf(s.c.name)}:v1`, 'c runs v1');

      // ORDER: b's rollback before a's, in the world (helm timestamps) and in the train's history
      // (b's release ended before the rollback verdict was sent to a).
      assert.ok(rolledBackAt[s.b.name] < rolledBackAt[s.a.name], `b rolled back (${rolledBackAt[s.b.name]}) before a (${rolledBackAt[s.a.name]})`);
      const events = await historyOf(ctx.shipyard, trainId);
      const idx = (pred: (e: (typeof events)[number]) => boolean) => events.findIndex(pred);
      const verdictTo = (x: Service) => idx((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'trainVerdict' && e.signalExternalWorkflowExecutionInitiatedEventAttributes.workflowExecution?.workflowId === `${trainId}/${x.name}`);
      const ended = (x: Service) => idx((e) => (e.childWorkflowExecutionFailedEventAttributes ?? e.childWorkflowExecutionCompletedEventAttributes)?.workflowExecution?.workflowId === `${trainId}/${x.name}`);
      assert.ok(ended(s.c) >= 0 && ended(s.c) < verdictTo(s.b), 'c ended before any verdict');
      assert.ok(verdictTo(s.b) < ended(s.b) && ended(s.b) < verdictTo(s.a) && verdictTo(s.a) < ended(s.a), `b's verdict ${verdictTo(s.b)}, b ended ${ended(s.b)}, a's verdict ${verdictTo(s.a)}, a ended ${ended(s.a)}`);
    });
  });
});
