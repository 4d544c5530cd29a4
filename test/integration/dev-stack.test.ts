// `npm start` as a development environment, with real processes: `node scripts/start.js` (its own
// Temporal dev server on free ports, the all-in-one worker and the gateway, data in a temp dir).
// A SIGKILLed worker is restarted and polls again while the rest stays up; .data/env.sh is written;
// logs are human-readable by default; Ctrl-C (SIGINT) exits 0 and keeps the dev server's database;
// `dev-down` removes the demo state but keeps the database unless --all.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Connection } from '@temporalio/client';
import { freePort } from '../helpers/net.js';
import { eventually } from '../helpers/temporal.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const START = join(ROOT, 'scripts/start.js');
const DEV_DOWN = join(ROOT, 'scripts/dev-down.js');
const QUEUE = `dev-stack-orchestrator-${process.pid}`;
const dataDir = mkdtempSync(join(tmpdir(), 'dev-stack-'));
let stack: ChildProcess | undefined;

after(() => {
  if (stack && stack.exitCode === null && stack.signalCode === null) {
    // The test failed midway: end the stack and its children (they are in its process group).
    try {
      process.kill(-stack.pid!, 'SIGKILL');
    } catch {
      stack.kill('SIGKILL');
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

interface StackState {
  pid: number;
  processes: Record<string, { pid: number; restarts: number }>;
}
const stackState = (): StackState | undefined => {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as StackState;
  } catch {
    return undefined;
  }
};

/** Identities of the workers polling the orchestrator queue (the SDK's default is `<pid>@<host>`). */
async function pollers(address: string): Promise<string[]> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    const res = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: QUEUE }, taskQueueType: 1 });
    return (res.pollers ?? []).map((p) => p.identity ?? '');
  } finally {
    await connection.close();
  }
}

test('worker killed: restarted with a log line, the stack stays up; Ctrl-C exits 0 and keeps state', { timeout: 90_000 }, async () => {
  const [port, uiPort, gatewayPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const address = `127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHIPYARD_DATA_DIR: dataDir,
    SHIPYARD_TEMPORAL_PORT: String(port),
    SHIPYARD_UI_PORT: String(uiPort),
    SHIPYARD_GATEWAY_PORT: String(gatewayPort),
    SHIPYARD_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    SHIPYARD_ORCHESTRATOR_QUEUE: QUEUE,
  };
  // The test runner's shared dev server must not be joined: this stack starts its own.
  for (const k of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'SHIPYARD_UI_URL', 'SHIPYARD_LOG_FORMAT', 'SHIPYARD_WEBHOOK_SECRET']) delete env[k];
  let output = '';
  stack = spawn(process.execPath, [START], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  stack.stdout!.on('data', (d) => (output += d));
  stack.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    stack!.once('exit', (code, signal) => resolve({ code, signal })),
  );

  await eventually(async () => output.includes('Shipyard is running.'), 45_000, `the stack to be ready; output:\n${output}`);
  const first = await eventually(async () => stackState()?.processes.worker?.pid, 5_000, 'the worker pid in stack.json');
  assert.match(output, new RegExp(`worker started \\(pid ${first}\\)`));
  assert.equal(stackState()!.pid, stack.pid);
  await eventually(async () => (await pollers(address)).some((id) => id.startsWith(`${first}@`)), 20_000, 'the first worker polling');

  // Readable logs by default: the gateway's pino JSON becomes a text line with its name in front.
  await eventually(async () => /\[gateway\] \S+ INFO +shipyard gateway listening on http:\/\/127\.0\.0\.1:\d+/.test(output), 15_000, `a text gateway log line; output:\n${output}`);
  assert.doesNotMatch(output, /\[gateway\] \{/, 'no raw JSON gateway lines in text mode');

  // env.sh: the tools' bin dirs in front of the shell's PATH, and this stack's Temporal address.
  const envSh = readFileSync(join(dataDir, 'env.sh'), 'utf8');
  assert.match(envSh, /^export PATH='[^']*\/temporal\/[^']*\/bin[^']*':"\$PATH"$/m);
  assert.match(envSh, new RegExp(`^export TEMPORAL_ADDRESS='${address}'$`, 'm'));
  assert.doesNotMatch(envSh, /KUBECONFIG/, 'no local cluster, no KUBECONFIG');
  assert.match(output, new RegExp(`source ${join(dataDir, 'env.sh')}`));
  const shell = execFileSync('bash', ['-c', `source ${join(dataDir, 'env.sh')} && command -v temporal && command -v shipyard && echo "$TEMPORAL_ADDRESS" && echo "data=$SHIPYARD_DATA_DIR"`], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  assert.match(shell, /\/temporal\n/);
  assert.match(shell, new RegExp(`^${join(dataDir, 'bin', 'shipyard')}$`, 'm'), 'the shipyard command of this checkout');
  assert.match(shell, new RegExp(`^data=${dataDir}$`, 'm'));
  assert.match(shell, new RegExp(`^${address}$`, 'm'));

  const gatewayPid = stackState()!.processes.gateway.pid;
  const temporalPid = stackState()!.processes.temporal.pid;
  process.kill(first, 'SIGKILL');
  await eventually(async () => /worker \(pid \d+\) died at \S+ with signal SIGKILL after [\d.]+s; restarting in 1s/.test(output), 10_000, `the death logged; output:\n${output}`);
  const second = await eventually(async () => {
    const w = stackState()?.processes.worker;
    return w && w.pid !== first ? w : undefined;
  }, 15_000, 'a new worker pid');
  assert.equal(second.restarts, 1);
  assert.match(output, new RegExp(`worker started \\(pid ${second.pid}\\)`));
  await eventually(async () => (await pollers(address)).some((id) => id.startsWith(`${second.pid}@`)), 20_000, 'the restarted worker polling');
  // Nothing else was touched.
  assert.equal(stackState()!.processes.gateway.pid, gatewayPid);
  assert.equal(stackState()!.processes.temporal.pid, temporalPid);
  assert.equal(stack.exitCode, null);
  assert.ok((await fetch(`http://127.0.0.1:${gatewayPort}/webhooks/generic`, { method: 'POST', body: '{}' })).status < 500, 'the gateway still answers');

  process.kill(stack.pid!, 'SIGINT');
  const end = await exited;
  assert.deepEqual(end, { code: 0, signal: null }, output.slice(-3000));
  assert.match(output, /\[shipyard\] stopped/);
  assert.ok(existsSync(join(dataDir, 'temporal.db')), 'the dev server DB is kept');
  assert.ok(!existsSync(join(dataDir, 'stack.json')), 'stack.json is removed on a clean stop');
  for (const pid of [second.pid, gatewayPid, temporalPid]) assert.throws(() => process.kill(pid, 0), `pid ${pid} is gone`);
});

test('dev-down removes the demo state, and the dev server DB only with --all', () => {
  // Stand-ins for what a --local-cluster run leaves (no cluster dir: starting kwok is too slow here).
  mkdirSync(join(dataDir, 'demo/registry/docker'), { recursive: true });
  mkdirSync(join(dataDir, 'demo/prometheus'), { recursive: true });
  writeFileSync(join(dataDir, 'demo/registry/docker/blob'), 'x');
  if (!existsSync(join(dataDir, 'temporal.db'))) writeFileSync(join(dataDir, 'temporal.db'), '');
  const env = { ...process.env, SHIPYARD_DATA_DIR: dataDir };

  const down = execFileSync(process.execPath, [DEV_DOWN], { env, encoding: 'utf8' });
  assert.match(down, new RegExp(`removed ${join(dataDir, 'demo')} \\(prometheus, registry\\)`));
  assert.match(down, /kept .*temporal\.db/);
  assert.ok(!existsSync(join(dataDir, 'demo')));
  assert.ok(existsSync(join(dataDir, 'temporal.db')));

  const all = execFileSync(process.execPath, [DEV_DOWN, '--all'], { env, encoding: 'utf8' });
  assert.match(all, new RegExp(`removed ${join(dataDir, 'temporal.db')}`));
  assert.match(all, new RegExp(`removed ${join(dataDir, 'env.sh')}`));
  assert.ok(!existsSync(join(dataDir, 'temporal.db')));

  const bad = spawnSyncStatus([DEV_DOWN, '--everything'], env);
  assert.equal(bad.status, 1);
  assert.match(bad.output, /unknown argument\(s\) --everything/);
});

test('restart backoff doubles from 1 s to a 30 s cap; JSON log lines read as text', async () => {
  // Plain JS modules of scripts/ (not compiled): imported by URL.
  const { backoffMs } = (await import(pathToFileURL(join(ROOT, 'scripts/supervise.js')).href)) as { backoffMs: (n: number) => number };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map(backoffMs), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  const { humanLine } = (await import(pathToFileURL(join(ROOT, 'scripts/log-lines.js')).href)) as { humanLine: (l: string) => string };
  assert.equal(
    humanLine('{"level":40,"time":1764010800000,"pid":1,"hostname":"h","reqId":"req-1","msg":"signature mismatch","route":"generic run"}'),
    '19:00:00.000 WARN  signature mismatch reqId=req-1 route="generic run"',
  );
  assert.equal(humanLine('not json {'), 'not json {');
  assert.equal(humanLine('{"no":"message"}'), '{"no":"message"}');
});

function spawnSyncStatus(args: string[], env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  try {
    return { status: 0, output: execFileSync(process.execPath, args, { env, encoding: 'utf8', stdio: 'pipe' }) };
  } catch (err) {
    const e = err as { status: number | null; stdout: string; stderr: string };
    return { status: e.status, output: `${e.stdout}${e.stderr}` };
  }
}
