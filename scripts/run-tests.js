#!/usr/bin/env node
// `npm test`: every tier of Shipyard's tests against real components.
//   unit         pure logic (spec, policy, analysis, approval rules), no servers
//   integration  the real Temporal dev server (started here once for the run): workflows with mocked
//                activities, the client, the CLI, crash safety
//   cluster      a local Kubernetes control plane (kube-apiserver, etcd, kwok fake nodes) started
//                here once: helm, GitOps, rollout health, Istio and Gateway API traffic, Prometheus analysis
//   browser      the dashboard in headless Debian Chromium (playwright-core) against the dev server
//   server       a real Temporal cluster (temporal-server on PostgreSQL, scripts/temporal-cluster.js,
//                deploy/temporal/config.yaml) started here once: release paths and a server SIGKILL
//   replay       committed histories replayed against today's workflow code
// Tools are built by scripts/tools.js when missing, never skipped. For quick local iteration a tier
// may be left out with SHIPYARD_SKIP_TIERS=tier1,tier2; ignored under CI=true.
// Extra arguments select test files: npm test -- test/unit/spec.test.ts
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevServer } from './dev-server.js';
import { ensureTool, toolPathEnv } from './tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TIERS = [
  { name: 'unit', dir: 'test/unit', tools: [] },
  {
    name: 'integration',
    dir: 'test/integration',
    tools: ['temporal', 'crane', 'docker-registry', 'prometheus', 'alertmanager', 'groovy', 'helm', 'dex', 'bubblewrap'],
    temporal: true,
  },
  {
    name: 'cluster',
    dir: 'test/cluster',
    tools: ['temporal', 'kubernetes', 'etcd', 'kwok', 'kubectl', 'helm', 'istio-crds', 'gateway-api-crds', 'prometheus', 'crane', 'docker-registry'],
    temporal: true,
    cluster: true,
  },
  // The dashboard in headless Debian Chromium (playwright-core), against the dev server and a real gateway.
  { name: 'browser', dir: 'test/browser', tools: ['temporal', 'chromium', 'dex'], temporal: true },
  // temporal: the CLI runs docker-compose's setup script in test/server/compose-setup.test.ts.
  // The tier's address is SHIPYARD_SERVER_TEMPORAL_ADDRESS: all tiers share one `node --test` run and
  // its environment, where TEMPORAL_ADDRESS is the dev server's (test/helpers/real-server.ts switches).
  { name: 'server', dir: 'test/server', tools: ['temporal-server', 'postgresql', 'temporal'], realServer: true },
  { name: 'replay', dir: 'test/replay', tools: [] },
];
const log = (m) => console.log(`[shipyard test] ${m}`);

function testFiles(dir) {
  const abs = join(root, 'dist', dir);
  if (!existsSync(abs)) return [];
  const out = [];
  for (const entry of readdirSync(abs)) {
    const p = join(abs, entry);
    if (statSync(p).isDirectory()) out.push(...testFiles(join(dir, entry)));
    else if (entry.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

async function main() {
  const ci = process.env.CI === 'true';
  const skip = new Set((process.env.SHIPYARD_SKIP_TIERS || '').split(',').map((s) => s.trim()).filter(Boolean));
  if (skip.size && ci) {
    log(`CI=true: ignoring SHIPYARD_SKIP_TIERS=${[...skip].join(',')}; every tier runs`);
    skip.clear();
  }
  const selected = process.argv.slice(2).map((a) => join(root, 'dist', a.replace(/^dist\//, '').replace(/\.ts$/, '.js')));
  const tiers = TIERS.filter((t) => {
    if (skip.has(t.name)) {
      log(`tier ${t.name}: SKIPPED by SHIPYARD_SKIP_TIERS (local opt-out; CI runs it)`);
      return false;
    }
    return true;
  });
  const files = tiers.flatMap((t) => testFiles(t.dir).map((f) => ({ tier: t, file: f }))).filter((f) => !selected.length || selected.includes(f.file));
  if (!files.length) throw new Error(selected.length ? `no compiled test matches ${process.argv.slice(2).join(' ')}` : 'no tests found; did the build run?');
  const needed = new Set(files.flatMap((f) => f.tier.tools));
  for (const tool of needed) {
    const started = Date.now();
    const paths = await ensureTool(tool);
    log(`tool ${tool}: ${Object.values(paths).join(', ')} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  }

  // Tests and the activities they run call the tools by name: put the resolved ones first on PATH.
  const env = { ...process.env, SHIPYARD_TEST: '1', PATH: await toolPathEnv([...needed]) };
  if (needed.has('istio-crds')) env.SHIPYARD_ISTIO_CRDS = Object.values(await ensureTool('istio-crds'))[0];
  // The Gateway API CRDs are several files in one directory: kubectl applies the directory.
  if (needed.has('chromium')) env.SHIPYARD_CHROMIUM = Object.values(await ensureTool('chromium'))[0];
  if (needed.has('gateway-api-crds')) env.SHIPYARD_GATEWAY_API_CRDS = dirname(Object.values(await ensureTool('gateway-api-crds'))[0]);
  // The real cluster (PostgreSQL + temporal-server) comes up while the dev server and kwok do.
  const realServerStart = files.some((f) => f.tier.realServer)
    ? import('./temporal-cluster.js').then(({ startTemporalCluster }) => startTemporalCluster({ logFile: join(root, '.data', 'test-temporal-server.log') }))
    : undefined;
  realServerStart?.catch(() => undefined); // awaited below; do not crash as unhandled meanwhile
  let server;
  if (files.some((f) => f.tier.temporal)) {
    const started = Date.now();
    server = await startDevServer({ logFile: join(root, '.data', 'test-temporal.log') });
    env.TEMPORAL_ADDRESS = server.address;
    env.TEMPORAL_NAMESPACE = 'default';
    log(`Temporal dev server on ${server.address} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  }
  let realServer;
  if (files.some((f) => f.tier.realServer)) {
    realServer = await realServerStart;
    env.SHIPYARD_SERVER_TEMPORAL_ADDRESS = realServer.address;
    // Tests that SIGKILL a server start their own on this PostgreSQL (their own databases).
    env.SHIPYARD_SERVER_POSTGRES = `${realServer.postgres.host}:${realServer.postgres.port}`;
    env.SHIPYARD_SERVER_POSTGRES_DIR = realServer.postgres.dir;
  }
  let cluster;
  if (files.some((f) => f.tier.cluster)) {
    const started = Date.now();
    const { startCluster } = await import('./cluster.js');
    cluster = await startCluster({ name: `shipyard-test-${process.pid}` });
    env.KUBECONFIG = cluster.kubeconfig;
    // Istio's CRDs (VirtualService, DestinationRule, ...): server-side, they are too big for client-side apply.
    const kubectl = (...args) => execFileSync('kubectl', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    kubectl('apply', '--server-side', '-f', env.SHIPYARD_ISTIO_CRDS);
    // Gateway API's standard-channel CRDs (HTTPRoute, Gateway, ...), for the Gateway API router.
    kubectl('apply', '--server-side', '-f', env.SHIPYARD_GATEWAY_API_CRDS);
    // The Argo CD Application CRD, for the GitOps tests that simulate Argo CD.
    kubectl('apply', '--server-side', '-f', join(root, 'test/fixtures/argocd-application-crd.yaml'));
    kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s');
    log(`local Kubernetes control plane (kwok) at ${cluster.apiServer} with Istio, Gateway API and Argo CD CRDs (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  }
  for (const t of tiers) {
    const n = files.filter((f) => f.tier === t).length;
    if (n) log(`tier ${t.name}: ${n} file(s)`);
  }
  const args = [
    '--enable-source-maps',
    '--test',
    `--test-concurrency=${process.env.SHIPYARD_TEST_CONCURRENCY || 2}`,
    '--test-timeout=600000',
    '--test-reporter=spec',
    ...files.map((f) => relative(root, f.file)),
  ];
  const started = Date.now();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0)));
  });
  if (server) await server.stop();
  if (realServer) await realServer.stop();
  if (cluster) await cluster.stop();
  log(`${code === 0 ? 'PASSED' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)}s`);
  process.exit(code);
}

main().catch((err) => {
  console.error(`[shipyard test] ${err.stack || err.message}`);
  process.exit(1);
});
