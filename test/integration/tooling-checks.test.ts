// Checks with real tools on files the project ships: the Jenkinsfile parses as Groovy, the
// Prometheus alert rules pass promtool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Debian's groovy launcher wants JAVA_HOME (or /usr/lib/jvm/default-java); derive it from the java on PATH. */
function javaHome(): string | undefined {
  if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
  const which = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim();
  return which ? realpathSync(which).replace(/\/bin\/java$/, '') : undefined;
}
const groovyEnv = { ...process.env, JAVA_HOME: javaHome() };

test('examples/Jenkinsfile is valid Groovy (parsed, not run); a broken copy is not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'groovy-'));
  const checker = join(dir, 'parse.groovy');
  // Parse only: compiles the pipeline script to a class without executing its steps.
  writeFileSync(checker, 'new GroovyShell().parse(new File(args[0]))\nprintln "parsed " + args[0]\n');
  const ok = spawnSync('groovy', [checker, join(root, 'examples/Jenkinsfile')], { encoding: 'utf8', env: groovyEnv });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /parsed/);
  const broken = join(dir, 'Jenkinsfile');
  writeFileSync(broken, 'pipeline {\n  stages {\n    stage("x") { steps { sh "echo" }\n  }\n');
  const bad = spawnSync('groovy', [checker, broken], { encoding: 'utf8', env: groovyEnv });
  assert.notEqual(bad.status, 0, 'a missing brace is a syntax error');
  assert.match(bad.stderr, /unexpected|expecting|MultipleCompilationErrorsException/);
});

test('deploy/prometheus/alerts.yaml passes promtool check rules', () => {
  const res = spawnSync('promtool', ['check', 'rules', join(root, 'deploy/prometheus/alerts.yaml')], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /SUCCESS: 4 rules found/);
});
