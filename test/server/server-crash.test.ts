// SIGKILL the Temporal SERVER mid-release and start it again on the same PostgreSQL databases and
// ports: the release completes, and every side effect happened once. This test runs a
// temporal-server of its own (fresh databases on the tier's PostgreSQL) so killing it disturbs no
// other test. Activities are MOCKED (ledger-backed, test/helpers/ledger-activities.ts): the tier
// has no Kubernetes cluster and tests the server; the worker stays up through the outage.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { twoEnvSpec } from '../helpers/specs.js';
import { readLedger, ledgerActivities } from '../helpers/ledger-activities.js';
import { eventTypes, historyOf, type HistoryEvent, startRelease, waitForStatus } from '../helpers/release.js';
import { startOwnServer, type OwnServer } from '../helpers/real-server.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let server: OwnServer;
let ctx: TemporalTestContext;
before(async () => {
  server = await startOwnServer();
  process.env.TEMPORAL_ADDRESS = server.address; // this file's own server (own process per test file)
  ctx = await connectClient();
});
after(async () => {
  await ctx?.close();
  await server?.stop();
});

const SIDE_EFFECTS = ['helmDeploy', 'gitopsUpdate', 'setTrafficWeight', 'setTrafficWeight', 'promoteCanary'];

function counts(ledger: string, kind: 'attempt' | 'effect') {
  const out = new Map<string, number>();
  for (const l of readLedger(ledger).filter((l) => l.kind === kind)) out.set(l.key, (out.get(l.key) ?? 0) + 1);
  return out;
}

/** Every ACTIVITY_TASK_COMPLETED event with its activity type (from its scheduled event), in order. */
function completions(events: HistoryEvent[]): { name: string; event: HistoryEvent }[] {
  const scheduled = new Map<string, string>();
  for (const e of events) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a) scheduled.set(String(e.eventId), a.activityType!.name!);
  }
  return events
    .filter((e) => e.activityTaskCompletedEventAttributes)
    .map((event) => ({ name: scheduled.get(String(event.activityTaskCompletedEventAttributes!.scheduledEventId))!, event }));
}

/** Activity types of the completions, in order. */
const completedActivities = (events: HistoryEvent[]) => completions(events).map((c) => c.name);

/** When the server recorded an event (ms since the epoch; same machine, same clock). */
function eventMs(e: HistoryEvent): number {
  return Number(String(e.eventTime!.seconds)) * 1000 + (e.eventTime!.nanos ?? 0) / 1e6;
}

/** Kills the server with SIGKILL, leaves it down a moment, starts a new process on the same DB and ports. */
async function crashServer(): Promise<{ before: number | undefined; after: number | undefined; killedAt: number }> {
  const before = server.pid;
  await server.kill();
  const killedAt = Date.now();
  await new Promise((r) => setTimeout(r, 1500));
  await server.restart();
  return { before, after: server.pid, killedAt };
}

describe('temporal-server SIGKILLed mid-release (own server on PostgreSQL, mocked activities)', () => {
  test('during a canary pause timer: the timer survives in PostgreSQL, the release completes, nothing runs twice', async () => {
    const ledger = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.tsv');
    const spec = twoEnvSpec({ service: uniqueName('srvcrash-pause'), withBuild: false, canarySteps: [{ setWeight: 20 }, { pause: '10s' }, { setWeight: 100 }] });
    const queues = uniqueQueues('srvcrash');
    await withWorkers(queues, ledgerActivities(ledger), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      const waiting = await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause 10s', 'canary pause timer', 90_000);
      assert.equal(waiting.canary?.weight, 20);
      const effectsBefore = readLedger(ledger).filter((l) => l.kind === 'effect').map((l) => l.name);
      assert.deepEqual(effectsBefore, ['helmDeploy', 'gitopsUpdate', 'setTrafficWeight'], 'killed after the 20% step, before the timer fired');
      const crash = await crashServer();
      assert.notEqual(crash.after, crash.before, 'a new server process');
      const final = await ctx.shipyard.wait(releaseId, undefined, 250);
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.equal(final.status!.canary?.weight, 0);
      for (const [key, n] of counts(ledger, 'attempt')) assert.equal(n, 1, `${key} ran ${n} times`);
      for (const [key, n] of counts(ledger, 'effect')) assert.equal(n, 1, `${key} happened ${n} times`);
      assert.deepEqual(readLedger(ledger).filter((l) => l.kind === 'effect').map((l) => l.name), SIDE_EFFECTS);
      const events = await historyOf(ctx.shipyard, releaseId);
      const types = eventTypes(events);
      const fired = events.filter((e) => e.timerFiredEventAttributes);
      assert.equal(fired.length, 1, 'the pause timer fired once');
      assert.ok(eventMs(fired[0]) > crash.killedAt, 'by the restarted server, from the timer it found in PostgreSQL');
      assert.deepEqual(completedActivities(events).filter((n) => SIDE_EFFECTS.includes(n)), SIDE_EFFECTS, 'each side effect completed once in history');
      assert.equal(types.at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    });
  });

  test('during a running activity: the worker keeps it going, the server takes its result after the restart, one effect', async () => {
    const ledger = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.tsv');
    const spec = twoEnvSpec({ service: uniqueName('srvcrash-act'), withBuild: false, canarySteps: [{ setWeight: 50 }, { setWeight: 100 }] });
    const queues = uniqueQueues('srvcrash');
    // helmDeploy takes 12 s, heartbeating: the server dies and comes back while it runs.
    await withWorkers(queues, ledgerActivities(ledger, { helmDeploy: 12_000 }), async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
      await eventually(async () => readLedger(ledger).some((l) => l.kind === 'attempt' && l.name === 'helmDeploy'), 90_000, 'helm deploy to start');
      const crash = await crashServer();
      assert.notEqual(crash.after, crash.before, 'a new server process');
      const final = await ctx.shipyard.wait(releaseId, undefined, 250);
      assert.equal(final.outcome, 'succeeded', final.message);
      const attempts = counts(ledger, 'attempt');
      const effects = counts(ledger, 'effect');
      const helmKey = [...attempts.keys()].find((k) => k.includes('|helmDeploy|'))!;
      // If the outage outlasted the heartbeat timeout the server retries the activity: a second
      // attempt is allowed, a second effect is not.
      assert.ok(attempts.get(helmKey)! <= 2, `helmDeploy attempted ${attempts.get(helmKey)} times`);
      for (const [key, n] of attempts) if (key !== helmKey) assert.equal(n, 1, `${key} ran ${n} times`);
      for (const [key, n] of effects) assert.equal(n, 1, `${key} happened ${n} times`);
      assert.deepEqual(readLedger(ledger).filter((l) => l.kind === 'effect').map((l) => l.name), SIDE_EFFECTS);
      const helmStarted = readLedger(ledger).find((l) => l.kind === 'attempt' && l.name === 'helmDeploy')!;
      assert.ok(helmStarted.at! < crash.killedAt, 'helmDeploy was running when the server died');
      const events = await historyOf(ctx.shipyard, releaseId);
      assert.deepEqual(completedActivities(events).filter((n) => SIDE_EFFECTS.includes(n)), SIDE_EFFECTS, 'helmDeploy completed once in history');
      const helmDone = completions(events).find((c) => c.name === 'helmDeploy')!.event;
      assert.ok(eventMs(helmDone) > crash.killedAt, 'its result was recorded by the restarted server');
      assert.equal(eventTypes(events).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    });
  });
});
