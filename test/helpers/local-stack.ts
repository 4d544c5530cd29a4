// `npm start -- --local-cluster` (scripts/start.js) as a real child process for a test: the whole
// local stack (Temporal dev server, supervised worker and gateway, the demo's registry, kwok cluster,
// Prometheus, hello-api stable/canary, notification sink, GitOps config repo) in a data dir of the
// test's. The demo infra listens on fixed ports (5000, 9090, 18080, 18081, 8099), so two such stacks
// cannot run at once: startLocalStack() holds a lock across test processes while its stack runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort } from './net.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const START = join(ROOT, 'scripts/start.js');
export const LOCAL_STACK_LOCK = join(tmpdir(), 'shipyard-local-stack.lock');
/** The demo infra's fixed ports (scripts/demo-infra.js). */
export const DEMO_PORTS = { registry: 5000, prometheus: 9090, stable: 18080, canary: 18081, notifications: 8099 };
/** The kwok cluster's name and dir under the data dir (scripts/demo-infra.js). */
export const DEMO_CLUSTER = 'shipyard-demo';
export const demoClusterDir = (dataDir: string) => join(dataDir, 'demo/cluster');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the cross-process lock for a --local-cluster stack: mkdir of `dir` (atomic) with the
 * holder's pid inside. Waits up to `timeoutMs` for another holder; a lock whose holder is dead (or
 * that has had no pid file for 30 s) is taken over. Returns the release function (idempotent; also
 * run when this process exits).
 */
export async function lockLocalStack({ dir = LOCAL_STACK_LOCK, timeoutMs = 15 * 60_000, log = (m: string) => console.log(`[local-stack] ${m}`) } = {}): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  const pidFile = join(dir, 'pid');
  let announced = false;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(pidFile, `${process.pid}\n`);
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        process.removeListener('exit', release);
        // Only our own lock: a takeover by someone else (we were presumed dead) is theirs now.
        try {
          if (Number(readFileSync(pidFile, 'utf8')) === process.pid) rmSync(dir, { recursive: true, force: true });
        } catch {
          // gone already
        }
      };
      process.once('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: number | undefined;
    let age = 0;
    try {
      holder = Number(readFileSync(pidFile, 'utf8'));
    } catch {
      // being created (mkdir done, pid not written yet) or removed meanwhile
      try {
        age = Date.now() - statSync(dir).mtimeMs;
      } catch {
        continue; // removed: try again at once
      }
    }
    if ((holder !== undefined && !alive(holder)) || (holder === undefined && age > 30_000)) {
      // Stale: move it out of the way atomically (only one taker's rename succeeds), then retry.
      const aside = `${dir}.stale-${process.pid}-${Date.now()}`;
      try {
        renameSync(dir, aside);
        rmSync(aside, { recursive: true, force: true });
        log(`took over a stale lock ${dir} (holder ${holder ?? 'unknown'} is gone)`);
      } catch {
        // someone else took it over first
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the local-stack lock ${dir} (held by pid ${holder})`);
    if (!announced) {
      log(`waiting for the local-stack lock ${dir} (held by pid ${holder}: another --local-cluster stack runs)`);
      announced = true;
    }
    await sleep(500);
  }
}

export interface StackState {
  pid: number;
  dataDir: string;
  processes: Record<string, { pid: number; restarts: number; since: string }>;
  temporal?: { address: string; uiUrl?: string };
}

export interface LocalStack {
  /** Temporal frontend of the stack's dev server (127.0.0.1:port). */
  address: string;
  dataDir: string;
  ports: { temporal: number; ui: number; gateway: number; metrics: number };
  /** For clients and tools against this stack: TEMPORAL_ADDRESS, KUBECONFIG, PROMETHEUS_URL, PATH (the tools first). */
  env: Record<string, string>;
  child: ChildProcess;
  /** How long the lock was waited for, and how long the stack then took to be ready (ms). */
  timings: { lockMs: number; readyMs: number };
  /** Everything the stack printed so far (stdout and stderr). */
  output(): string;
  /** <dataDir>/stack.json as it is now (undefined while it is missing or being replaced). */
  stackState(): StackState | undefined;
  /** Ctrl-C: SIGINT to start.js, resolves with how it exited; releases the lock. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** For cleanup after a failure: SIGKILL to the stack's process group, the kwok cluster's processes ended (its state kept); releases the lock. */
  kill(): Promise<void>;
}

export interface StartLocalStackOptions {
  dataDir: string;
  /** Extra environment for start.js (e.g. SHIPYARD_ORCHESTRATOR_QUEUE). */
  env?: Record<string, string | undefined>;
  /** How long until "Shipyard is running." (first start: kwok cluster + go build of the demo service). */
  readyTimeoutMs?: number;
  lockTimeoutMs?: number;
  /** How long to wait for the demo's ports when a stack that does not take the lock (someone's `npm start`) holds them. */
  portsTimeoutMs?: number;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
  });
}

/** Waits until the demo's fixed ports are free (start.js refuses to start otherwise). */
async function demoPortsFree(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    const taken: string[] = [];
    for (const [what, port] of Object.entries(DEMO_PORTS)) if (await portInUse(port)) taken.push(`${port} (${what})`);
    if (!taken.length) return;
    if (Date.now() > deadline) throw new Error(`the demo's ports ${taken.join(', ')} are still in use after ${timeoutMs} ms: a local-cluster stack outside the lock is running`);
    if (!announced) console.log(`[local-stack] waiting for the demo's ports ${taken.join(', ')} (a stack outside the lock holds them)`);
    announced = true;
    await sleep(1000);
  }
}

/** Reads env.sh (written by start.js) into variables; PATH's `:"$PATH"` tail becomes our own PATH. */
export function readEnvFile(file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z_]+)='((?:[^']|'\\'')*)'(:"\$PATH")?$/.exec(line);
    if (!m) continue;
    const value = m[2].replace(/'\\''/g, "'");
    vars[m[1]] = m[3] ? `${value}:${process.env.PATH ?? ''}` : value;
  }
  return vars;
}

/**
 * Starts `node scripts/start.js --local-cluster` with SHIPYARD_DATA_DIR=dataDir and free Temporal,
 * UI, gateway and metrics ports, holding the local-stack lock, and resolves once it printed
 * "Shipyard is running." (or rejects with its output, after killing it).
 */
export async function startLocalStack(opts: StartLocalStackOptions): Promise<LocalStack> {
  const { dataDir, readyTimeoutMs = 6 * 60_000 } = opts;
  const asked = Date.now();
  const release = await lockLocalStack({ timeoutMs: opts.lockTimeoutMs });
  try {
    await demoPortsFree(opts.portsTimeoutMs ?? 3 * 60_000);
  } catch (err) {
    release();
    throw err;
  }
  const ports = { temporal: await freePort(), ui: await freePort(), gateway: await freePort(), metrics: await freePort() };
  const address = `127.0.0.1:${ports.temporal}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHIPYARD_DATA_DIR: dataDir,
    SHIPYARD_TEMPORAL_PORT: String(ports.temporal),
    SHIPYARD_UI_PORT: String(ports.ui),
    SHIPYARD_GATEWAY_PORT: String(ports.gateway),
    SHIPYARD_METRICS_ADDRESS: `127.0.0.1:${ports.metrics}`,
  };
  // The test runner's shared dev server and cluster are not this stack's.
  for (const k of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'SHIPYARD_UI_URL', 'SHIPYARD_LOG_FORMAT', 'SHIPYARD_WEBHOOK_SECRET', 'KUBECONFIG', 'PROMETHEUS_URL']) delete env[k];
  Object.assign(env, opts.env);

  const spawned = Date.now();
  let out = '';
  const child = spawn(process.execPath, [START, '--local-cluster'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const running = () => child.exitCode === null && child.signalCode === null;

  const stackState = (): StackState | undefined => {
    try {
      return JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as StackState;
    } catch {
      return undefined;
    }
  };
  const kill = async () => {
    if (running()) {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // start.js and its children (same process group)
      } catch {
        child.kill('SIGKILL');
      }
      await exited;
    }
    // kwokctl's components run in their own sessions: end them, keep the cluster's state.
    if (existsSync(demoClusterDir(dataDir))) {
      const { pauseCluster } = (await import(pathToFileURL(join(ROOT, 'scripts/cluster.js')).href)) as {
        pauseCluster: (o: { name: string; dir: string }) => Promise<void>;
      };
      await pauseCluster({ name: DEMO_CLUSTER, dir: demoClusterDir(dataDir) }).catch(() => undefined);
    }
    release();
  };
  const stop = async (timeoutMs = 60_000) => {
    if (running()) child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const end = await Promise.race([exited, timedOut]);
    clearTimeout(timer); // a pending timer would keep the test process alive
    if (end === 'timeout') {
      await kill();
      throw new Error(`the stack did not stop within ${timeoutMs} ms of SIGINT; killed it. Output:\n${out.slice(-3000)}`);
    }
    release();
    return end;
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (!out.includes('Shipyard is running.')) {
    if (!running() || Date.now() > deadline) {
      const why = running() ? `not ready within ${readyTimeoutMs} ms` : `exited (${child.exitCode ?? child.signalCode})`;
      await kill();
      throw new Error(`the local stack ${why}; output:\n${out.slice(-6000)}`);
    }
    await sleep(200);
  }
  const timings = { lockMs: spawned - asked, readyMs: Date.now() - spawned };
  const stackEnv = readEnvFile(join(dataDir, 'env.sh'));
  for (const k of ['TEMPORAL_ADDRESS', 'KUBECONFIG', 'PROMETHEUS_URL', 'PATH']) {
    if (!stackEnv[k]) {
      await kill();
      throw new Error(`${join(dataDir, 'env.sh')} has no ${k}`);
    }
  }
  return {
    address,
    dataDir,
    ports,
    env: { TEMPORAL_ADDRESS: stackEnv.TEMPORAL_ADDRESS, KUBECONFIG: stackEnv.KUBECONFIG, PROMETHEUS_URL: stackEnv.PROMETHEUS_URL, PATH: stackEnv.PATH },
    child,
    timings,
    output: () => out,
    stackState,
    stop,
    kill,
  };
}
