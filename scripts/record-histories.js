#!/usr/bin/env node
// `npm run record-histories`: re-records test/replay/histories/ on a fresh dev server. Read the
// header of test/replay/record.ts before using it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDevServer } from './dev-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const server = await startDevServer({ logFile: fileURLToPath(new URL('../.data/record-temporal.log', import.meta.url)) });
const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/test/replay/record.js'], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: server.address },
    stdio: 'inherit',
  });
  child.on('exit', (c) => resolve(c ?? 1));
});
await server.stop();
process.exit(code);
