#!/usr/bin/env node
// `npm run demo`: releases the example service (examples/release.yaml) at this repository's HEAD
// commit on the running stack (`npm start`). Extra arguments go to `shipyard release start`,
// e.g. `npm run demo -- --wait`.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let commit;
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
} catch {
  console.error('[shipyard demo] this checkout has no git commit to release (git rev-parse HEAD failed)');
  process.exit(2);
}
const args = ['dist/client/cli.js', 'release', 'start', '-f', 'examples/release.yaml', '--commit', commit, '--version', `0.1.0-${commit.slice(0, 7)}`, '--trigger', 'demo', '--as', 'demo', ...process.argv.slice(2)];
const res = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(res.status ?? 1);
