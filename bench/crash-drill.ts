// Crash drill: for each stage of a release, a worker process is SIGKILLed while one of the stage's
// activities runs, a new worker is started at once, and we measure (a) how long after the new
// worker's start the killed activity runs again, (b) how long until the release completes. The
// budget is 20 s for (a): heartbeat timeout 15 s (workflows/activity-options.ts) + the heartbeat
// flush interval + the retry's first backoff. Compared as a ratio, never asserted: it is a bench.
//
// Activities are MOCKED (test/helpers/ledger-activities.ts: every attempt is appended to a ledger
// with its attempt number, wall-clock start and worker pid) but run in a real separate worker
// process (test/helpers/crash-worker.ts) against the real dev server, as test/integration/crash.test.ts.
// Drills run in parallel (a pool), one release each on its own task queues. Besides the ledger, the
// server's own view is polled (pending activities: when the killed attempt timed out, when the retry
// was offered), so the time the server takes is told apart from the time the new worker takes to start.
//   BENCH_DRILL_ONLY=build,canary    only these stages (or activity names)
//   BENCH_DRILL_PARALLEL=3           releases at a time (a new worker's start slows down under load)
//   BENCH_DRILL_KILL_AFTER_MS=0      how long the activity runs before the kill; one round per value.
//     ~0 is the worst case: a heartbeat has just been recorded (heartbeating activities), or the whole
//     start-to-close is still ahead (a measurement, which has no heartbeat timeout).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import proto from '@temporalio/proto';
import { HEARTBEAT_TIMEOUT } from '../workflows/activity-options.js';
import { readLedger, type LedgerLine } from '../test/helpers/ledger-activities.js';
import { startRelease, type HistoryEvent } from '../test/helpers/release.js';
import { twoEnvSpec } from '../test/helpers/specs.js';
import { startCrashWorker } from '../test/helpers/crash-process.js';
import { connectClient, eventually, uniqueName, uniqueQueues, type TemporalTestContext, type TestQueues } from '../test/helpers/temporal.js';

const BUDGET_MS = 20_000;
const KILL_AFTER_MS = (process.env.BENCH_DRILL_KILL_AFTER_MS || '0').split(',').map(Number);
const PARALLEL = Number(process.env.BENCH_DRILL_PARALLEL || 3);
/** Long enough that the kill always lands inside the activity. */
const SLOW_MS = 120_000;
const { TimeoutType, EventType } = proto.temporal.api.enums.v1;

interface Drill {
  stage: string;
  activity: string;
}

const DRILLS: Drill[] = [
  { stage: 'build', activity: 'runTestGate' },
  { stage: 'build', activity: 'buildTarget' },
  { stage: 'images', activity: 'publishImage' },
  { stage: 'deploy', activity: 'helmDeploy' },
  { stage: 'deploy', activity: 'gitopsUpdate' },
  { stage: 'health', activity: 'checkHealth' },
  { stage: 'canary', activity: 'setTrafficWeight' },
  { stage: 'canary', activity: 'measureMetric' },
  { stage: 'promote', activity: 'promoteCanary' },
];

interface Row extends Drill {
  killAfterMs: number;
  killed: number;
  /**
   * Seconds from the new worker's spawn: it polls (ready); the server timed the killed attempt out
   * (timedOut) and offered the retry (offered); the retry runs (resumed, from the ledger); the release closed.
   */
  ready: number;
  timedOut: number;
  offered: number;
  resumed: number;
  completed: number;
  detectedBy: string;
  stickyTimeouts: number;
  error?: string;
}

const children = new Set<ChildProcess>();
// Never leave a worker behind, whatever happens to the bench.
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function startWorker(queues: TestQueues, ledger: string, log: string, slow = ''): Promise<ChildProcess> {
  return startCrashWorker(queues, ledger, {
    slow,
    stderrTo: log,
    onSpawn: (child) => {
      children.add(child);
      child.on('exit', () => children.delete(child));
    },
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => {
      children.delete(child);
      resolve();
    });
    child.kill('SIGKILL');
  });
}

const tsMs = (t: HistoryEvent['eventTime']) => (t ? Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** What history says about the retried attempts of `activity`: when they started and which timeout ended the killed one. */
function fromHistory(events: HistoryEvent[], activity: string, since: number) {
  const types = new Map<string, string>();
  for (const e of events) if (e.activityTaskScheduledEventAttributes) types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType!.name!);
  const retries = events
    .filter((e) => e.activityTaskStartedEventAttributes && types.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) === activity)
    .map((e) => e.activityTaskStartedEventAttributes!)
    .filter((a) => (a.attempt ?? 1) >= 2);
  const timeouts = retries.map((a) => TimeoutType[a.lastFailure?.timeoutFailureInfo?.timeoutType ?? 0]?.replace(/^TIMEOUT_TYPE_/, '') ?? '?');
  // A workflow task sent to the dead worker's sticky queue waits for its schedule-to-start timeout (unless the server sees no poller).
  const sticky = events.filter(
    (e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT && tsMs(e.eventTime) >= since &&
      e.workflowTaskTimedOutEventAttributes?.timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
  ).length;
  return { retries: retries.length, detectedBy: [...new Set(timeouts)].join('+') || '-', sticky };
}

/** Polls the server's pending activities: when each killed attempt timed out and when its retry was offered (ms epoch, latest over them). */
function watchRetries(ctx: TemporalTestContext, releaseId: string, activity: string) {
  const seen = new Map<string, { timedOut: number; offered: number }>();
  let stop = false;
  const done = (async () => {
    while (!stop) {
      try {
        const now = Date.now();
        const d = await ctx.client.workflow.getHandle(releaseId).describe();
        for (const p of d.raw.pendingActivities ?? []) {
          if (p.activityType?.name !== activity || (p.attempt ?? 1) < 2) continue;
          // This server leaves lastAttemptCompleteTime unset: the timeout is when a poll first sees the
          // retry (within 200 ms); scheduledTime is when the retry is (or was) made available to workers.
          const at = seen.get(p.activityId!)?.timedOut ?? now;
          seen.set(p.activityId!, { timedOut: at, offered: tsMs(p.scheduledTime) });
        }
      } catch {
        // closed or briefly unreachable: keep what was seen
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return async () => {
    stop = true;
    await done;
    const all = [...seen.values()];
    const latest = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
    return { timedOut: latest(all.map((v) => v.timedOut)), offered: latest(all.map((v) => v.offered)), count: all.length };
  };
}

async function drill(ctx: TemporalTestContext, d: Drill, killAfterMs: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), `drill-${d.activity}-`));
  const ledger = join(dir, 'ledger.tsv');
  const log = join(dir, 'workers.log');
  const queues = uniqueQueues(`drill-${d.stage}`);
  const spec = twoEnvSpec({ service: uniqueName(`drill${d.activity.toLowerCase()}`) });
  const row: Row = { ...d, killAfterMs, killed: 0, ready: NaN, timedOut: NaN, offered: NaN, resumed: NaN, completed: NaN, detectedBy: '-', stickyTimeouts: 0 };
  let worker = await startWorker(queues, ledger, log, `${d.activity}:${SLOW_MS}`);
  let releaseId: string | undefined;
  try {
    releaseId = (await startRelease(ctx.shipyard, queues, spec)).releaseId;
    const mine = (l: LedgerLine) => l.kind === 'attempt' && l.name === d.activity && l.pid === worker.pid;
    await eventually(async () => readLedger(ledger).some(mine), 120_000, `${d.activity} to start`);
    await new Promise((r) => setTimeout(r, killAfterMs));
    await kill(worker);
    // Read once the process is dead: every attempt it had begun (buildTarget: both targets).
    const killed = readLedger(ledger).filter(mine);
    row.killed = killed.length;
    const t0 = Date.now();
    const server = watchRetries(ctx, releaseId, d.activity);
    worker = await startWorker(queues, ledger, log);
    row.ready = seconds(Date.now() - t0);
    // The stage goes on once every killed attempt runs again.
    const again = (k: LedgerLine, lines: LedgerLine[]) => lines.find((l) => l.kind === 'attempt' && l.key === k.key && (l.attempt ?? 0) > (k.attempt ?? 0));
    const resumedAt = await eventually(
      async () => {
        const lines = readLedger(ledger);
        const retried = killed.map((k) => again(k, lines));
        return retried.every(Boolean) && Math.max(...retried.map((l) => l!.at!));
      },
      120_000,
      `${d.activity} to run again`,
    );
    row.resumed = seconds(resumedAt - t0);
    const seen = await server();
    row.timedOut = seconds(seen.timedOut - t0);
    row.offered = seconds(seen.offered - t0);
    const final = await Promise.race([
      ctx.shipyard.wait(releaseId, undefined, 200),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('release did not complete within 180 s')), 180_000)),
    ]);
    const closed = (await ctx.client.workflow.getHandle(releaseId).describe()).closeTime;
    row.completed = seconds((closed?.getTime() ?? Date.now()) - t0);
    if (final.outcome !== 'succeeded') throw new Error(`release ${final.outcome}: ${final.message}`);
    const h = fromHistory((await ctx.shipyard.history(releaseId)) as HistoryEvent[], d.activity, t0);
    row.detectedBy = h.detectedBy;
    row.stickyTimeouts = h.sticky;
    // The drill is only valid if the killed attempt was retried once (ledger and history agree) and its side effect stayed single.
    if (h.retries !== killed.length) throw new Error(`history shows ${h.retries} retried ${d.activity}, ${killed.length} were killed`);
    const lines = readLedger(ledger);
    for (const k of killed) {
      const retries = lines.filter((l) => l.kind === 'attempt' && l.key === k.key && (l.attempt ?? 0) > (k.attempt ?? 0)).length;
      const effects = lines.filter((l) => l.kind === 'effect' && l.key === k.key).length;
      if (retries !== 1 || effects > 1) throw new Error(`${k.key}: ${retries} retries, ${effects} effects`);
    }
  } catch (err) {
    row.error = `${(err as Error).message} (logs in ${dir})`;
    if (releaseId) await ctx.client.workflow.getHandle(releaseId).terminate('crash drill failed').catch(() => undefined);
  } finally {
    await kill(worker);
  }
  if (!row.error) rmSync(dir, { recursive: true, force: true });
  return row;
}

function table(rows: Row[]) {
  const head = ['stage', 'activity', 'killed', 'ready', 'timed out', 'offered', 'resumed', 'detected by', 'sticky t/o', 'completed', 'resumed/budget'];
  const f = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(1));
  const ratio = (v: number) => (Number.isNaN(v) ? '-' : `${(v / (BUDGET_MS / 1000)).toFixed(2)}x`);
  const cells = rows.map((r) => [
    r.stage, r.activity, String(r.killed), f(r.ready), f(r.timedOut), f(r.offered), f(r.resumed), r.detectedBy, String(r.stickyTimeouts), f(r.completed), ratio(r.resumed),
  ]);
  const ok = rows.filter((r) => !r.error);
  const max = (g: (r: Row) => number) => Math.max(...ok.map(g));
  if (ok.length) {
    cells.push(['max', '', '', f(max((r) => r.ready)), f(max((r) => r.timedOut)), f(max((r) => r.offered)), f(max((r) => r.resumed)), '', '', f(max((r) => r.completed)), ratio(max((r) => r.resumed))]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => '  ' + c.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const c of cells) console.log(line(c));
}

/** Runs `fn` over `items`, at most `n` at a time, keeping the order of the results. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  return out;
}

async function main() {
  const only = (process.env.BENCH_DRILL_ONLY ?? '').split(',').filter(Boolean);
  const drills = DRILLS.filter((d) => !only.length || only.includes(d.stage) || only.includes(d.activity));
  const ctx = await connectClient();
  const started = Date.now();
  const all: Row[] = [];
  // Rounds one after the other: a round's parallel worker starts already load the machine.
  for (const killAfterMs of KILL_AFTER_MS) {
    const rows = await pool(drills, PARALLEL, (d) => drill(ctx, d, killAfterMs));
    all.push(...rows);
    console.log(`\ncrash drill, ${drills.length} releases, ${PARALLEL} at a time: each SIGKILLs its worker ${killAfterMs / 1000} s into the activity and starts a new one at once.`);
    console.log(`seconds from the new worker's spawn; budget ${BUDGET_MS / 1000} s to resume (heartbeat timeout ${HEARTBEAT_TIMEOUT}).`);
    table(rows);
  }
  await ctx.close();
  console.log('  ready: the new worker polls; timed out / offered: the server failed the killed attempt / made its retry available');
  console.log('  (pending activity); resumed: the retry runs on the new worker (ledger); completed: the release closed.');
  console.log("  detected by: the timeout that failed the killed attempt (history); sticky t/o: workflow tasks that timed out on the dead worker's sticky queue.");
  const ok = all.filter((r) => !r.error);
  if (ok.length) {
    const worst = ok.reduce((a, b) => (b.resumed > a.resumed ? b : a));
    console.log(`  worst resume over ${KILL_AFTER_MS.length} round(s): ${worst.resumed.toFixed(1)} s (${worst.stage}/${worst.activity}, killed ${worst.killAfterMs / 1000} s in) = ${(worst.resumed / (BUDGET_MS / 1000)).toFixed(2)}x the budget`);
  }
  console.log(`  total ${seconds(Date.now() - started)} s`);
  const failed = all.filter((r) => r.error);
  for (const r of failed) console.error(`  FAILED ${r.stage}/${r.activity}: ${r.error}`);
  process.exit(failed.length ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
