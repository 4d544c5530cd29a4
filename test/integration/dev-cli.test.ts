// `shipyard dev services` and `shipyard dev down` against a data dir, and the errors of
// `dev add-service` when there is no local cluster to add to (the cluster tier's
// test/cluster/local-runner.test.ts covers adding for real).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

test('dev services lists what is registered; dev down is npm run dev:down; add-service needs a stack with a local cluster', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'devcli-'));
  const env = { SHIPYARD_DATA_DIR: dataDir };
  try {
    const none = await runCli(['dev', 'services'], env);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /^no services registered \(.*services\.json\); add one: shipyard dev add-service NAME/);

    // A stack without --local-cluster (its pid is alive: this process).
    writeFileSync(join(dataDir, 'stack.json'), JSON.stringify({ pid: process.pid, processes: {} }));
    const noCluster = await runCli(['dev', 'add-service', 'inventory'], env);
    assert.equal(noCluster.code, 1);
    assert.match(noCluster.stderr, new RegExp(`runs without a local cluster; restart it with: npm start -- --local-cluster`));
    assert.ok(!existsSync(join(dataDir, 'demo/services.json')), 'nothing registered');

    mkdirSync(join(dataDir, 'demo'), { recursive: true });
    writeFileSync(join(dataDir, 'demo/services.json'), JSON.stringify({ services: [{ name: 'inventory', namespace: 'inv', metricsPort: 9102, metricsPath: '/internal/metrics', trafficPath: '/' }] }));
    const listed = await runCli(['dev', 'services'], env);
    assert.match(listed.stdout, /^inventory  namespace inv  metrics: port "metrics" \(else 9102\), path \/internal\/metrics  traffic: \/$/m);
    assert.match(listed.stdout, /no processes/);
    const refused = await runCli(['dev', 'down'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the stack is running \(pid \d+/);

    rmSync(join(dataDir, 'stack.json'));
    const stopped = JSON.parse((await runCli(['dev', 'services', '--json'], env)).stdout);
    assert.equal(stopped.stackRunning, false);
    assert.equal(stopped.services[0].name, 'inventory');
    writeFileSync(join(dataDir, 'temporal.db'), '');
    const down = await runCli(['dev', 'down'], env);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`removed ${join(dataDir, 'demo')} \\(services\\.json\\)`));
    assert.ok(!existsSync(join(dataDir, 'demo')));
    assert.ok(existsSync(join(dataDir, 'temporal.db')), 'release history kept without --all');
    const all = await runCli(['dev', 'down', '--all'], env);
    assert.equal(all.code, 0, all.stderr);
    assert.ok(!existsSync(join(dataDir, 'temporal.db')));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
