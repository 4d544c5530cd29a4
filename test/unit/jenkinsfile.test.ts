// examples/Jenkinsfile hands releases to the CLI and maps its exit codes to build results; the codes
// it handles must be the CLI's. (Its Groovy syntax is checked by the integrations tier with groovy.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../../client/exit-codes.js';

const jenkinsfile = readFileSync(fileURLToPath(new URL('../../../examples/Jenkinsfile', import.meta.url)), 'utf8');

test('the Jenkinsfile maps exactly the CLI exit codes it names', () => {
  const cases = [...jenkinsfile.matchAll(/case (\d+):[\s\S]*?(?=case \d+:|default:)/g)].map((m) => ({ code: Number(m[1]), body: m[0] }));
  const byCode = Object.fromEntries(cases.map((c) => [c.code, c.body]));
  assert.match(byCode[EXIT.succeeded], /release succeeded/);
  assert.match(byCode[EXIT.rolledBack], /UNSTABLE[\s\S]*rolled back/);
  assert.match(byCode[EXIT.rejected], /ABORTED[\s\S]*rejected/);
  assert.match(byCode[EXIT.aborted], /ABORTED[\s\S]*aborted/);
  assert.match(byCode[EXIT.usage], /invalid release spec/);
  assert.match(jenkinsfile, /default:\s*\n\s*error "release failed/);
});

test('it starts the release with --wait and the commit, and prints where to watch it', () => {
  const start = jenkinsfile.split('\n').find((l) => l.includes('shipyard release start'));
  assert.ok(start, 'a shipyard release start line');
  for (const part of ['-f \\"\\$SPEC\\"', '--commit \\"\\$GIT_COMMIT\\"', '--trigger jenkins', '--wait']) assert.ok(start.includes(part), `${part} in: ${start}`);
  assert.match(jenkinsfile, /echo "Shipyard release: \$\{env.SHIPYARD_UI_URL\}/);
  assert.match(jenkinsfile, /shipyard abort/);
});
