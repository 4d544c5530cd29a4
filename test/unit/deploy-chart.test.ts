// deploy/Dockerfile against the code that runs in it. No Docker engine runs here, so these tests
// read the Dockerfile: they find every executable the activities start (run/runChecked/spawn/
// execFile with a literal name, simple-git, crane via SHIPYARD_CRANE, cgo for `go test -race`) and
// check that the image's final stage installs each one, and that the Go-built tools come from the
// pins of scripts/tools.js. Any call with a non-literal command must be classified below, so a new
// tool cannot slip through. The chart itself is tested with the real helm in test/cluster/shipyard-chart.test.ts
// (the unit tier has no tools on PATH).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
const { TOOLS } = (await import(pathToFileURL(join(root, 'scripts/tools.js')).href)) as {
  TOOLS: Record<string, { version: string; binaries?: string[]; build: { kind: string } }>;
};

/** Non-literal commands in activities, by the expression, and the executable each resolves to. */
const INDIRECT: Record<string, string> = { 'tools.crane': 'crane', cmd: '' /* exec.ts itself: run(cmd, ...) */ };
/** Executables a Debian package provides (only the packages the image installs matter). */
const APT_EXECUTABLES: Record<string, string[]> = { git: ['git'], gcc: ['gcc'], tar: ['tar'], 'openssh-client': ['ssh'], bubblewrap: ['bwrap'] };

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : e.endsWith('.ts') ? [p] : [];
  });
}

/** Executables the activities start, each with the file that needs it. */
function executablesOfActivities(): Map<string, string> {
  const found = new Map<string, string>();
  const add = (exe: string, file: string) => exe && !found.has(exe) && found.set(exe, relative(root, file));
  for (const file of tsFiles(join(root, 'activities'))) {
    // Declarations (function run(cmd: string, ...)) are not calls.
    const src = readFileSync(file, 'utf8').replace(/\b(function|async) \w+\(/g, '$1 (');
    const startsProcesses = /from '(node:child_process|[./]*exec\.js)'/.test(src);
    // run( / runChecked( / spawn( / execFile( not preceded by `.` (breakers.run is not a process).
    for (const m of startsProcesses ? src.matchAll(/(?<![\w.])(?:run|runChecked|spawn|spawnSync|execFile|execFileSync)\(\s*([^,)]+)/g) : []) {
      const arg = m[1].trim();
      const literal = /^(['"`])([\w.-]+)\1$/.exec(arg);
      if (literal) add(literal[2], file);
      else {
        assert.ok(arg in INDIRECT, `${relative(root, file)}: command '${arg}' is not a literal; classify it in INDIRECT`);
        add(INDIRECT[arg], file);
      }
    }
    if (/from 'simple-git'/.test(src) && /simpleGit\(/.test(src)) add('git', file);
    if (/SHIPYARD_CRANE \|\| 'crane'/.test(src)) add('crane', file);
    // The race detector needs cgo: a C compiler and the C library headers.
    if (/'-race'/.test(src)) add('gcc', file);
  }
  return found;
}

/** The stages of the Dockerfile: name (or index) -> lines, with `\` continuations joined. */
function stages(): { name: string; from: string; text: string }[] {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  const out: { name: string; from: string; text: string }[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ name: from[2] ?? `#${out.length}`, from: from[1], text: '' });
    else if (out.length) out[out.length - 1].text += `${line}\n`;
  }
  return out;
}

/** Executables on PATH in the final stage, and how each got there. */
function installedInFinalStage(): Map<string, string> {
  const all = stages();
  const final = all[all.length - 1];
  const byName = new Map(all.map((s) => [s.name, s]));
  const installed = new Map<string, string>([['node', `base image ${final.from}`]]);
  for (const m of final.text.matchAll(/apt-get install ([^&\n]+)/g)) {
    for (const pkg of m[1].split(/\s+/).filter((w) => w && !w.startsWith('-'))) {
      for (const exe of APT_EXECUTABLES[pkg] ?? []) installed.set(exe, `apt package ${pkg}`);
    }
  }
  for (const m of final.text.matchAll(/^COPY --from=(\S+) (\S+) (\S+)$/gm)) {
    const [, stage, src, dest] = m;
    if (src === '/usr/local/go' && /^ENV .*PATH=\/usr\/local\/go\/bin:/m.test(final.text)) installed.set('go', `Go toolchain from stage ${stage}`);
    const from = byName.get(stage);
    // The tools stage: whatever `tools.js ensure <names>` built and copied to /out.
    const ensure = from && /node \S*scripts\/tools\.js ensure ([\w -]+?)\s*&&/.exec(from.text);
    if (ensure && src === '/out/' && dest === '/usr/local/bin/') {
      for (const name of ensure[1].trim().split(/\s+/)) {
        assert.ok(new RegExp(`for t in [^;]*\\b${name}\\b[^;]*; do cp`).test(from.text), `tool ${name} is built but not copied to /out`);
        for (const exe of TOOLS[name].binaries ?? []) installed.set(exe, `${name} ${TOOLS[name].version} (scripts/tools.js, ${TOOLS[name].build.kind})`);
      }
    }
  }
  return installed;
}

test('Dockerfile (read, no Docker engine): every executable the activities run is installed in the final image', () => {
  const needed = executablesOfActivities();
  // The scan must see the tools we know the activities drive; if it finds none it is broken.
  for (const exe of ['go', 'git', 'helm', 'crane', 'tar', 'gcc']) assert.ok(needed.has(exe), `scan of activities/ did not find ${exe}`);
  // kubectl is not started by an activity, but operators exec into the deploy worker with it.
  needed.set('kubectl', 'operators (kubectl exec into the deploy worker)');
  const installed = installedInFinalStage();
  const missing = [...needed].filter(([exe]) => !installed.has(exe)).map(([exe, by]) => `${exe} (needed by ${by})`);
  assert.deepEqual(missing, [], `not installed in deploy/Dockerfile: ${missing.join(', ')}`);
  // gcc alone does not link: cgo needs the C library headers too.
  assert.match(stages().at(-1)!.text, /apt-get install [^\n]*\blibc6-dev\b/);
});

test('Dockerfile (read, no Docker engine): helm, kubectl and crane are built from Go source at the pins of scripts/tools.js', () => {
  const installed = installedInFinalStage();
  for (const [exe, tool] of [['helm', 'helm'], ['kubectl', 'kubectl'], ['crane', 'crane']]) {
    assert.match(installed.get(exe) ?? '', new RegExp(`^${tool} ${TOOLS[tool].version.replace(/\./g, '\\.')} \\(scripts/tools\\.js, go-`), `${exe}: ${installed.get(exe)}`);
    assert.ok(['go-install', 'go-wrapper'].includes(TOOLS[tool].build.kind), `${tool} is built with go, not downloaded`);
  }
  assert.equal(TOOLS.helm.version, 'v3.22.0');
  assert.equal(TOOLS.kubectl.version, TOOLS.kubernetes.version, 'kubectl matches the control plane pin');
  // No prebuilt binaries fetched over HTTP anywhere in the build.
  assert.doesNotMatch(dockerfile, /\b(curl|wget)\b|ADD https?:/);
  // The tools stage copies only tools.js (the pins), so editing the pins rebuilds the tools.
  assert.match(dockerfile, /^COPY scripts\/tools\.js \/src\/scripts\/tools\.js$/m);
});

test('Dockerfile (read, no Docker engine): the image runs as a non-root user with node as entrypoint and the worker entries exist', () => {
  const final = stages().at(-1)!;
  assert.match(final.text, /^USER node$/m);
  assert.match(final.text, /^ENTRYPOINT \["node"\]$/m);
  const cmd = /^CMD \["([^"]+)"\]$/m.exec(final.text)?.[1];
  assert.equal(cmd, 'dist/workers/all-in-one.js');
  for (const entry of ['workers/orchestrator.ts', 'workers/build.ts', 'workers/deploy.ts', 'workers/all-in-one.ts', 'client/gateway/main.ts']) {
    assert.ok(statSync(join(root, entry)).isFile(), `${entry} missing`);
  }
});
