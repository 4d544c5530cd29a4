// The local dev stack is a development environment, not a demo that dies: `npm start -- --local-cluster`
// (real processes: Temporal dev server, supervised worker, gateway, registry, kwok cluster,
// Prometheus, hello-api stable/canary, GitOps config repo with the Argo CD stand-in) runs the demo
// release; the worker is SIGKILLed while the release is in production's canary, with an analysis
// activity in flight. The stack restarts the worker and nothing else, the cluster and registry stay,
// the activity is retried on the new worker (the history shows the timed-out attempt), the release
// completes with the new tag on production's stable Deployment and traffic back on stable; Ctrl-C
// exits 0 and keeps the cluster's state, which a second start resumes as the release left it.
// In the cluster tier so run-tests makes sure the Kubernetes tools exist before any test starts (the
// test does not use the runner's cluster: the stack brings its own).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ShipyardClient } from '../../client/index.js';
import type { ReleaseStatus } from '../../workflows/types.js';
import { runCli } from '../helpers/cli.js';
import { demoClusterDir, DEMO_CLUSTER, startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { eventually } from '../helpers/temporal.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const dataDir = mkdtempSync(join(tmpdir(), 'local-stack-release-'));
const specDir = mkdtempSync(join(tmpdir(), 'local-stack-spec-'));
const IMAGE = '127.0.0.1:5000/demo/hello-api';
let stack: LocalStack | undefined;

after(async () => {
  await stack?.kill(); // after a failure midway; a no-op for the process group after a clean stop
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(specDir, { recursive: true, force: true });
});

/**
 * examples/release.yaml made fast: one build target and image platform, a short pause and analysis.
 * Its relative paths (this repository, the chart, the stack's GitOps config repo) made absolute,
 * since the copy lives elsewhere. One step added: a background analysis from 50% on, so while the
 * canary waits for its approval a long, heartbeating activity (measureSeries) runs on the worker,
 * and the kill lands in it (the foreground analysis' queries take milliseconds, between timers).
 */
function fastDemoSpec(): string {
  const doc = parseYaml(readFileSync(join(ROOT, 'examples/release.yaml'), 'utf8'));
  doc.source.repo = ROOT;
  doc.build.targets = ['linux/amd64'];
  doc.image.platforms = ['linux/amd64'];
  const [staging, production] = doc.environments;
  assert.equal(staging.name, 'staging');
  assert.equal(production.name, 'production');
  staging.deploy.helm.chart = join(ROOT, 'examples/charts/hello-api');
  production.deploy.gitops.repo = join(dataDir, 'demo/config.git');
  const steps = production.canary.steps as Record<string, unknown>[];
  const pause = steps.find((s) => 'pause' in s)!;
  pause.pause = '2s';
  Object.assign(production.canary.metrics[0], { interval: '5s', count: 3 });
  const approval = steps.findIndex((s) => 'approval' in s);
  assert.deepEqual(steps[approval - 1], { setWeight: 50 });
  steps.splice(approval, 0, { analysis: { metrics: [production.canary.metrics[0].name], background: true } });
  const file = join(specDir, 'release.yaml');
  writeFileSync(file, stringifyYaml(doc));
  return file;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
/** Processes whose command line mentions dir (the stack's children and the kwok cluster's components do). */
function processesUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}
const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

test('npm start --local-cluster: the worker is SIGKILLed mid-canary, restarted alone, and the demo release completes', { timeout: 15 * 60_000 }, async (t) => {
  const times: Record<string, string> = {};
  let started: number;
  // Waits for the lock (another --local-cluster test) first: up to 5 min; then up to 6 min for the stack.
  stack = await startLocalStack({ dataDir, lockTimeoutMs: 5 * 60_000 });
  times.lockAndPorts = seconds(stack.timings.lockMs);
  times.stackReady = seconds(stack.timings.readyMs);
  const env = stack.env;
  const kubectl = (...args: string[]) => execFileSync('kubectl', args, { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(env.TEMPORAL_ADDRESS, stack.address);
  assert.equal(env.KUBECONFIG, join(demoClusterDir(dataDir), 'kubeconfig'));
  assert.equal(env.PROMETHEUS_URL, 'http://127.0.0.1:9090');
  const worker = await eventually(async () => stack!.stackState()?.processes.worker, 10_000, 'the worker in stack.json');
  const { gateway, temporal: temporalProc } = stack.stackState()!.processes;

  const specFile = fastDemoSpec();
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const version = `0.1.0-${commit.slice(0, 7)}`;
  const id = `release/hello-api/all/${commit}`;
  const shipyard = await ShipyardClient.connect({ address: stack.address, namespace: 'default', uiUrl: `http://localhost:${stack.ports.ui}` });
  const connection = await Connection.connect({ address: stack.address });
  const client = new Client({ connection, namespace: 'default' });
  t.after(async () => {
    await shipyard.close();
    await connection.close();
  });
  const status = () => shipyard.status(id);
  const waitStatus = (what: string, ok: (s: ReleaseStatus) => boolean, timeoutMs = 120_000) =>
    eventually(async () => {
      const s = await status();
      if (s.outcome !== 'running' && !ok(s)) throw new Error(`the release ended ${s.outcome}: ${JSON.stringify(s.error)}`);
      return ok(s) ? s : undefined;
    }, timeoutMs, `${what}; stack output:\n${stack!.output().slice(-3000)}`);

  // Started as `npm run demo` does (scripts/demo.js), with the fast copy of the spec.
  started = Date.now();
  const start = await runCli(['release', 'start', '-f', specFile, '--commit', commit, '--version', version, '--trigger', 'demo', '--as', 'demo'], env);
  assert.equal(start.code, 0, start.stderr);
  assert.match(start.stdout, new RegExp(`started release ${id}`));

  // Production's gate: only its approvers (the trigger, demo, is none); alice approves.
  await waitStatus('the production approval', (s) => s.approvals.pending?.gate === 'production/approval');
  times.buildToProductionGate = seconds(Date.now() - started);
  const self = await runCli(['approve', id, '--as', 'demo'], env);
  assert.notEqual(self.code, 0);
  assert.match(self.stderr, /'demo' is not an approver for production\/approval/);
  const alice = await runCli(['approve', id, '--as', 'alice', '--comment', 'ship it'], env);
  assert.equal(alice.code, 0, alice.stderr);

  // In production's canary, at 50% waiting for its approval, the background analysis' measureSeries
  // activity running on the worker.
  const series = async () => {
    for (const child of (await client.workflow.getHandle(id).describe()).raw.pendingChildren ?? []) {
      const d = await client.workflow.getHandle(child.workflowId!).describe();
      const act = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'measureSeries' && a.state === STARTED);
      if (act) return { workflowId: child.workflowId!, runId: d.runId, activity: act };
    }
    return undefined;
  };
  const inFlight = await eventually(async () => {
    const s = await status();
    if (s.stage !== 'canary' || s.environment !== 'production' || !/^production\/canary\//.test(s.approvals.pending?.gate ?? '')) return undefined;
    const running = await series();
    return running && { status: s, ...running };
  }, 120_000, 'the canary approval step in production with the background analysis running');
  assert.equal(inFlight.status.stage, 'canary');
  assert.equal(inFlight.status.environment, 'production');
  assert.equal(inFlight.status.canary?.weight, 50);
  assert.equal(inFlight.activity.attempt, 1);

  // SIGKILL the worker.
  const killedAt = Date.now();
  times.startToKill = seconds(killedAt - started);
  process.kill(worker.pid, 'SIGKILL');
  await eventually(async () => new RegExp(`worker \\(pid ${worker.pid}\\) died at \\S+ with signal SIGKILL after [\\d.]+s; restarting in 1s`).test(stack!.output()), 10_000, 'the death logged');
  const restarted = await eventually(async () => {
    const w = stack!.stackState()?.processes.worker;
    return w && w.pid !== worker.pid ? w : undefined;
  }, 15_000, 'a new worker pid');
  times.killToNewWorker = seconds(Date.now() - killedAt);
  assert.equal(restarted.restarts, 1);
  assert.match(stack.output(), new RegExp(`worker started \\(pid ${restarted.pid}\\)`));
  assert.throws(() => process.kill(worker.pid, 0), 'the old worker is gone');
  // Nothing else was touched: start.js, the gateway, Temporal, the cluster, the registry.
  assert.equal(stack.child.exitCode, null);
  assert.equal(stack.stackState()!.pid, stack.child.pid);
  assert.deepEqual([stack.stackState()!.processes.gateway.pid, stack.stackState()!.processes.temporal.pid], [gateway.pid, temporalProc.pid]);
  assert.match(kubectl('-n', 'production', 'get', 'deploy', '-o', 'name'), /deployment.apps\/hello-api\ndeployment.apps\/hello-api-canary/);
  assert.equal((await fetch('http://127.0.0.1:5000/v2/')).status, 200);
  assert.doesNotMatch(stack.output(), /\[shipyard\] stopping|cluster '.*' is (down|stopped)/, 'the stack did not stop anything');

  // The series on the dead worker times out (heartbeat, 15 s) and is retried on the new one.
  const retried = await eventually(async () => {
    const running = await series();
    return running && running.workflowId === inFlight.workflowId && (running.activity.attempt ?? 1) > 1 ? running.activity : undefined;
  }, 60_000, 'the measureSeries retried on the new worker');
  times.killToActivityRetried = seconds(Date.now() - killedAt);
  assert.equal(retried.activityId, inFlight.activity.activityId);
  assert.equal(retried.lastFailure?.timeoutFailureInfo?.timeoutType, proto.temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT, JSON.stringify(retried.lastFailure));
  assert.match(retried.lastWorkerIdentity ?? '', new RegExp(`^${restarted.pid}@`), 'the retry runs on the restarted worker');

  // Bob approves the canary's approval step.
  const gate = await status();
  assert.match(gate.approvals.pending?.gate ?? '', /^production\/canary\//);
  const bob = await runCli(['approve', id, '--as', 'bob', '--gate', gate.approvals.pending!.gate], env);
  assert.equal(bob.code, 0, bob.stderr);
  const final = await shipyard.wait(id);
  times.startToEnd = seconds(Date.now() - started);
  assert.equal(final.outcome, 'succeeded', final.message);
  const end = final.status!;
  assert.deepEqual(end.stages.filter((s) => s.result !== undefined && s.result !== 'ok').map((s) => s.stage), [], JSON.stringify(end.stages));
  for (const stage of ['deploy', 'health', 'canary', 'promote'] as const) {
    assert.equal(end.stages.find((s) => s.stage === stage && s.environment === 'production')?.result, 'ok', `${stage} (production)`);
  }
  // The foreground analysis: 3 measurements; the first may find no data yet in a Prometheus just
  // started (inconclusive, within the metric's failureLimit of 1).
  const foreground = end.metrics.filter((m) => m.analysis === 'step-3');
  assert.equal(foreground.length, 3, JSON.stringify(end.metrics));
  assert.ok(foreground.filter((m) => m.phase !== 'successful').length <= 1, JSON.stringify(foreground));
  assert.ok(end.metrics.every((m) => m.phase === 'successful' || m.phase === 'inconclusive'), JSON.stringify(end.metrics));
  assert.deepEqual(end.approvals.decisions.map((d) => [d.gate, d.approver]), [['production/approval', 'alice'], [gate.approvals.pending!.gate, 'bob']]);

  // Read back from the world: the image, the stable Deployment, the traffic.
  const tags = (await (await fetch('http://127.0.0.1:5000/v2/demo/hello-api/tags/list')).json()) as { tags: string[] };
  assert.ok(tags.tags.includes(version), JSON.stringify(tags));
  const stable = JSON.parse(kubectl('-n', 'production', 'get', 'deploy', 'hello-api', '-o', 'json'));
  assert.equal(stable.spec.template.spec.containers[0].image, `${IMAGE}:${version}`);
  assert.equal(stable.status.updatedReplicas, stable.spec.replicas);
  assert.equal(stable.status.readyReplicas, stable.spec.replicas);
  const vs = JSON.parse(kubectl('-n', 'production', 'get', 'virtualservice', 'hello-api', '-o', 'json'));
  const route = vs.spec.http.find((r: { name: string }) => r.name === 'primary').route as { destination: { subset: string }; weight?: number }[];
  const weights = Object.fromEntries(route.map((r) => [r.destination.subset, r.weight ?? 0]));
  assert.equal(weights.stable, 100, JSON.stringify(route));
  assert.ok(!weights.canary, JSON.stringify(route));

  // The analysis the kill landed in ended cleanly when the canary stopped it (not failed on the lost series).
  const analysis = await client.workflow.getHandle(inFlight.workflowId).describe();
  assert.equal(analysis.status.name, 'COMPLETED');
  const releaseEvents = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
  t.diagnostic(`release history: ${releaseEvents.length} events, ${releaseEvents.filter((e) => e.workflowTaskTimedOutEventAttributes).length} WorkflowTaskTimedOut`);

  const helmRevisions = () => (JSON.parse(execFileSync('helm', ['history', 'hello-api', '-n', 'production', '-o', 'json'], { env: { ...process.env, ...env }, encoding: 'utf8' })) as unknown[]).length;
  const revisions = helmRevisions();

  // Ctrl-C: exits 0, keeps the cluster's state (kwokctl stop, not delete) and the release history.
  started = Date.now();
  const stopped = await stack.stop();
  times.stop = seconds(Date.now() - started);
  assert.deepEqual(stopped, { code: 0, signal: null }, stack.output().slice(-3000));
  assert.match(stack.output(), new RegExp(`cluster '${DEMO_CLUSTER}' is stopped, state kept`));
  assert.match(stack.output(), /\[shipyard\] stopped/);
  const clusterState = join(demoClusterDir(dataDir), 'kwok/clusters', DEMO_CLUSTER);
  assert.ok(existsSync(join(clusterState, 'etcd')) || readdirSync(clusterState).length > 0, `the cluster's state in ${clusterState}`);
  assert.ok(existsSync(join(demoClusterDir(dataDir), 'kubeconfig')));
  assert.ok(existsSync(join(dataDir, 'temporal.db')));
  assert.ok(existsSync(join(dataDir, 'demo/config.git')));
  assert.ok(!existsSync(join(dataDir, 'stack.json')), 'stack.json is removed on a clean stop');
  for (const pid of [restarted.pid, gateway.pid, temporalProc.pid]) assert.throws(() => process.kill(pid, 0), `pid ${pid} is gone`);
  await eventually(async () => processesUnder(dataDir).length === 0, 15_000, `no process of the stack left (${processesUnder(dataDir).join(' ')})`);

  // Started again on the kept state: the cluster resumes as the release left it; the demo's objects
  // are not seeded again (no helm upgrade back to 0.0.1), and the release is still there.
  stack = await startLocalStack({ dataDir, lockTimeoutMs: 5 * 60_000 });
  times.restartReady = seconds(stack.timings.readyMs);
  assert.match(stack.output(), new RegExp(`cluster '${DEMO_CLUSTER}' resumed`));
  assert.equal(helmRevisions(), revisions);
  const again = JSON.parse(kubectl('-n', 'production', 'get', 'deploy', 'hello-api', '-o', 'json'));
  assert.equal(again.spec.template.spec.containers[0].image, `${IMAGE}:${version}`);
  const shipyard2 = await ShipyardClient.connect({ address: stack.address, namespace: 'default', uiUrl: '' });
  try {
    assert.equal((await shipyard2.final(id)).outcome, 'succeeded');
  } finally {
    await shipyard2.close();
  }
  assert.deepEqual(await stack.stop(), { code: 0, signal: null }, stack.output().slice(-3000));
  t.diagnostic(`durations: ${JSON.stringify(times)}`);
  console.log(`[local-stack-release] durations: ${JSON.stringify(times)}`);
});
