// Fleet bench: N releases (default 10,000) parked at approval gates on ONE orchestrator worker process.
// Reports (printed, never asserted; absolute times are noisy on a shared 2-core machine):
//   - RSS of the orchestrator process with N parked (/proc/<pid>/status VmRSS, and the peak VmHWM);
//   - after SIGKILL and a new orchestrator process, the time until ALL N answer `status` (the
//     ShipyardClient.status path: describe + the status query), for several worker settings side by side;
//   - what a restart costs per release: history events and bytes to the gate, and the replay cost of
//     those histories measured alone (Worker.runReplayHistories in this process);
//   - the time to approve all N (ShipyardClient.approve, what `shipyard approve` does in development
//     mode) and until they have all finished.
// The orchestrator is the PRODUCTION entry point, `node dist/workers/orchestrator.js` (workers/worker.ts:
// the same Worker.create options, the real coordination activities, lease and freeze workflows), with
// its settings from the environment (workers/tuning.ts: SHIPYARD_MAX_CACHED_WORKFLOWS...). Build and
// deploy activities are MOCKED fast ones (test/helpers/fake-activities.ts) run in this process on
// their own task queues; every release has its own service (one environment, helm, an approval), so
// each holds its own environment lease, as N different services would.
//   BENCH_FLEET_N=10000          releases
//   BENCH_FLEET_SETTINGS=...     one restart per row, `;`-separated; a row is `key=value,...` with keys
//                                cache (SHIPYARD_MAX_CACHED_WORKFLOWS), wft (..._CONCURRENT_WORKFLOW_TASKS),
//                                polls, threads, reuse (true/false), sticky (SHIPYARD_STICKY_TIMEOUT), heap (MiB, --max-old-space-size),
//                                q (client query concurrency); `default` = production defaults. The
//                                releases are started under the first row; approvals run under the last.
//                                Measured rows (README): 'cache=4000;cache=500;cache=1000;cache=1000,threads=2;cache=1000,q=16'
//   BENCH_FLEET_START_CONCURRENCY=32, BENCH_FLEET_APPROVE_CONCURRENCY=32
//   BENCH_FLEET_INFLIGHT=300     releases started but not yet parked, at most (arrivals paced by parking)
//   BENCH_FLEET_LEASE_CHECK=30s  how often each held lease checks its holder (the release's leaseCheckInterval;
//                                unset = the production default, 30 s)
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import type { ReleaseSpec } from '../spec/schema.js';
import { FakeWorld } from '../test/helpers/fake-activities.js';
import { twoEnvSpec } from '../test/helpers/specs.js';
import { connectClient, quietRuntime, randomCommit, temporalAddress, uniqueName, uniqueQueues, type TestQueues } from '../test/helpers/temporal.js';
import { cpuSeconds } from '../test/helpers/proc.js';
import { workflowSource } from '../workers/bundle.js';
import { DEFAULT_TUNING } from '../workers/tuning.js';
import { freezeWorkflowId } from '../workflows/messages.js';

const N = Number(process.env.BENCH_FLEET_N || 10_000);
const START_CONCURRENCY = Number(process.env.BENCH_FLEET_START_CONCURRENCY || 32);
// Unparked releases at a time. All 10,000 at once thrash the sticky cache (every release is evicted
// between its own workflow tasks and replays at each) and queue behind each other on the dev server.
const INFLIGHT = Number(process.env.BENCH_FLEET_INFLIGHT || 300);
const APPROVE_CONCURRENCY = Number(process.env.BENCH_FLEET_APPROVE_CONCURRENCY || 32);
// Two restarts by default: at 10,000 releases each costs minutes of replay on 2 cores (README "Large fleets").
const SETTINGS = (process.env.BENCH_FLEET_SETTINGS || 'cache=2000;default')
  .split(';')
  .map((s) => s.trim())
  .filter(Boolean);
const ORCHESTRATOR = fileURLToPath(new URL('../workers/orchestrator.js', import.meta.url));
const STALL_MS = 180_000;
const LEASE_CHECK = process.env.BENCH_FLEET_LEASE_CHECK || undefined;
const MiB = 1024 * 1024;

interface Setting {
  label: string;
  env: Record<string, string>;
  nodeArgs: string[];
  queryConcurrency: number;
}

const KEYS: Record<string, string> = {
  cache: 'SHIPYARD_MAX_CACHED_WORKFLOWS',
  wft: 'SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS',
  polls: 'SHIPYARD_MAX_WORKFLOW_TASK_POLLS',
  threads: 'SHIPYARD_WORKFLOW_THREADS',
  reuse: 'SHIPYARD_REUSE_V8_CONTEXT',
  sticky: 'SHIPYARD_STICKY_TIMEOUT',
};

function parseSetting(row: string): Setting {
  const s: Setting = { label: row, env: {}, nodeArgs: [], queryConcurrency: 64 };
  if (row === 'default') return s;
  for (const part of row.split(',')) {
    const [k, v] = part.split('=').map((x) => x.trim());
    if (k === 'default') continue;
    if (k === 'q') s.queryConcurrency = Number(v);
    else if (k === 'heap') s.nodeArgs.push(`--max-old-space-size=${v}`);
    else if (KEYS[k]) s.env[KEYS[k]] = v;
    else throw new Error(`BENCH_FLEET_SETTINGS: unknown key '${k}' in '${row}'`);
  }
  return s;
}

// ---- the orchestrator process ----

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

interface Orchestrator {
  child: ChildProcess;
  spawnedAt: number;
  readyAt: number;
}

function startOrchestrator(queues: TestQueues, setting: Setting, log: string): Promise<Orchestrator> {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [...setting.nodeArgs, ORCHESTRATOR], {
    env: {
      ...process.env,
      SHIPYARD_ORCHESTRATOR_QUEUE: queues.orchestrator,
      SHIPYARD_BUILD_QUEUE: queues.build,
      SHIPYARD_DEPLOY_QUEUE: queues.deploy,
      SHIPYARD_METRICS_ADDRESS: 'off',
      SHIPYARD_LOG_LEVEL: 'WARN',
      ...setting.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const out = createWriteStream(log, { flags: 'a' });
  child.stderr!.pipe(out);
  return new Promise((resolve, reject) => {
    let ready = false;
    child.stdout!.on('data', (d) => {
      out.write(d);
      if (!ready && String(d).includes('shipyard worker [orchestrator] connected')) {
        ready = true;
        resolve({ child, spawnedAt, readyAt: Date.now() });
      }
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (!ready) reject(new Error(`orchestrator exited during start (${code ?? signal}); see ${log}`));
    });
  });
}

function sigkill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** VmRSS and VmHWM (peak) in MiB. */
function memory(pid: number): { rss: number; peak: number } {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // Said plainly instead of an ENOENT from a progress timer (its log is in the bench's directory).
    throw new Error(`the orchestrator process ${pid} is gone (crashed or killed); see orchestrator.log`);
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The dev server's pid (the `temporal server start-dev` listening on TEMPORAL_ADDRESS's port), to read its CPU. */
function serverPid(): number | undefined {
  const port = temporalAddress().split(':').pop();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (cmd.includes('start-dev') && cmd[cmd.indexOf('--port') + 1] === port) return Number(p);
    } catch {
      // gone
    }
  }
  return undefined;
}

// ---- helpers ----

async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
}

/** Prints `what k/N` every 2 s while `work` runs. */
async function withProgress<T>(what: () => string, work: Promise<T>): Promise<T> {
  const timer = setInterval(() => console.log(`  ${what()}`), 2000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

const s1 = (ms: number) => (ms / 1000).toFixed(1);
const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

function fleetSpec(base: ReleaseSpec, i: number, tag: string): ReleaseSpec {
  const service = `fl${tag}-${i}`;
  const [env] = base.environments;
  return { ...base, service, environments: [{ ...env, deploy: { helm: { ...env.deploy.helm!, release: service } } }] };
}

// ---- phases ----

interface Row {
  label: string;
  queryConcurrency: number;
  ready: number;
  allAnswered: number;
  p50: number;
  p99: number;
  retries: number;
  cpu: number;
  serverCpu: number;
  rss: number;
  peak: number;
  rssSettled: number;
  error?: string;
}

async function main() {
  const settings = SETTINGS.map(parseSetting);
  quietRuntime();
  const ctx = await connectClient();
  const { client, shipyard } = ctx;
  const queues = uniqueQueues('fleet');
  const tag = uniqueName('').slice(1, 6);
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
  const log = join(dir, 'orchestrator.log');
  const benchStart = Date.now();
  const server = serverPid();
  console.log(`fleet bench: ${N} releases parked at approvals on one orchestrator process (task queue ${queues.orchestrator}); logs in ${dir}`);
  console.log(`  production defaults (workers/tuning.ts): ${JSON.stringify(DEFAULT_TUNING)}; lease check interval ${LEASE_CHECK ?? '30s (default)'}`);

  // Mocked build/deploy activities, in this process on their own queues.
  const world = new FakeWorld();
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const activityWorker = await Worker.create({
    connection,
    taskQueue: queues.deploy,
    activities: { ...world.build(), ...world.deploy() },
    maxConcurrentActivityTaskExecutions: 200,
  });
  const activityRun = activityWorker.run();

  // Parsed by the real validator; then only its first environment (staging: helm, and here an approval).
  const base = twoEnvSpec({ service: 'fleet', withBuild: false, notify: [], staging: { approval: { approvers: ['alice'], timeout: '24h' } } });
  const spec: ReleaseSpec = { ...base, environments: [base.environments[0]] };
  const ids: string[] = new Array(N);
  const q = `TaskQueue="${queues.orchestrator}" AND WorkflowType="releaseWorkflow"`;
  const count = async (extra: string) => (await client.workflow.count(`${q} AND ${extra}`)).count;

  // 1. Park N releases under the first setting.
  let orch = await startOrchestrator(queues, settings[0], log);
  const t0 = Date.now();
  let started = 0;
  let parked = 0;
  await withProgress(
    () => `starting ${started}/${N}, parked ${parked}/${N} (${s1(Date.now() - t0)} s, orchestrator ${memory(orch.child.pid!).rss.toFixed(0)} MiB)`,
    (async () => {
      const counting = (async () => {
        let last = 0;
        let lastChange = Date.now();
        while (parked < N) {
          await new Promise((r) => setTimeout(r, 1000));
          parked = await count('ShipyardStage="approval" AND ExecutionStatus="Running"').catch(() => parked);
          if (parked !== last) [last, lastChange] = [parked, Date.now()];
          if (Date.now() - lastChange > STALL_MS) throw new Error(`parking stalled at ${parked}/${N}`);
        }
      })();
      await pool(ids, START_CONCURRENCY, async (_, i) => {
        // Releases arrive over time, not all in one burst: at most INFLIGHT on their way to the gate.
        while (started - parked >= INFLIGHT) await new Promise((r) => setTimeout(r, 200));
        const s = fleetSpec(spec, i, tag);
        const r = await shipyard.start({ spec: s, commit: randomCommit(), version: 'v1.0.0', trigger: { kind: 'cli', by: 'carol' }, taskQueues: queues, leaseCheckInterval: LEASE_CHECK });
        ids[i] = r.releaseId;
        started++;
      });
      await counting;
    })(),
  );
  const parkMs = Date.now() - t0;
  const parkedMem = memory(orch.child.pid!);
  console.log(`parked ${N}/${N} in ${s1(parkMs)} s (${(N / (parkMs / 1000)).toFixed(0)} releases/s); orchestrator RSS ${parkedMem.rss.toFixed(0)} MiB (peak ${parkedMem.peak.toFixed(0)}) under '${settings[0].label}'`);

  // Parked and idle: what the orchestrator spends (a lease is watched only while a release waits for it).
  const idleCpu0 = cpuSeconds(orch.child.pid!);
  const idleServer0 = server ? cpuSeconds(server) : NaN;
  await new Promise((r) => setTimeout(r, 30_000));
  const idleCpu = (cpuSeconds(orch.child.pid!) - idleCpu0) / 30;
  const idleServer = server ? (cpuSeconds(server) - idleServer0) / 30 : NaN;
  console.log(`parked, idle 30 s: orchestrator CPU ${(idleCpu * 100).toFixed(0)}% of a core (dev server ${(idleServer * 100).toFixed(0)}%), RSS ${memory(orch.child.pid!).rss.toFixed(0)} MiB (leases with nobody waiting are not watched)`);

  // 2. What one parked release's history holds, and what replaying it costs alone.
  const sample = ids.filter((_, i) => i % Math.max(1, Math.floor(N / 200)) === 0).slice(0, 200);
  const histories: { workflowId: string; history: History }[] = [];
  for (const id of sample) histories.push({ workflowId: id, history: await client.workflow.getHandle(id).fetchHistory() });
  const events = histories.map((h) => h.history.events?.length ?? 0);
  const bytes = histories.map((h) => proto.temporal.api.history.v1.History.encode(h.history as never).finish().length);
  const lease = await client.workflow.getHandle(`shipyard/lease/${queues.orchestrator}/${fleetSpec(spec, 0, tag).service}/${spec.environments[0].name}`).describe().catch(() => undefined);
  const freeze = await client.workflow.getHandle(freezeWorkflowId(queues.orchestrator)).describe().catch(() => undefined);
  const replayStart = Date.now();
  const replayCpu0 = process.cpuUsage();
  let replayed = 0;
  for await (const r of Worker.runReplayHistories(workflowSource(), histories)) {
    if (r.error) throw r.error;
    replayed++;
  }
  const replayMs = (Date.now() - replayStart) / replayed;
  const cpu = process.cpuUsage(replayCpu0);
  const replayCpuMs = (cpu.user + cpu.system) / 1000 / replayed;
  console.log(
    `history of a parked release: ${pct(events, 50)} events (max ${Math.max(...events)}), ${(pct(bytes, 50) / 1024).toFixed(1)} KiB; ` +
      `replay alone ${replayMs.toFixed(1)} ms (${replayCpuMs.toFixed(1)} ms CPU) per release (${replayed} replayed in this process, one after another) => ${s1(replayCpuMs * N)} CPU s for ${N}`,
  );
  console.log(
    `  lease workflow of one release: ${lease?.historyLength ?? '?'} events so far; freeze workflow: ${freeze?.historyLength ?? '?'} events in its current run (it continues as new carrying every subscriber)`,
  );

  // 3. SIGKILL and restart, once per setting: time until all N answer status.
  const rows: Row[] = [];
  for (const setting of settings) {
    await sigkill(orch.child);
    const row: Row = { label: setting.label, queryConcurrency: setting.queryConcurrency, ready: NaN, allAnswered: NaN, p50: NaN, p99: NaN, retries: 0, cpu: NaN, serverCpu: NaN, rss: NaN, peak: NaN, rssSettled: NaN };
    rows.push(row);
    console.log(`\nSIGKILL; new orchestrator under '${setting.label}' (${setting.queryConcurrency} status queries at a time)`);
    try {
      const server0 = server ? cpuSeconds(server) : NaN;
      orch = await startOrchestrator(queues, setting, log);
      const ready0 = cpuSeconds(orch.child.pid!);
      row.ready = (orch.readyAt - orch.spawnedAt) / 1000;
      const latencies: number[] = [];
      let answered = 0;
      await withProgress(
        () => `answered ${answered}/${N} (${s1(Date.now() - orch.spawnedAt)} s, ${row.retries} retries, orchestrator ${memory(orch.child.pid!).rss.toFixed(0)} MiB)`,
        pool(ids, setting.queryConcurrency, async (id) => {
          for (;;) {
            const t = Date.now();
            try {
              const s = await shipyard.status(id);
              if (s.stage !== 'approval' || !s.approvals.pending) throw new Error(`${id}: stage ${s.stage}, pending ${JSON.stringify(s.approvals.pending)}`);
              latencies.push(Date.now() - t);
              answered++;
              return;
            } catch (err) {
              if (Date.now() - orch.spawnedAt > STALL_MS * 2) throw err;
              row.retries++;
            }
          }
        }),
      );
      row.allAnswered = (Date.now() - orch.spawnedAt) / 1000;
      row.p50 = pct(latencies, 50);
      row.p99 = pct(latencies, 99);
      row.cpu = cpuSeconds(orch.child.pid!) - ready0;
      row.serverCpu = server ? cpuSeconds(server) - server0 : NaN;
      Object.assign(row, memory(orch.child.pid!));
      // The lease watchdogs keep waking workflows: RSS once they have all fired again.
      await new Promise((r) => setTimeout(r, 30_000));
      row.rssSettled = memory(orch.child.pid!).rss;
      console.log(`  all ${N} answered ${row.allAnswered.toFixed(1)} s after the spawn (ready ${row.ready.toFixed(1)} s); RSS ${row.rss.toFixed(0)} MiB, 30 s later ${row.rssSettled.toFixed(0)} MiB, peak ${row.peak.toFixed(0)} MiB`);
    } catch (err) {
      row.error = (err as Error).message;
      console.log(`  FAILED: ${row.error}`);
    }
  }

  // 4. Approve all N (under the last setting) and let them finish.
  const a0 = Date.now();
  let approved = 0;
  let finished = 0;
  const approveLatencies: number[] = [];
  await withProgress(
    () => `approved ${approved}/${N}, finished ${finished}/${N} (${s1(Date.now() - a0)} s, orchestrator ${memory(orch.child.pid!).rss.toFixed(0)} MiB)`,
    (async () => {
      await pool(ids, APPROVE_CONCURRENCY, async (id) => {
        for (let attempt = 0; ; attempt++) {
          const t = Date.now();
          try {
            await shipyard.approve(id, { approver: 'alice', comment: 'fleet bench', via: 'cli' });
            approveLatencies.push(Date.now() - t);
            approved++;
            return;
          } catch (err) {
            if (attempt >= 5) throw err;
          }
        }
      });
      const approvedMs = Date.now() - a0;
      console.log(`  all ${N} approved in ${s1(approvedMs)} s (approve p50 ${pct(approveLatencies, 50)} ms, p99 ${pct(approveLatencies, 99)} ms)`);
      let lastChange = Date.now();
      while (finished < N) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = await count('ExecutionStatus!="Running"').catch(() => finished);
        if (now !== finished) [finished, lastChange] = [now, Date.now()];
        if (Date.now() - lastChange > STALL_MS) throw new Error(`finishing stalled at ${finished}/${N}`);
      }
    })(),
  );
  const approveAllMs = Date.now() - a0;
  const succeeded = await count('ExecutionStatus="Completed"');
  console.log(`  all ${N} finished ${s1(approveAllMs)} s after the first approval; ${succeeded} succeeded`);

  // The table.
  console.log(`\nfleet bench, ${N} releases parked at approvals, one orchestrator process (2-core machine shared with other work: absolute times are noisy).`);
  console.log(`parking: ${s1(parkMs)} s, RSS ${parkedMem.rss.toFixed(0)} MiB under '${settings[0].label}'; history to the gate ${pct(events, 50)} events, ${(pct(bytes, 50) / 1024).toFixed(1)} KiB; replay alone ${replayMs.toFixed(1)} ms/release`);
  const head = ['setting', 'q', 'ready s', 'all status s', 'goal 60 s', 'p50 ms', 'p99 ms', 'retries', 'cpu s', 'server cpu s', 'RSS MiB', '+30 s MiB', 'peak MiB', 'goal 1 GiB'];
  const cells = rows.map((r) => [
    r.label,
    String(r.queryConcurrency),
    r.ready.toFixed(1),
    r.error ? 'FAILED' : r.allAnswered.toFixed(1),
    r.error ? '-' : `${(r.allAnswered / 60).toFixed(2)}x`,
    String(r.p50),
    String(r.p99),
    String(r.retries),
    r.cpu.toFixed(1),
    r.serverCpu.toFixed(1),
    r.rss.toFixed(0),
    r.rssSettled.toFixed(0),
    r.peak.toFixed(0),
    `${(Math.max(r.peak, r.rssSettled) / 1024).toFixed(2)}x`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => '  ' + c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const c of cells) console.log(line(c));
  console.log(`approve all ${N} under '${settings[settings.length - 1].label}' and let them finish: ${s1(approveAllMs)} s (${succeeded}/${N} succeeded)`);
  console.log(`  ready: the new process polls; all status: every release answered the status query (s from the spawn); p50/p99: one status call;`);
  console.log(`  cpu s: orchestrator CPU seconds from ready until all answered (server cpu s: the dev server's); RSS when all answered, 30 s later, and the peak (VmHWM); q: client queries at a time.`);
  console.log(`total ${s1(Date.now() - benchStart)} s`);

  await sigkill(orch.child);
  activityWorker.shutdown();
  await activityRun;
  await connection.close();
  await ctx.close();
  process.exit(rows.some((r) => r.error) || succeeded !== N ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
