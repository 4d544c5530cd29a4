// Bench: CPU cost of creating + replaying ONE workflow on a worker (what every release parked at a
// gate costs after an orchestrator restart, when a query or task needs its history replayed). No
// server: committed histories (test/replay/histories/) are replayed in this process with
// Worker.runReplayHistories, the same history BENCH_REPLAY_N times in a row, one workflow at a time.
// Reported: process CPU (user+system, all threads: the SDK's workflow thread and Core included) per
// replay, after BENCH_REPLAY_WARMUP replays that are not counted. Wall time is not a useful number on a
// shared machine; CPU time is. Rows, side by side in one run:
//   floor           emptyWorkflow (bench/workflows.ts) alone in a bundle: the SDK's cost per workflow
//   + shipyard mods emptyWorkflow in a bundle that also holds every Shipyard workflow module: adds the
//                   per-workflow evaluation of Shipyard's modules (not the preloaded ones)
//   parked release  a release history cut where it waits at its approval gate, production bundle
//   whole release   the same history to its end
//   BENCH_REPLAY_N=200  BENCH_REPLAY_WARMUP=20  BENCH_REPLAY_ROUNDS=3 (rows interleaved per round; the
//   median round is printed)  BENCH_REPLAY_BUNDLES=a.js,b.js (extra: the parked release on these
//   prebuilt bundles too, for before/after comparisons of bundle changes)  BENCH_REPLAY_ONLY=text (rows whose
//   label contains it, e.g. for node --cpu-prof)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import { quietRuntime } from '../test/helpers/temporal.js';
import { PRELOAD_MODULES, WORKFLOWS_PATH, workflowSource } from '../workers/bundle.js';

const N = Number(process.env.BENCH_REPLAY_N || 200);
const WARMUP = Number(process.env.BENCH_REPLAY_WARMUP || 20);
const ROUNDS = Number(process.env.BENCH_REPLAY_ROUNDS || 3);
const HISTORY = fileURLToPath(new URL('../../test/replay/histories/approval-timeout-v4.json', import.meta.url));
const BENCH_WORKFLOWS = fileURLToPath(new URL('./workflows.js', import.meta.url));

type Json = { events: Array<Record<string, any>> };

/** The history up to the last completed workflow task before the first timer fires: parked at the approval gate. */
function parkedAtGate(full: Json): Json {
  const fired = full.events.findIndex((e) => e.eventType === 'EVENT_TYPE_TIMER_FIRED');
  let end = fired;
  while (end > 0 && full.events[end - 1].eventType !== 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED') end--;
  return { ...full, events: full.events.slice(0, end) };
}

/** A finished emptyWorkflow: started, one workflow task, completed. */
function emptyWorkflowHistory(template: Json): Json {
  const started = structuredClone(template.events[0]);
  const attrs = started.workflowExecutionStartedEventAttributes;
  attrs.workflowType = { name: 'emptyWorkflow' };
  delete attrs.input;
  delete attrs.searchAttributes;
  delete attrs.memo;
  const at = started.eventTime;
  const ev = (eventId: number, eventType: string, extra: Record<string, unknown>) => ({ eventId: String(eventId), eventTime: at, eventType, taskId: String(eventId), ...extra });
  return {
    events: [
      { ...started, eventId: '1' },
      ev(2, 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', { workflowTaskScheduledEventAttributes: { taskQueue: attrs.taskQueue, startToCloseTimeout: '10s', attempt: 1 } }),
      ev(3, 'EVENT_TYPE_WORKFLOW_TASK_STARTED', { workflowTaskStartedEventAttributes: { scheduledEventId: '2', identity: 'bench', requestId: 'bench' } }),
      ev(4, 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED', { workflowTaskCompletedEventAttributes: { scheduledEventId: '2', startedEventId: '3', identity: 'bench' } }),
      ev(5, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED', { workflowExecutionCompletedEventAttributes: { workflowTaskCompletedEventId: '4' } }),
    ],
  };
}

async function bundle(workflowsPath: string, preload: string[]): Promise<{ code: string }> {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };
  return bundleWorkflowCode({ workflowsPath, logger: quiet, preloadModules: preload });
}

/** CPU ms per replay over N replays of one history, after WARMUP uncounted ones; fails on any replay error. */
async function cpuPerReplay(options: ReplayWorkerOptions, history: History): Promise<number> {
  const total = WARMUP + N;
  let start: NodeJS.CpuUsage | undefined;
  let done = 0;
  const histories = Array.from({ length: total }, (_, i) => ({ workflowId: `bench-${i}`, history }));
  // debugMode false: the workflows run in a workflow thread as on a real worker (the replay default,
  // debug mode, runs them in this thread, where every promise of the worker also hits the SDK's hooks).
  for await (const r of Worker.runReplayHistories({ debugMode: false, ...options } as ReplayWorkerOptions, histories)) {
    if (r.error) throw new Error(`replay ${done} failed: ${r.error.message}`);
    if (++done === WARMUP) start = process.cpuUsage();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / N;
}

async function main() {
  quietRuntime();
  const full = JSON.parse(readFileSync(HISTORY, 'utf8')) as Json;
  const parked = parkedAtGate(full);
  const empty = historyFromJSON(emptyWorkflowHistory(full));
  // Shipyard's workflow modules next to emptyWorkflow, bundled as production bundles them (workers/bundle.ts).
  // (under dist/ so the preloaded packages resolve from node_modules as they do for the real entry)
  const dir = mkdtempSync(fileURLToPath(new URL('../.replay-bench-', import.meta.url)));
  const combined = join(dir, 'workflows.js');
  writeFileSync(combined, `export * from ${JSON.stringify(WORKFLOWS_PATH)};\nexport * from ${JSON.stringify(BENCH_WORKFLOWS)};\n`);
  const rows: Array<{ label: string; options: () => Promise<ReplayWorkerOptions>; history: History }> = [
    { label: 'floor: emptyWorkflow, SDK only', options: async () => ({ workflowBundle: await bundle(BENCH_WORKFLOWS, []) }), history: empty },
    { label: 'emptyWorkflow + Shipyard modules', options: async () => ({ workflowBundle: await bundle(combined, PRELOAD_MODULES) }), history: empty },
    { label: `parked release (${parked.events.length} events)`, options: async () => workflowSource(), history: historyFromJSON(parked) },
    { label: `whole release (${full.events.length} events)`, options: async () => workflowSource(), history: historyFromJSON(full) },
  ];
  for (const path of (process.env.BENCH_REPLAY_BUNDLES || '').split(',').filter(Boolean)) {
    rows.push({ label: `parked release, ${path}`, options: async () => ({ workflowBundle: { codePath: path } }), history: historyFromJSON(parked) });
  }
  const only = process.env.BENCH_REPLAY_ONLY;
  if (only) rows.splice(0, rows.length, ...rows.filter((r) => r.label.includes(only)));
  let options: ReplayWorkerOptions[];
  try {
    options = await Promise.all(rows.map((r) => r.options()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const samples = rows.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, row] of rows.entries()) samples[i].push(await cpuPerReplay(options[i], row.history));
  }
  console.log(`CPU ms per replay (user+system, all threads), ${N} replays after ${WARMUP} warm-up, median of ${ROUNDS} rounds [all rounds]:`);
  for (const [i, row] of rows.entries()) {
    const s = [...samples[i]].sort((a, b) => a - b);
    console.log(`  ${row.label.padEnd(48)} ${s[Math.floor(s.length / 2)].toFixed(2).padStart(7)}   [${samples[i].map((x) => x.toFixed(2)).join(', ')}]`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
