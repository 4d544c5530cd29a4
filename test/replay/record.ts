// Records the histories that replay.test.ts replays: the main release paths, run against the dev
// server with MOCKED activities. Run `npm run record-histories` after an intended workflow change
// that is NOT replay-compatible only together with a patched() guard, and then with a new
// RECORD_SUFFIX (e.g. RECORD_SUFFIX=v2 npm run record-histories) so the old recordings stay and keep
// guarding the old path. Never re-record to make a failing replay pass: that would hide the
// nondeterminism the test exists to catch.
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { connectClient, uniqueQueues, withWorkers } from '../helpers/temporal.js';
import type { ShipyardClient } from '../../client/index.js';
import type { ReleaseSpec } from '../../spec/schema.js';
import type { MetricJudgement } from '../../activities/judge/index.js';
import { freezeWorkflowId, leaseWorkflowId } from '../../workflows/messages.js';
import { startTrain } from '../../client/train.js';
import { validateTrainSpec } from '../../spec/train-load.js';

const OUT = fileURLToPath(new URL('../../../test/replay/histories/', import.meta.url));

interface Scenario {
  name: string;
  world: () => FakeWorld;
  spec: () => ReleaseSpec;
  drive?: (shipyard: ShipyardClient, id: string, blocker?: string) => Promise<void>;
  /** Start a release of the same spec first (another commit) that holds the environment's lease. */
  blocker?: boolean;
}

/** A metric's judgement as judgeCanary returns it (numbers are illustrative: the workflow only reads the verdict). */
function judged(metric: string, verdict: 'pass' | 'fail', weight: number): MetricJudgement {
  const side = { n: 60, center: verdict === 'fail' ? 0.2 : 0.1 };
  return { metric, kind: 'samples', method: 'mann-whitney-normal', verdict, reason: `${metric} ${verdict}`, canary: side, baseline: { n: 60, center: 0.1 }, u: 900, z: 3.1, p: verdict === 'fail' ? 0.001 : 0.4, effect: side.center / 0.1, weight, critical: false };
}

const canaryWithApproval = [{ setWeight: 10 }, { pause: '1s' }, { analysis: { metrics: ['error-rate'] } }, { setWeight: 50 }, { approval: {} }, { setWeight: 100 }];

/** Production across three clusters in two waves, helm-deployed, each cluster with its own canary. */
const wavesSpec = (service: string) =>
  twoEnvSpec({
    service,
    production: {
      deploy: { helm: { chart: 'oci://registry.local/charts/app', release: service, namespace: 'prod', timeout: '1m' } },
      clusters: [{ name: 'eu-1', kubeContext: 'eu-1' }, { name: 'us-1', kubeconfig: '/etc/shipyard/us-1.kubeconfig' }, { name: 'us-2', kubeContext: 'us-2' }],
      waves: [['eu-1'], ['us-1', 'us-2']],
    },
  });

const scenarios: Scenario[] = [
  { name: 'waves-two-waves-canary', world: () => new FakeWorld(), spec: () => wavesSpec('replay-waves') },
  {
    name: 'waves-failure-in-second-wave',
    world: () => new FakeWorld().fail('checkHealth', 'us-2 never became ready (injected)', { environment: 'production@us-2' }),
    spec: () => wavesSpec('replay-waves-fail'),
  },
  { name: 'happy-two-environments-canary', world: () => new FakeWorld(), spec: () => twoEnvSpec({ service: 'replay-happy' }) },
  {
    name: 'rolled-back-analysis-failure',
    world: () => new FakeWorld().metric('error-rate', [0.001, 0.9]),
    spec: () => twoEnvSpec({ service: 'replay-analysis' }),
  },
  {
    name: 'approvals-approved-with-canary-gate',
    world: () => new FakeWorld(),
    spec: () =>
      twoEnvSpec({
        service: 'replay-approve',
        withBuild: false,
        production: { approval: { approvers: ['alice', 'bob'], timeout: '1h', fourEyes: true } },
        canarySteps: canaryWithApproval,
      }),
    drive: async (s, id) => {
      await waitForStatus(s, id, (st) => st.approvals.pending?.gate === 'production/approval', 'env gate');
      await s.approve(id, { approver: 'alice', comment: 'ok', via: 'cli' });
      await waitForStatus(s, id, (st) => st.approvals.pending?.gate === 'production/canary/step-5', 'step gate');
      await s.approve(id, { approver: 'bob', via: 'slack' });
    },
  },
  {
    name: 'rejected-at-gate',
    world: () => new FakeWorld(),
    spec: () => twoEnvSpec({ service: 'replay-reject', withBuild: false, production: { approval: { approvers: ['alice'], timeout: '1h' } } }),
    drive: async (s, id) => {
      await waitForStatus(s, id, (st) => st.approvals.pending !== null, 'gate');
      await s.reject(id, { approver: 'alice', comment: 'no' });
    },
  },
  {
    name: 'approval-timeout',
    world: () => new FakeWorld(),
    spec: () => twoEnvSpec({ service: 'replay-timeout', withBuild: false, production: { approval: { approvers: ['alice'], timeout: '2s' } } }),
  },
  {
    name: 'aborted-mid-canary',
    world: () => new FakeWorld(),
    spec: () => twoEnvSpec({ service: 'replay-abort', withBuild: false, canarySteps: [{ setWeight: 25 }, { pause: '1h' }, { setWeight: 100 }] }),
    drive: async (s, id) => {
      await waitForStatus(s, id, (st) => st.canary?.description === 'pause 1h', 'pause');
      await s.abort(id, 'erin', 'alert');
    },
  },
  {
    name: 'pause-resume-and-indefinite-pause',
    world: () => new FakeWorld().delay('helmDeploy', 1000),
    spec: () => twoEnvSpec({ service: 'replay-pause', withBuild: false, canarySteps: [{ setWeight: 30 }, { pause: {} }, { setWeight: 100 }] }),
    drive: async (s, id) => {
      await waitForStatus(s, id, (st) => st.stage === 'deploy', 'deploy');
      await s.pause(id, 'frank', 'look');
      await new Promise((r) => setTimeout(r, 2000));
      await s.resume(id, 'frank');
      await waitForStatus(s, id, (st) => st.canary?.description === 'pause until resumed', 'pause step');
      await s.resume(id, 'frank');
    },
  },
  {
    name: 'background-analysis-failure',
    world: () => new FakeWorld().metric('error-rate', [0.001, 0.5]),
    spec: () =>
      twoEnvSpec({
        service: 'replay-bg',
        withBuild: false,
        canarySteps: [{ setWeight: 10 }, { analysis: { metrics: ['error-rate'], background: true } }, { pause: '1h' }],
        metrics: [{ name: 'error-rate', prometheus: { query: 'q' }, thresholdRange: { max: 0.01 }, interval: '1s' }],
      }),
  },
  {
    name: 'background-analysis-passes',
    world: () => new FakeWorld(),
    spec: () =>
      twoEnvSpec({
        service: 'replay-bgok',
        withBuild: false,
        canarySteps: [{ setWeight: 10 }, { analysis: { metrics: ['error-rate'], background: true } }, { pause: '3s' }, { setWeight: 100 }],
        metrics: [{ name: 'error-rate', prometheus: { query: 'q' }, thresholdRange: { max: 0.01 }, interval: '1s' }],
      }),
  },
  {
    name: 'queued-behind-another-release',
    world: () => new FakeWorld(),
    blocker: true,
    spec: () => twoEnvSpec({ service: 'replay-queue', withBuild: false, canarySteps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 100 }] }),
    drive: async (s, id, blocker) => {
      await waitForStatus(s, id, (st) => st.stages.at(-1)?.stage === 'queued', 'queued');
      await s.abort(blocker!, 'erin', 'make way');
      await waitForStatus(s, id, (st) => st.canary?.description === 'pause until resumed', 'pause step');
      await s.resume(id, 'frank');
    },
  },
  {
    // A judge step with a marginal score sent to the approvers, then a passing one; a web metric
    // measured after its initialDelay with no-data counted as an error (the issue-14 paths).
    name: 'judge-marginal-approved-web-metric',
    world: () =>
      new FakeWorld()
        .metric('queue-depth', [null, 3])
        .judged(
          { score: 75, verdict: 'marginal', reason: '1 of 2 metrics failed', metrics: [judged('latency', 'fail', 1), judged('errors', 'pass', 3)] },
          { score: 100, verdict: 'pass', reason: 'all metrics passed', metrics: [judged('latency', 'pass', 1), judged('errors', 'pass', 3)] },
        ),
    spec: () =>
      twoEnvSpec({
        service: 'replay-judge',
        withBuild: false,
        production: { approval: { approvers: ['alice'], timeout: '1h' } },
        canarySteps: [{ setWeight: 10 }, { judge: { window: '1s' } }, { analysis: { metrics: ['queue-depth'] } }, { setWeight: 50 }, { judge: { window: '1s', wait: false, metrics: ['latency'] } }, { setWeight: 100 }],
        metrics: [{ name: 'queue-depth', web: { url: 'http://metrics.example.com/queue', jsonPath: '$.depth' }, thresholdRange: { max: 10 }, interval: '1s', count: 2, initialDelay: '1s' }],
        judge: {
          canary: { track: 'canary' },
          baseline: { track: 'stable' },
          marginal: 'approval',
          metrics: [
            { name: 'latency', query: 'avg(latency{track="{{track}}"})' },
            { name: 'errors', proportion: { errors: 'sum(increase(e{track="{{track}}"}[{{window}}]))', total: 'sum(increase(r{track="{{track}}"}[{{window}}]))' }, weight: 3 },
          ],
        },
      }),
    drive: async (s, id) => {
      await waitForStatus(s, id, (st) => st.approvals.pending?.gate === 'production/approval', 'env gate');
      await s.approve(id, { approver: 'alice' });
      await waitForStatus(s, id, (st) => st.approvals.pending?.gate === 'production/canary/judge-step-2', 'judge gate');
      await s.approve(id, { approver: 'alice', comment: 'accepted' });
    },
  },
  {
    name: 'compensation-failure',
    world: () => new FakeWorld().fail('promoteCanary').fail('restoreTraffic', 'unreachable'),
    spec: () => twoEnvSpec({ service: 'replay-compfail', withBuild: false, rollbackScope: 'release' }),
  },
];

async function main() {
  mkdirSync(OUT, { recursive: true });
  const ctx = await connectClient();
  try {
    // RECORD_ONLY=name1,name2 records only these scenarios.
    const only = process.env.RECORD_ONLY?.split(',');
    for (const sc of scenarios.filter((x) => !only || only.includes(x.name))) {
      const world = sc.world();
      const queues = uniqueQueues('replay');
      await withWorkers(queues, world.activities(), async () => {
        let blocker: string | undefined;
        if (sc.blocker) {
          blocker = (await startRelease(ctx.shipyard, queues, sc.spec(), { commit: 'fedcba9876543210fedcba9876543210fedcba98', environments: ['production'] })).releaseId;
          await waitForStatus(ctx.shipyard, blocker, (st) => st.canary?.description === 'pause until resumed', 'blocker holds the lease');
        }
        const { releaseId } = await startRelease(ctx.shipyard, queues, sc.spec(), { commit: '0123456789abcdef0123456789abcdef01234567' });
        await sc.drive?.(ctx.shipyard, releaseId, blocker);
        const final = await ctx.shipyard.wait(releaseId, undefined, 200);
        const history = await ctx.client.workflow.getHandle(releaseId).fetchHistory();
        // Older recordings stay: they guard the code paths patched() keeps for them.
        const suffix = process.env.RECORD_SUFFIX ? `-${process.env.RECORD_SUFFIX}` : '';
        writeFileSync(`${OUT}${sc.name}${suffix}.json`, `${historyToJSON(history)}\n`);
        console.log(`${sc.name}: ${final.outcome}, ${history.events?.length} events`);
        if (sc.blocker) {
          // The lease workflow the two releases shared: guards leaseWorkflow's own patches.
          const lease = await ctx.client.workflow.getHandle(leaseWorkflowId(sc.spec().service, 'production', { line: queues.orchestrator })).fetchHistory();
          writeFileSync(`${OUT}lease-${sc.name}${suffix}.json`, `${historyToJSON(lease)}\n`);
          console.log(`lease-${sc.name}: ${lease.events?.length} events`);
          // The line's freeze workflow (still running: a partial history replays too).
          const freeze = await ctx.client.workflow.getHandle(freezeWorkflowId(queues.orchestrator)).fetchHistory();
          writeFileSync(`${OUT}freeze-${sc.name}${suffix}.json`, `${historyToJSON(freeze)}\n`);
          console.log(`freeze-${sc.name}: ${freeze.events?.length} events`);
        }
      });
    }
    if (!only || only.includes(TRAIN_SCENARIO)) await recordTrain(ctx);
  } finally {
    await ctx.close();
  }
}

const TRAIN_SCENARIO = 'train-rolled-back';

/**
 * A train a -> b where b fails: a is released, holds, and is rolled back by the train's verdict.
 * Records the train's history and a's (the release's train hold), so both stay replayable.
 */
async function recordTrain(ctx: Awaited<ReturnType<typeof connectClient>>) {
  const world = new FakeWorld().fail('helmDeploy', 'helm: injected failure', { environment: 'stg-b' });
  const queues = uniqueQueues('replay');
  const spec = (service: string, env: string) => ({
    service,
    source: { repo: 'https://git.example.com/team/app.git' },
    environments: [{ name: env, deploy: { helm: { chart: 'oci://registry.local/charts/app', release: service, namespace: 'staging', timeout: '1m' } } }],
  });
  const train = validateTrainSpec({ name: 'replay-train', services: [{ name: 'replay-ta', spec: spec('replay-ta', 'stg-a') }, { name: 'replay-tb', dependsOn: ['replay-ta'], spec: spec('replay-tb', 'stg-b') }] });
  await withWorkers(queues, world.activities(), async () => {
    const commits = { 'replay-ta': '0123456789abcdef0123456789abcdef01234567', 'replay-tb': '89abcdef0123456789abcdef0123456789abcdef' };
    const { trainId } = await startTrain(ctx.shipyard, { train, commits, trigger: { kind: 'cli', by: 'carol' }, taskQueues: queues });
    await ctx.client.workflow.getHandle(trainId).result().catch(() => undefined);
    const suffix = process.env.RECORD_SUFFIX ? `-${process.env.RECORD_SUFFIX}` : '';
    const history = await ctx.client.workflow.getHandle(trainId).fetchHistory();
    writeFileSync(`${OUT}${TRAIN_SCENARIO}${suffix}.json`, `${historyToJSON(history)}\n`);
    const held = await ctx.client.workflow.getHandle(`${trainId}/replay-ta`).fetchHistory();
    writeFileSync(`${OUT}${TRAIN_SCENARIO}-release-held${suffix}.json`, `${historyToJSON(held)}\n`);
    console.log(`${TRAIN_SCENARIO}: ${history.events?.length} events; its release held and rolled back: ${held.events?.length} events`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
