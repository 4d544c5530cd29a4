#!/usr/bin/env node
// `npm run bench`: runs every benchmark in bench/ against a fresh dev server. Not part of npm test;
// the numbers are ratios measured side by side in one run. BENCH=name runs one.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDevServer } from './dev-server.js';
import { ensureTool, toolPathEnv } from './tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const benches = readdirSync(`${root}dist/bench`)
  .filter((f) => f.endsWith('.js') && f !== 'workflows.js')
  .filter((f) => !process.env.BENCH || f.startsWith(process.env.BENCH))
  .filter((f) => process.env.BENCH_CLUSTER === '1' || f !== 'canary-abort.js');
const server = await startDevServer({ logFile: `${root}.data/bench-temporal.log` });
// The canary-abort bench needs the local control plane and Prometheus; it runs when BENCH_CLUSTER=1.
const withCluster = process.env.BENCH_CLUSTER === '1';
const tools = ['crane', 'prometheus', 'alertmanager', ...(withCluster ? ['kubernetes', 'etcd', 'kwok', 'kubectl', 'helm', 'istio-crds'] : [])];
for (const t of tools) await ensureTool(t);
const env = { ...process.env, TEMPORAL_ADDRESS: server.address, PATH: await toolPathEnv(tools) };
let cluster;
if (withCluster) {
  const { startCluster } = await import('./cluster.js');
  const { execFileSync } = await import('node:child_process');
  cluster = await startCluster({ name: `shipyard-bench-${process.pid}` });
  env.KUBECONFIG = cluster.kubeconfig;
  const crds = Object.values(await ensureTool('istio-crds'))[0];
  execFileSync('kubectl', ['apply', '--server-side', '-f', crds], { env, stdio: 'ignore' });
  execFileSync('kubectl', ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s'], { env, stdio: 'ignore' });
}
let failed = 0;
for (const file of benches) {
  console.log(`\n== bench ${file.replace(/\.js$/, '')}`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [`dist/bench/${file}`], { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (code !== 0) failed++;
}
if (cluster) await cluster.stop();
await server.stop();
process.exit(failed ? 1 : 0);
