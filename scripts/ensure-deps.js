#!/usr/bin/env node
// Runs `npm install` when node_modules is missing or older than package-lock.json, so `npm start` and
// `npm test` work on a fresh clone. Uses only Node built-ins (it runs before dependencies exist).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const lock = `${root}package-lock.json`;
const stamp = `${root}node_modules/.shipyard-lock-hash`;
const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) process.exit(0);
// A fresh clone gets exactly the lockfile (npm ci); an existing tree is brought up to it (npm install).
const command = existsSync(`${root}node_modules`) ? 'install' : 'ci';
console.log(`[shipyard] installing npm dependencies (npm ${command})...`);
const started = Date.now();
const res = spawnSync('npm', [command, '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
if (res.status !== 0) {
  console.error(`[shipyard] npm ${command} failed`);
  process.exit(res.status ?? 1);
}
writeFileSync(stamp, hash);
console.log(`[shipyard] dependencies installed in ${((Date.now() - started) / 1000).toFixed(0)}s`);
