#!/usr/bin/env node
// `npm run dev:down [-- --all]`: deletes what `npm start` keeps between runs (Ctrl-C keeps it).
//   default  the local cluster (kwok, .data/demo/cluster) and the rest of .data/demo (registry
//            contents, Prometheus data, GitOps config repo, example service binaries, the services
//            added with `shipyard dev add-service` and the local runner's image cache)
//   --all    also the Temporal dev server's database (every release's history), its log, env.sh
//            and the generated webhook secret
// Refuses while a stack is running from the same data dir (stop it first).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, readStackState, stackFile } from './stack-state.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = process.env.SHIPYARD_DATA_DIR || join(root, '.data');
const log = (m) => console.log(`[shipyard dev:down] ${m}`);

async function main(argv) {
  const unknown = argv.filter((a) => a !== '--all');
  if (unknown.length) throw new Error(`unknown argument(s) ${unknown.join(' ')} (usage: dev-down.js [--all])`);
  const all = argv.includes('--all');
  const running = readStackState(dataDir);
  if (running && alive(running.pid)) throw new Error(`the stack is running (pid ${running.pid}, ${stackFile(dataDir)}); stop it first (Ctrl-C)`);

  const removed = [];
  const demo = join(dataDir, 'demo');
  const clusterDir = join(demo, 'cluster');
  if (existsSync(clusterDir)) {
    // Ends the cluster's processes (a crashed stack may have left them) before its files go.
    const { stopCluster } = await import('./cluster.js');
    await stopCluster({ name: 'shipyard-demo', dir: clusterDir });
    removed.push(`local cluster shipyard-demo (${clusterDir})`);
  }
  if (existsSync(demo)) {
    const parts = readdirSync(demo).filter((f) => f !== 'cluster');
    rmSync(demo, { recursive: true, force: true });
    removed.push(`${demo}${parts.length ? ` (${parts.sort().join(', ')})` : ''}`);
  }
  if (all) {
    for (const f of readdirSync(dataDir, { withFileTypes: true })) {
      // temporal.db and SQLite's -wal/-shm companions, the dev server log, env.sh, stack.json, the secret
      if (!f.isFile() || !/^(temporal\.(db|log)(-.*)?|env\.sh|stack\.json|webhook-secret)$/.test(f.name)) continue;
      rmSync(join(dataDir, f.name), { force: true });
      removed.push(join(dataDir, f.name));
    }
  } else if (existsSync(join(dataDir, 'temporal.db'))) {
    log(`kept ${join(dataDir, 'temporal.db')} (release history); --all deletes it too`);
  }
  if (removed.length === 0) log(`nothing to remove in ${dataDir}`);
  for (const r of removed) log(`removed ${r}`);
}

main(process.argv.slice(2)).catch((err) => {
  log(`error: ${err.message}`);
  process.exit(1);
});
