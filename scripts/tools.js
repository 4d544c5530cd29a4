#!/usr/bin/env node
// Tool bootstrap: makes the real binaries Shipyard talks to available.
//
// A tool already on PATH wins. Otherwise it is built from its Go module at the pinned version
// into a per-version cache outside the repo (~/.cache/shipyard/tools/<name>/<version>/bin) and
// reused on every later run. Adding a tool is one entry in TOOLS.
//
//   node scripts/tools.js ensure temporal [more...]   build if needed, print paths
//   node scripts/tools.js path temporal                print the path (builds if needed)
//   node scripts/tools.js list                         show pins and what is cached
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, mkdtempSync, accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The pinned tools. `build.kind`:
 *  - go-install: `go install <module>@<version>` (the module has no `replace` lines)
 */
export const TOOLS = {
  temporal: {
    version: 'v1.5.1',
    binaries: ['temporal'],
    build: { kind: 'go-install', packages: ['github.com/temporalio/cli/cmd/temporal'] },
    note: 'Temporal CLI with the embedded dev server (server 1.29) and UI',
  },
};

export function cacheRoot() {
  if (process.env.SHIPYARD_TOOLS_DIR) return process.env.SHIPYARD_TOOLS_DIR;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'shipyard', 'tools');
}

function toolBinDir(name) {
  return join(cacheRoot(), name, TOOLS[name].version, 'bin');
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary on PATH, unless SHIPYARD_TOOLS_IGNORE_PATH=1 (used to test the build path). */
function fromPath(binary) {
  if (process.env.SHIPYARD_TOOLS_IGNORE_PATH === '1') return undefined;
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    if (isExecutable(candidate)) return candidate;
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

function run(cmd, args, opts) {
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
    await run('go', ['install', `${pkg}@${tool.version}`], { env });
  }
}

const BUILDERS = { 'go-install': buildGoInstall };

const inflight = new Map();

/** Returns { name: absolute path } for each binary of the tool, building it once if needed. */
export function ensureTool(name) {
  if (!inflight.has(name)) inflight.set(name, ensureToolOnce(name));
  return inflight.get(name);
}

async function ensureToolOnce(name) {
  const tool = TOOLS[name];
  if (!tool) throw new Error(`unknown tool '${name}' (known: ${Object.keys(TOOLS).join(', ')})`);
  const onPath = Object.fromEntries(tool.binaries.map((b) => [b, fromPath(b)]));
  if (Object.values(onPath).every(Boolean)) return onPath;

  const binDir = toolBinDir(name);
  const cached = Object.fromEntries(tool.binaries.map((b) => [b, join(binDir, b)]));
  if (Object.values(cached).every(isExecutable)) return cached;

  if (spawnSync('go', ['version']).status !== 0) {
    throw new Error(`${name} is not on PATH and the Go toolchain needed to build it is missing`);
  }
  log(`building ${name} ${tool.version} into ${binDir} (first run only; ${tool.note ?? ''})`);
  const started = Date.now();
  const ticker = setInterval(() => log(`  still building ${name}... ${formatSeconds(Date.now() - started)}`), 30_000);
  // Build into a scratch directory and rename, so an interrupted build never leaves a half tool behind.
  mkdirSync(join(cacheRoot(), name), { recursive: true });
  const scratch = mkdtempSync(join(cacheRoot(), name, '.build-'));
  try {
    await BUILDERS[tool.build.kind](name, tool, join(scratch, 'bin'), scratch);
    for (const b of tool.binaries) {
      if (!isExecutable(join(scratch, 'bin', b))) throw new Error(`build of ${name} did not produce ${b}`);
    }
    mkdirSync(join(cacheRoot(), name, tool.version), { recursive: true });
    if (existsSync(binDir)) rmSync(binDir, { recursive: true, force: true });
    renameSync(join(scratch, 'bin'), binDir);
  } finally {
    clearInterval(ticker);
    rmSync(scratch, { recursive: true, force: true });
  }
  log(`built ${name} ${tool.version} in ${formatSeconds(Date.now() - started)}`);
  return cached;
}

/** Path of one binary of a tool (the tool's first binary by default). */
export async function toolPath(name, binary) {
  const paths = await ensureTool(name);
  return paths[binary ?? TOOLS[name].binaries[0]];
}

async function main(argv) {
  const [cmd, ...names] = argv;
  if (cmd === 'ensure' || cmd === 'path') {
    if (names.length === 0) throw new Error(`usage: tools.js ${cmd} <tool...>`);
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
      const state = tool.binaries.every((b) => fromPath(b))
        ? 'on PATH'
        : tool.binaries.every((b) => isExecutable(join(toolBinDir(name), b)))
          ? `cached in ${toolBinDir(name)}`
          : 'not built yet';
      console.log(`${name.padEnd(12)} ${tool.version.padEnd(10)} ${state}`);
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
