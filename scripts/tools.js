#!/usr/bin/env node
// Tool bootstrap: makes the real binaries Shipyard talks to available.
//
// A tool already on PATH wins. Otherwise it is built from its Go module at the pinned version
// into a per-version cache outside the repo (~/.cache/shipyard/tools/<name>/<version>/bin, or
// .../files for a tool that is a file rather than a binary) and reused on every later run.
// Adding a tool is one entry in TOOLS.
//
//   node scripts/tools.js ensure temporal [more...]   build if needed, print paths
//   node scripts/tools.js path temporal                print the path (builds if needed)
//   node scripts/tools.js path                         PATH with every cached tool's bin dir in front
//   node scripts/tools.js list                         show pins and what is cached
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  mkdtempSync,
  accessSync,
  constants,
  copyFileSync,
  chmodSync,
  readFileSync,
  writeFileSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KUBERNETES = 'v1.34.4'; // k8s.io/kubernetes; its staging modules (k8s.io/api, ...) are tagged v0.34.4
const KUBERNETES_MINOR = KUBERNETES.split('.').slice(0, 2).join('\\.'); // 'v1\.34', for pathVersion
const ETCD = 'v3.6.16';
const HELM = 'v3.22.0';
// go.temporal.io/server: its go.mod says `go 1.26.8`; later patches (v1.31.5, v1.32.2) want a newer Go.
// docker-compose.yml runs the same version (test/unit/compose.test.ts checks they agree).
export const TEMPORAL_SERVER = 'v1.32.1';

/** go-wrapper build of packages of k8s.io/kubernetes, with a real version stamped in. */
function kubernetesWrapper(...packages) {
  const [major, minor, patch] = KUBERNETES.slice(1).split('.');
  return {
    kind: 'go-wrapper',
    module: 'k8s.io/kubernetes',
    localReplaces: { match: '^k8s\\.io/', version: `v0.${minor}.${patch}` },
    packages: packages.map((p) => `k8s.io/kubernetes/${p}`),
    // Without these the binaries report v0.0.0-master and kwokctl cannot tell their version.
    ldflags: [
      '-s -w',
      `-X k8s.io/component-base/version.gitVersion=${KUBERNETES}`,
      `-X k8s.io/component-base/version.gitMajor=${major}`,
      `-X k8s.io/component-base/version.gitMinor=${minor}`,
      '-X k8s.io/component-base/version.gitTreeState=clean',
    ].join(' '),
  };
}

/**
 * The pinned tools. A tool has `binaries` (executables; one on PATH wins) or `files` (plain files,
 * always from the cache). `build.kind`:
 *  - go-install: `go install <module>@<version>` (the module has no `replace` lines), with optional
 *    `build.ldflags` and `build.rename` ({ installedName: binaryName }, for commands named `server`)
 *  - go-wrapper: a generated module that requires `build.module` at the tool's version and builds
 *    `build.packages` from it. Every `replace M => ./local/dir` of the upstream go.mod whose M
 *    matches `build.localReplaces.match` becomes `replace M => M <build.localReplaces.version>`
 *    (read from the downloaded go.mod at build time), for modules that are only buildable from
 *    their own repository (k8s.io/kubernetes, etcd).
 *  - go-mod-file: copies `build.files` (paths inside the module zip of `build.module` at the tool's
 *    version) into the cache.
 * `pathVersion` (optional): a binary on PATH wins only if `<binary> ...args` prints a line matching
 * `match` (so an old distribution package does not shadow the pin).
 */
const GATEWAY_API_CRDS = ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'referencegrants', 'backendtlspolicies'];

export const TOOLS = {
  // v1.5.1 is the newest CLI `go install` can build: later ones (v1.6.2 .. v1.9.1) replace the unpublished
  // nested module github.com/temporalio/cli/cliext with ./cliext, which the module zip does not contain.
  temporal: {
    version: 'v1.5.1',
    binaries: ['temporal'],
    build: { kind: 'go-install', packages: ['github.com/temporalio/cli/cmd/temporal'] },
    note: 'Temporal CLI with the embedded dev server (server 1.29) and UI',
  },
  helm: {
    version: HELM,
    binaries: ['helm'],
    build: {
      kind: 'go-install',
      packages: ['helm.sh/helm/v3/cmd/helm'],
      ldflags: `-X helm.sh/helm/v3/internal/version.version=${HELM}`, // else `helm version` says v3.22
    },
    note: 'Helm 3 (v4 renames --atomic)',
  },
  kwok: {
    version: 'v0.8.0',
    binaries: ['kwok', 'kwokctl'],
    build: { kind: 'go-install', packages: ['sigs.k8s.io/kwok/cmd/kwok', 'sigs.k8s.io/kwok/cmd/kwokctl'] },
    note: 'kwokctl runs a control plane from local binaries; kwok fakes nodes and pods',
  },
  kubernetes: {
    version: KUBERNETES,
    binaries: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    build: kubernetesWrapper('cmd/kube-apiserver', 'cmd/kube-controller-manager', 'cmd/kube-scheduler'),
    pathVersion: { args: ['--version'], match: `^Kubernetes ${KUBERNETES_MINOR}\\.` }, // same minor as the pin
    note: 'control plane for cluster tests; the first build takes several minutes',
  },
  // kwokctl runs `kubectl get --raw /version` while it starts a cluster and downloads kubectl when
  // none is on PATH; an old or wrapper kubectl (gcloud's "dispatcher") is not trusted.
  kubectl: {
    version: KUBERNETES,
    binaries: ['kubectl'],
    build: kubernetesWrapper('cmd/kubectl'),
    pathVersion: { args: ['version', '--client'], match: `^Client Version: ${KUBERNETES_MINOR}\\.\\d+$` },
    note: 'kubectl matching the control plane',
  },
  etcd: {
    version: ETCD,
    binaries: ['etcd'],
    build: {
      kind: 'go-wrapper',
      module: 'go.etcd.io/etcd/server/v3',
      localReplaces: { match: '^go\\.etcd\\.io/etcd/', version: ETCD },
      packages: ['go.etcd.io/etcd/server/v3'],
    },
    pathVersion: { args: ['--version'], match: '^etcd Version: 3\\.6\\.' }, // Debian's etcd 3.4 is too old
    note: 'etcd for the control plane',
  },
  crane: {
    version: 'v0.22.1',
    binaries: ['crane'],
    build: { kind: 'go-install', packages: ['github.com/google/go-containerregistry/cmd/crane'] },
    note: 'daemonless OCI image building, pushing and copying',
  },
  // Dex tags (v2.x) are not valid Go module versions (its go.mod has no /v2 suffix), so the pin is the
  // pseudo-version of the v2.45.1 tag's commit. Its go.mod replaces the api/v2 submodule with ./api/v2,
  // whose code at that tag is the published api/v2 v2.4.0 (a later master needs unpublished API types).
  // Built without cgo: no sqlite storage, tests use the memory store. Web templates are embedded.
  dex: {
    version: 'v0.0.0-20260303133905-11d2eeb52b42', // tag v2.45.1
    binaries: ['dex'],
    build: {
      kind: 'go-wrapper',
      module: 'github.com/dexidp/dex',
      localReplaces: { match: '^github\\.com/dexidp/dex/api/v2$', version: 'v2.4.0' },
      packages: ['github.com/dexidp/dex/cmd/dex'],
      ldflags: '-s -w -X main.version=v2.45.1', // else `dex version` says DEV
    },
    note: 'Dex OpenID Connect provider for identity tests',
  },
  // The Temporal server itself and its SQL schema tool, for the real-cluster tier (test/server) on
  // PostgreSQL. go.temporal.io/server has no replace lines; pure Go (the SQLite driver is modernc).
  // temporal-sql-tool embeds the server's schema (--schema-name postgresql/v12/temporal), so the
  // schema always matches the server it sets up.
  'temporal-server': {
    version: TEMPORAL_SERVER,
    binaries: ['temporal-server', 'temporal-sql-tool'],
    build: {
      kind: 'go-install',
      packages: ['go.temporal.io/server/cmd/server', 'go.temporal.io/server/cmd/tools/sql'],
      rename: { server: 'temporal-server', sql: 'temporal-sql-tool' },
    },
    pathVersion: { args: ['--version'], match: `\\b${TEMPORAL_SERVER.slice(1).replace(/\./g, '\\.')}\\b` },
    note: 'Temporal server + temporal-sql-tool; the first build takes 10+ minutes on 2 cores',
  },
  // Debian packages: installed with apt-get, services kept from starting (the tests start their own).
  'docker-registry': {
    version: 'debian',
    binaries: ['docker-registry'],
    build: { kind: 'apt', packages: ['docker-registry'] },
    note: 'OCI distribution registry for image tests',
  },
  // initdb/postgres live in /usr/lib/postgresql/<major>/bin, not on PATH: `binaries` names what the
  // server package puts on PATH (postgresql-common; a client-only install has psql but not this), and
  // scripts/temporal-cluster.js finds the server binaries under /usr/lib/postgresql.
  postgresql: {
    version: 'debian',
    binaries: ['pg_ctlcluster'],
    build: { kind: 'apt', packages: ['postgresql'] },
    note: 'PostgreSQL, the persistence of the real Temporal server tier',
  },
  prometheus: {
    version: 'debian',
    binaries: ['prometheus', 'promtool'],
    build: { kind: 'apt', packages: ['prometheus'] },
    note: 'Prometheus for analysis tests; promtool checks the alert rules',
  },
  // Debian names the binary prometheus-alertmanager (amtool checks a config).
  alertmanager: {
    version: 'debian',
    binaries: ['prometheus-alertmanager', 'amtool'],
    build: { kind: 'apt', packages: ['prometheus-alertmanager'] },
    note: 'Alertmanager for the alert-driven abort tests and bench',
  },
  groovy: {
    version: 'debian',
    binaries: ['groovy'],
    build: { kind: 'apt', packages: ['groovy'] },
    note: 'Groovy, to parse the example Jenkinsfile',
  },
  bubblewrap: {
    version: 'debian',
    binaries: ['bwrap'],
    build: { kind: 'apt', packages: ['bubblewrap'] },
    note: 'bwrap, the sandbox of untrusted (pull request) builds',
  },
  // The dashboard's browser tests drive Debian's Chromium with playwright-core (no browser download).
  chromium: {
    version: 'debian',
    binaries: ['chromium'],
    build: { kind: 'apt', packages: ['chromium'] },
    note: 'Chromium, for the dashboard tests (headless, driven by playwright-core)',
  },
  'istio-crds': {
    version: 'v1.30.3',
    files: ['customresourcedefinitions.gen.yaml'],
    build: { kind: 'go-mod-file', module: 'istio.io/api', files: ['kubernetes/customresourcedefinitions.gen.yaml'] },
    note: 'Istio CRDs (networking.istio.io/v1 VirtualService, ...); apply server-side',
  },
  // The standard channel only (no experimental fields): v1.4.1's HTTPRoute rules have `name`, and
  // its RequestMirror has `percent`/`fraction`. v1.4.0 is not published on the module proxy.
  'gateway-api-crds': {
    version: 'v1.4.1',
    files: GATEWAY_API_CRDS.map((kind) => `gateway.networking.k8s.io_${kind}.yaml`),
    build: { kind: 'go-mod-file', module: 'sigs.k8s.io/gateway-api', files: GATEWAY_API_CRDS.map((kind) => `config/crd/standard/gateway.networking.k8s.io_${kind}.yaml`) },
    note: 'Gateway API CRDs, standard channel (gateway.networking.k8s.io/v1 HTTPRoute, ...); apply server-side',
  },
};

export function cacheRoot() {
  if (process.env.SHIPYARD_TOOLS_DIR) return process.env.SHIPYARD_TOOLS_DIR;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'shipyard', 'tools');
}

/** What a tool produces: binaries in .../bin, or plain files in .../files. */
function outputs(tool) {
  return tool.files ? { dir: 'files', names: tool.files, ok: isFile } : { dir: 'bin', names: tool.binaries, ok: isExecutable };
}

function toolBinDir(name) {
  return join(cacheRoot(), name, TOOLS[name].version, outputs(TOOLS[name]).dir);
}

function isFile(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The binary on PATH, unless SHIPYARD_TOOLS_IGNORE_PATH=1 (used to test the build path) or it fails
 * the tool's `pathVersion` check.
 */
function fromPath(binary, tool) {
  if (process.env.SHIPYARD_TOOLS_IGNORE_PATH === '1' || !tool.binaries) return undefined;
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    if (!isExecutable(candidate)) continue;
    if (!tool.pathVersion) return candidate;
    const res = spawnSync(candidate, tool.pathVersion.args, { encoding: 'utf8', timeout: 10_000 });
    if (new RegExp(tool.pathVersion.match, 'm').test(`${res.stdout ?? ''}${res.stderr ?? ''}`)) return candidate;
    log(`ignoring ${candidate}: its version does not match ${tool.pathVersion.match}`);
    return undefined;
  }
  return undefined;
}

function log(msg) {
  process.stderr.write(`[shipyard tools] ${msg}\n`);
}

function formatSeconds(ms) {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Runs a command to the end; resolves with its output (stdout + stderr), rejects with its tail. */
export function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${output.slice(-4000)}`)),
    );
  });
}

async function buildGoInstall(name, tool, outDir) {
  const env = { ...process.env, GOBIN: outDir, CGO_ENABLED: '0', GOFLAGS: '-trimpath' };
  for (const pkg of tool.build.packages) {
    log(`go install ${pkg}@${tool.version}`);
    const ldflags = tool.build.ldflags ? [`-ldflags=${tool.build.ldflags}`] : [];
    await run('go', ['install', ...ldflags, `${pkg}@${tool.version}`], { env });
  }
  for (const [from, to] of Object.entries(tool.build.rename ?? {})) renameSync(join(outDir, from), join(outDir, to));
}

/** `go mod download -json <module>@<version>`: { Dir, GoMod, ... } of the module in the module cache. */
async function goModDownload(module, version, env) {
  const info = JSON.parse(await run('go', ['mod', 'download', '-json', `${module}@${version}`], { env }));
  if (info.Error) throw new Error(`go mod download ${module}@${version}: ${info.Error}`);
  return info;
}

/** The `replace M [v] => ./dir` (local directory) lines of a go.mod, as [M, dir] pairs. */
function localReplaces(goMod) {
  const pairs = [];
  let inBlock = false;
  for (const raw of goMod.split('\n')) {
    let line = raw.replace(/\/\/.*$/, '').trim();
    if (line === 'replace (') inBlock = true;
    else if (inBlock && line === ')') inBlock = false;
    else if (inBlock || line.startsWith('replace ')) {
      if (!inBlock) line = line.slice('replace '.length).trim();
      const m = line.match(/^(\S+)(?:\s+\S+)?\s+=>\s+(\.\.?\/\S*)$/);
      if (m) pairs.push([m[1], m[2]]);
    }
  }
  return pairs;
}

async function buildGoWrapper(name, tool, outDir, scratch) {
  const { module, packages, localReplaces: lr, ldflags } = tool.build;
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-trimpath', GOWORK: 'off' };
  log(`go mod download ${module}@${tool.version}`);
  const upstream = readFileSync((await goModDownload(module, tool.version, env)).GoMod, 'utf8');
  const replaces = localReplaces(upstream).filter(([m]) => new RegExp(lr.match).test(m));
  if (replaces.length === 0) throw new Error(`${module}@${tool.version}: no local replace matches ${lr.match}`);
  // Keep upstream's language version and GODEBUG defaults: they decide the runtime behaviour
  // (`tool` lines need go >= 1.24).
  const goVersion = upstream.match(/^go\s+(\S+)$/m)?.[1] ?? '1.24';
  const [maj, min] = goVersion.split('.').map(Number);
  const goLine = `go ${maj > 1 || min >= 24 ? goVersion : '1.24'}`;
  const godebug = upstream.match(/^godebug\s.*$/gm) ?? [];
  const wrapper = join(scratch, 'wrapper');
  mkdirSync(wrapper, { recursive: true });
  writeFileSync(
    join(wrapper, 'go.mod'),
    [
      `module shipyard.local/tools/${name}`,
      '',
      goLine,
      ...godebug,
      '',
      `require ${module} ${tool.version}`,
      '',
      'replace (',
      ...replaces.map(([m]) => `\t${m} => ${m} ${lr.version}`),
      ')',
      '',
      ...packages.map((p) => `tool ${p}`),
      '',
    ].join('\n'),
  );
  log(`wrapper module: ${module} ${tool.version}, ${replaces.length} local replaces -> ${lr.version}; go mod tidy`);
  await run('go', ['mod', 'tidy'], { cwd: wrapper, env });
  mkdirSync(outDir, { recursive: true });
  log(`go build ${packages.join(' ')}`);
  // One package: name the binary after the tool (go.etcd.io/etcd/server/v3 would become 'server').
  // Several: one `go build` into the directory, so they share compilation.
  const out = packages.length === 1 ? join(outDir, tool.binaries[0]) : `${outDir}/`;
  const args = ['build', '-o', out, ...(ldflags ? [`-ldflags=${ldflags}`] : []), ...packages];
  await run('go', args, { cwd: wrapper, env });
}

async function buildGoModFile(name, tool, outDir) {
  const env = { ...process.env, GOWORK: 'off' };
  log(`go mod download ${tool.build.module}@${tool.version}`);
  const { Dir } = await goModDownload(tool.build.module, tool.version, env);
  mkdirSync(outDir, { recursive: true });
  for (const file of tool.build.files) {
    copyFileSync(join(Dir, file), join(outDir, basename(file)));
    chmodSync(join(outDir, basename(file)), 0o644); // the module cache is read-only
  }
}

const BUILDERS = { 'go-install': buildGoInstall, 'go-wrapper': buildGoWrapper, 'go-mod-file': buildGoModFile };

const POLICY_RC = '/usr/sbin/policy-rc.d';

/**
 * Installs Debian packages. A policy-rc.d that answers 101 keeps their services from starting
 * (Debian's prometheus and docker-registry would otherwise start on :9090 and :5000).
 */
async function installApt(name, tool) {
  if (process.getuid?.() !== 0) throw new Error(`${name}: installing Debian package(s) ${tool.build.packages.join(' ')} needs root (apt-get)`);
  log(`installing ${tool.build.packages.join(' ')} with apt-get (first run only; ${tool.note ?? ''})`);
  const started = Date.now();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const ownPolicy = !existsSync(POLICY_RC);
  if (ownPolicy) {
    writeFileSync(POLICY_RC, '#!/bin/sh\n# shipyard tools: do not start services on install\nexit 101\n');
    chmodSync(POLICY_RC, 0o755);
  }
  const install = () => run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...tool.build.packages], { env });
  try {
    await install().catch(async () => {
      log('apt-get install failed; running apt-get update and trying again');
      await run('apt-get', ['update', '-q'], { env });
      await install();
    });
  } finally {
    if (ownPolicy) rmSync(POLICY_RC, { force: true });
  }
  const paths = Object.fromEntries(tool.binaries.map((b) => [b, fromPath(b, tool)]));
  const missing = tool.binaries.filter((b) => !paths[b]);
  if (missing.length) throw new Error(`${name}: apt installed ${tool.build.packages.join(' ')} but ${missing.join(', ')} is not on PATH`);
  log(`installed ${name} in ${formatSeconds(Date.now() - started)}`);
  return paths;
}

const inflight = new Map();

/** Returns { name: absolute path } for each binary of the tool, building it once if needed. */
export function ensureTool(name) {
  if (!inflight.has(name)) inflight.set(name, ensureToolOnce(name));
  return inflight.get(name);
}

async function ensureToolOnce(name) {
  const tool = TOOLS[name];
  if (!tool) throw new Error(`unknown tool '${name}' (known: ${Object.keys(TOOLS).join(', ')})`);
  const out = outputs(tool);
  if (tool.binaries) {
    const onPath = Object.fromEntries(tool.binaries.map((b) => [b, fromPath(b, tool)]));
    if (Object.values(onPath).every(Boolean)) return onPath;
  }

  if (tool.build.kind === 'apt') return installApt(name, tool);

  const binDir = toolBinDir(name);
  const cached = Object.fromEntries(out.names.map((b) => [b, join(binDir, b)]));
  if (Object.values(cached).every(out.ok)) return cached;

  if (spawnSync('go', ['version']).status !== 0) {
    throw new Error(`${name} is not on PATH and the Go toolchain needed to build it is missing`);
  }
  log(`building ${name} ${tool.version} into ${binDir} (first run only; ${tool.note ?? ''})`);
  const started = Date.now();
  const ticker = setInterval(() => log(`  still building ${name}... ${formatSeconds(Date.now() - started)}`), 30_000);
  // Build into a scratch directory and rename, so an interrupted build never leaves a half tool behind.
  mkdirSync(join(cacheRoot(), name), { recursive: true });
  const scratch = mkdtempSync(join(cacheRoot(), name, '.build-'));
  const scratchOut = join(scratch, out.dir);
  try {
    await BUILDERS[tool.build.kind](name, tool, scratchOut, scratch);
    for (const b of out.names) {
      if (!out.ok(join(scratchOut, b))) throw new Error(`build of ${name} did not produce ${b}`);
    }
    mkdirSync(join(cacheRoot(), name, tool.version), { recursive: true });
    if (existsSync(binDir)) rmSync(binDir, { recursive: true, force: true });
    renameSync(scratchOut, binDir);
  } finally {
    clearInterval(ticker);
    rmSync(scratch, { recursive: true, force: true });
  }
  log(`built ${name} ${tool.version} in ${formatSeconds(Date.now() - started)}`);
  return cached;
}

/**
 * PATH with the directory of each given tool's binary in front, so child processes (activities
 * calling helm, crane, kubectl) run exactly the resolved tools.
 */
export async function toolPathEnv(names, basePath = process.env.PATH || '') {
  const dirs = [];
  for (const name of names) {
    if (!TOOLS[name].binaries) continue;
    for (const p of Object.values(await ensureTool(name))) {
      const dir = p.slice(0, p.lastIndexOf('/'));
      if (!dirs.includes(dir)) dirs.push(dir);
    }
  }
  return [...dirs, basePath].filter(Boolean).join(delimiter);
}

/**
 * PATH with the bin directory of every tool already built in the cache in front (builds nothing;
 * tools found on PATH or not built yet add nothing). For a shell: `export PATH=$(node scripts/tools.js path)`.
 */
export function cachedToolPathEnv(basePath = process.env.PATH || '') {
  const dirs = Object.entries(TOOLS)
    .filter(([name, tool]) => tool.binaries && tool.binaries.every((b) => isExecutable(join(toolBinDir(name), b))))
    .map(([name]) => toolBinDir(name));
  return [...dirs, basePath].filter(Boolean).join(delimiter);
}

/** Path of one binary (or file) of a tool (the tool's first one by default). */
export async function toolPath(name, binary) {
  const paths = await ensureTool(name);
  const path = paths[binary ?? outputs(TOOLS[name]).names[0]];
  if (!path) throw new Error(`tool '${name}' has no '${binary}' (it has ${Object.keys(paths).join(', ')})`);
  return path;
}

async function main(argv) {
  const [cmd, ...names] = argv;
  if (cmd === 'path' && names.length === 0) {
    console.log(cachedToolPathEnv());
    return;
  }
  if (cmd === 'ensure' || cmd === 'path') {
    if (names.length === 0) throw new Error(`usage: tools.js ensure <tool...>`);
    for (const name of names) {
      const started = Date.now();
      const paths = await ensureTool(name);
      if (cmd === 'path') console.log(Object.values(paths)[0]);
      else for (const [b, p] of Object.entries(paths)) console.log(`${b}\t${p}\t(${formatSeconds(Date.now() - started)})`);
    }
    return;
  }
  if (cmd === 'list' || cmd === undefined) {
    for (const [name, tool] of Object.entries(TOOLS)) {
      const out = outputs(tool);
      const state = tool.binaries?.every((b) => fromPath(b, tool))
        ? 'on PATH'
        : out.names.every((b) => out.ok(join(toolBinDir(name), b)))
          ? `cached in ${toolBinDir(name)}`
          : tool.build.kind === 'apt' ? 'not installed yet (apt)' : 'not built yet';
      console.log(`${name.padEnd(16)} ${tool.version.padEnd(10)} ${state}`);
    }
    return;
  }
  throw new Error(`unknown command '${cmd}' (use ensure, path or list)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    log(`error: ${err.message}`);
    process.exit(1);
  });
}
