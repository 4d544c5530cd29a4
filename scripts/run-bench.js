#!/usr/bin/env node
// `npm run bench`: runs every benchmark in bench/ against a fresh dev server. Not part of npm test;
// the numbers are ratios measured side by side in one run. BENCH=name runs one.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDevServer } from './dev-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const benches = readdirSync(`${root}dist/bench`)
  .filter((f) => f.endsWith('.js') && f !== 'workflows.js')
  .filter((f) => !process.env.BENCH || f.startsWith(process.env.BENCH));
const server = await startDevServer({ logFile: `${root}.data/bench-temporal.log` });
let failed = 0;
for (const file of benches) {
  console.log(`\n== bench ${file.replace(/\.js$/, '')}`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [`dist/bench/${file}`], { cwd: root, env: { ...process.env, TEMPORAL_ADDRESS: server.address }, stdio: 'inherit' });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (code !== 0) failed++;
}
await server.stop();
process.exit(failed ? 1 : 0);
