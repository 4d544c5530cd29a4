// The "bring your own service" guide (docs/bring-your-own-service.md), run as written: every `bash`
// block in order, in one bash, against a real local stack (`npm start -- --local-cluster`, started by
// the test in place of the guide's "terminal 1" block). The stand-in service is examples/inventory,
// laid out unlike examples/service (cmd/inventory, charts/inventory, its own metric names, labels,
// port and path). Asserted from the world afterwards: three releases read from the repository at
// their commits; the first installs, the second is a generated canary that is promoted, the third is
// rolled back by its analysis; helm revisions, Deployments, the VirtualService and Prometheus agree.
// The only deviations from the text: HOME is a temp dir (Go's caches stay where they are), and
// `.data/` is this stack's data dir.
// In the cluster tier so run-tests makes sure the Kubernetes tools exist (the stack brings its own cluster).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { ShipyardClient } from '../../client/index.js';
import { temporalSettings } from '../../config/temporal.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const GUIDE = join(ROOT, 'docs/bring-your-own-service.md');
const dataDir = mkdtempSync(join(tmpdir(), 'guide-stack-'));
const home = mkdtempSync(join(tmpdir(), 'guide-home-'));
let stack: LocalStack | undefined;

after(async () => {
  await stack?.kill();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

/** The guide's bash blocks, in order, without the ones marked for terminal 1. */
export function guideBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const re = /(<!-- guide: ([^>]*) -->\s*\n)?```bash\n([\s\S]*?)```/g;
  for (const m of markdown.matchAll(re)) if (!m[2]?.startsWith('terminal 1')) blocks.push(m[3]);
  return blocks;
}

function runBash(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the guide did not finish in ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const kubectl = (env: NodeJS.ProcessEnv, ...args: string[]) => execFileSync('kubectl', args, { env, encoding: 'utf8' });

test('the bring-your-own-service guide, verbatim: install, promoted canary, automatic rollback', { timeout: 25 * 60_000 }, async () => {
  const blocks = guideBlocks(readFileSync(GUIDE, 'utf8'));
  assert.ok(blocks.length >= 6, `the guide has its command blocks (found ${blocks.length})`);
  stack = await startLocalStack({ dataDir, readyTimeoutMs: 12 * 60_000 });

  const go = (v: string) => execFileSync('go', ['env', v], { encoding: 'utf8' }).trim();
  const script = [
    'set -euo pipefail',
    ...blocks.map((b, i) => `echo "### guide block ${i + 1}"\n${b.replaceAll('.data/env.sh', `${dataDir}/env.sh`)}`),
  ].join('\n');
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, GOCACHE: go('GOCACHE'), GOMODCACHE: go('GOMODCACHE'), GOPATH: go('GOPATH') };
  for (const k of ['TEMPORAL_ADDRESS', 'KUBECONFIG', 'PROMETHEUS_URL', 'SHIPYARD_DATA_DIR', 'SHIPYARD_ORCHESTRATOR_QUEUE', 'SHIPYARD_BUILD_QUEUE', 'SHIPYARD_DEPLOY_QUEUE']) delete env[k];
  const run = await runBash(script, env, 20 * 60_000);
  assert.equal(run.code, 0, `the guide's commands failed:\n${run.output}\n--- stack ---\n${stack.output().slice(-6000)}`);
  const out = run.output;
  console.log(`--- the guide's output ---\n${out}\n--- end of the guide's output ---`);
  assert.match(out, /release ended with exit code 11/, `the bad change ends rolled back (exit 11):\n${out}`);

  // What the world says, not what the guide printed.
  const repo = join(home, 'src/inventory');
  const commits = execFileSync('git', ['-C', repo, 'log', '--format=%H', '-3'], { encoding: 'utf8' }).trim().split('\n').reverse();
  const connection = await Connection.connect({ address: stack.address });
  const shipyard = new ShipyardClient(new Client({ connection }), { ...temporalSettings(), address: stack.address });
  try {
    const outcomes = await Promise.all(commits.map((c) => shipyard.final(`release/inventory/all/${c}`)));
    assert.deepEqual(outcomes.map((o) => o.outcome), ['succeeded', 'succeeded', 'rolled-back'], JSON.stringify(outcomes.map((o) => o.message)));
    const good = outcomes[1].status!;
    assert.equal(good.canary?.weight, 0, 'after promotion the canary takes no traffic');
    const bad = outcomes[2].status!;
    assert.ok(bad.analyses?.some((a) => a.phase === 'failed' && a.environment === 'production'), 'the analysis failed the bad canary');
    assert.ok(bad.compensation.length, 'the rollback ran undos');

    const kenv = { ...process.env, ...stack.env };
    const image = kubectl(kenv, '-n', 'inventory', 'get', 'deployment', 'inventory', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
    assert.equal(image, `127.0.0.1:5000/inventory:${commits[1].slice(0, 12)}`, 'stable runs the promoted (second) release');
    const deployments = kubectl(kenv, '-n', 'inventory', 'get', 'deployments', '-o', 'jsonpath={.items[*].metadata.name}').split(/\s+/).filter(Boolean);
    assert.deepEqual(deployments, ['inventory'], 'the generated canary Deployment is gone after the rollback');
    // helm: install (1), promotion of the second release (2); the bad one never touched the stable release.
    const history = JSON.parse(execFileSync('helm', ['history', 'inventory', '-n', 'inventory', '-o', 'json'], { env: kenv, encoding: 'utf8' })) as { revision: number; status: string }[];
    assert.deepEqual(history.map((h) => h.status), ['superseded', 'deployed']);
    // The analysis read the service's own metric, with the canary's pod label, from the stack's Prometheus.
    const q = encodeURIComponent('sum by (track) (inventory_http_requests_total{namespace="inventory",track="canary",status="500"})');
    const prom = (await (await fetch(`${stack.env.PROMETHEUS_URL}/api/v1/query?query=${q}`)).json()) as { data: { result: { value: [number, string] }[] } };
    assert.ok(Number(prom.data.result[0]?.value[1] ?? 0) > 0, 'Prometheus saw the bad canary answer 500');
  } finally {
    await connection.close();
  }
  const stopped = await stack.stop();
  assert.equal(stopped.code, 0);
  stack = undefined;
});
