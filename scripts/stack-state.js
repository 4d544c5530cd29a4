// Files the local stack (`npm start`) keeps in its data dir for the shell and for tools:
//   env.sh      `source .data/env.sh`: PATH with the tools' bin dirs, TEMPORAL_ADDRESS, KUBECONFIG, ...
//   stack.json  the running stack: pids of start.js and each child, restarts, addresses
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const quote = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;

/**
 * Writes <dataDir>/env.sh. `pathDirs` go in front of the shell's own PATH (not a frozen copy of
 * ours); `vars` are exported as given (undefined ones are left out).
 */
export function writeEnvFile(dataDir, { pathDirs = [], vars = {} }) {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'env.sh');
  const lines = [`# Written by npm start (scripts/start.js) at ${new Date().toISOString()}. Use: source ${file}`];
  if (pathDirs.length) lines.push(`export PATH=${quote(pathDirs.join(':'))}:"$PATH"`);
  for (const [k, v] of Object.entries(vars)) if (v !== undefined && v !== '') lines.push(`export ${k}=${quote(v)}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

export function stackFile(dataDir) {
  return join(dataDir, 'stack.json');
}

/** Replaces stack.json atomically (readers never see half a file). */
export function writeStackState(dataDir, state) {
  mkdirSync(dataDir, { recursive: true });
  const tmp = `${stackFile(dataDir)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stackFile(dataDir));
}

export function readStackState(dataDir) {
  const file = stackFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export function alive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
