// The sandbox of untrusted builds (pull requests, gateway routes marked untrusted): `go vet`,
// `go test` and `go build` run under bubblewrap with
//   - an environment built from an allowlist (no TEMPORAL_*, keys, tokens, askpass, TLS paths),
//   - the host read-only, the worker's home, /tmp, /var/tmp and /run replaced by empty tmpfs,
//     the worker's work and artifact directories hidden, files named by secret-looking variables masked,
//   - only the checkout, a fresh HOME, the output directory and the untrusted Go build cache writable,
//   - no network (--unshare-all): modules are fetched before, outside, by `go mod download`, which
//     runs no repository code, into a module cache of untrusted builds that is read-only inside.
// The untrusted cache, checkouts and module cache live under <workDir>/untrusted, apart from the
// trusted ones, so a pull request cannot poison what trusted builds compile.
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { run, type RunResult } from '../exec.js';
import type { BuildSettings } from './settings.js';

export interface SandboxDirs {
  /** Everything of untrusted builds: <workDir>/untrusted. Checkouts go to <root>/src. */
  root: string;
  /** Go build cache of untrusted builds (writable inside; never used by trusted builds). */
  goCache: string;
  /** Module cache of untrusted builds: filled outside by `go mod download`, read-only inside. */
  goModCache: string;
}

export function sandboxDirs(settings: Pick<BuildSettings, 'workDir'>): SandboxDirs {
  const root = join(settings.workDir, 'untrusted');
  return { root, goCache: join(root, 'gocache'), goModCache: join(root, 'gomodcache') };
}

/** Settings whose checkouts land under the untrusted root, apart from trusted checkouts of the same commit. */
export function untrustedSettings(settings: BuildSettings): BuildSettings {
  return { ...settings, workDir: sandboxDirs(settings).root };
}

/** Worker variables passed into the sandbox as they are: harmless locale settings. */
const PASS_THROUGH = ['LANG', 'LC_ALL', 'TZ'];
/** Variables a build step may add (target platform, cgo): Go settings only. */
const BUILD_VARIABLE = /^(GO[A-Z0-9_]*|CGO_ENABLED)$/;
/** Go settings a step may not override: they would reopen the network or the worker's caches. */
const FIXED = ['GOPROXY', 'GOSUMDB', 'GOFLAGS', 'GOMODCACHE', 'GOCACHE', 'GOPATH', 'GOENV', 'GOTOOLCHAIN', 'GOROOT'];

export interface SandboxEnvOptions {
  goRoot: string;
  /** HOME inside the sandbox (a fresh directory per run). */
  home: string;
  dirs: SandboxDirs;
  /** GOOS/GOARCH/CGO_ENABLED... of this step. */
  build?: Record<string, string>;
}

/**
 * The whole environment of a sandboxed step. Nothing of the worker's environment gets in except
 * the locale: not TEMPORAL_*, not *_KEY/*_TOKEN/*_SECRET, not SHIPYARD_*, not GIT_ASKPASS, not the
 * worker's PATH (which may name directories in its home), not GOPRIVATE/.netrc settings.
 */
export function sandboxEnv(workerEnv: NodeJS.ProcessEnv, opts: SandboxEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASS_THROUGH) if (workerEnv[k]) env[k] = workerEnv[k]!;
  Object.assign(env, {
    PATH: `${join(opts.goRoot, 'bin')}:/usr/local/bin:/usr/bin:/bin`,
    HOME: opts.home,
    TMPDIR: '/tmp',
    GOROOT: opts.goRoot,
    GOPATH: join(opts.home, 'go'),
    GOCACHE: opts.dirs.goCache,
    GOMODCACHE: opts.dirs.goModCache,
    // Modules come from the read-only cache only; go.mod may be tidied in the checkout, not fetched.
    GOFLAGS: '-mod=mod -buildvcs=false',
    GOPROXY: 'off',
    GOSUMDB: 'off', // checked outside, when `go mod download` fetched them
    GOTOOLCHAIN: 'local',
    GOTELEMETRY: 'off',
    GOENV: 'off',
  });
  for (const [k, v] of Object.entries(opts.build ?? {})) {
    if (!BUILD_VARIABLE.test(k) || FIXED.includes(k)) throw new Error(`sandbox: build variable ${k} is not allowed`);
    env[k] = v;
  }
  return env;
}

/** Names of worker variables whose value, when it is a path, points at credentials. */
const SECRET_NAME = /(TLS|KEY|CERT|TOKEN|SECRET|PASS|CREDENTIAL|NETRC|KUBECONFIG|DOCKER_CONFIG|SSH|AUTH)/i;
/** Directories that are never hidden wholesale (the toolchain and C compiler need them). */
const SYSTEM_DIRS = new Set(['/', '/etc', '/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/var', '/opt', '/home', '/srv', '/proc', '/dev', '/sys']);

function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** Files and directories named by secret-looking worker variables (TEMPORAL_TLS_KEY_PATH, SHIPYARD_GIT_ASKPASS...). */
export function secretPaths(workerEnv: NodeJS.ProcessEnv): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(workerEnv)) {
    if (!value || !SECRET_NAME.test(name)) continue;
    for (const candidate of value.split(':')) {
      if (!isAbsolute(candidate) || !existsSync(candidate)) continue;
      out.add(normalize(candidate));
    }
  }
  return [...out];
}

export interface BwrapOptions {
  /** Writable: the checkout (module) directory and the step's other outputs. */
  writable: string[];
  /** Read-only, re-exposed after the hiding mounts (the Go toolchain, the module cache). */
  readOnly: string[];
  /** Hidden behind empty tmpfs: the worker's home, work and artifact directories. */
  hide: string[];
  /** Files and directories of credentials, masked. */
  secrets: string[];
  cwd: string;
}

/** The bwrap arguments (before `--` and the command). Later mounts lie on top of earlier ones. */
export function bwrapArgs(o: BwrapOptions): string[] {
  const needed = [...o.writable, ...o.readOnly, o.cwd];
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
  args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc');
  for (const dir of ['/tmp', '/var/tmp', '/run']) args.push('--tmpfs', dir);
  const hidden: string[] = [];
  for (const dir of o.hide) {
    if (SYSTEM_DIRS.has(dir) || hidden.some((h) => isWithin(dir, h))) continue;
    args.push('--tmpfs', dir);
    hidden.push(dir);
  }
  for (const path of o.secrets) {
    if (hidden.some((h) => isWithin(path, h)) || needed.some((n) => isWithin(n, path))) continue;
    const isDir = statSync(path, { throwIfNoEntry: false })?.isDirectory();
    // A secret's own directory goes too, unless it is a system directory or holds what the build needs:
    // then the file is not even there to be opened.
    const parent = isDir ? path : path.slice(0, path.lastIndexOf('/')) || '/';
    if (!SYSTEM_DIRS.has(parent) && !needed.some((n) => isWithin(n, parent))) {
      args.push('--tmpfs', parent);
      hidden.push(parent);
    } else if (!isDir) args.push('--ro-bind', '/dev/null', path);
  }
  for (const dir of o.readOnly) args.push('--ro-bind', dir, dir);
  for (const dir of o.writable) args.push('--bind', dir, dir);
  args.push('--chdir', o.cwd);
  return args;
}

export interface SandboxStep {
  goRoot: string;
  settings: BuildSettings;
  /** Directory the command runs in (inside the untrusted checkout). */
  cwd: string;
  /** The untrusted checkout directory: writable. */
  checkout: string;
  /** Other writable directories (build output). */
  outputs?: string[];
  build?: Record<string, string>;
  workerEnv?: NodeJS.ProcessEnv;
  heartbeatMs?: number;
}

/** Runs `go <args>` in the sandbox. A fresh HOME per run: one build cannot leave files for the next. */
export async function runGoSandboxed(step: SandboxStep, args: string[]): Promise<RunResult> {
  const workerEnv = step.workerEnv ?? process.env;
  const dirs = sandboxDirs(step.settings);
  const home = join(dirs.root, 'home', randomBytes(6).toString('hex'));
  await Promise.all([mkdir(home, { recursive: true }), mkdir(dirs.goCache, { recursive: true }), mkdir(dirs.goModCache, { recursive: true })]);
  const homes = [...new Set([homedir(), workerEnv.HOME, '/root'].filter((h): h is string => Boolean(h) && isAbsolute(h!)))];
  const opts: BwrapOptions = {
    writable: [step.checkout, home, dirs.goCache, ...(step.outputs ?? [])],
    readOnly: [step.goRoot, dirs.goModCache],
    hide: [...homes, step.settings.workDir, step.settings.artifactDir].filter((d) => existsSync(d)),
    secrets: secretPaths(workerEnv),
    cwd: step.cwd,
  };
  const env = sandboxEnv(workerEnv, { goRoot: step.goRoot, home, dirs, build: step.build });
  try {
    return await run('bwrap', [...bwrapArgs(opts), '--', join(step.goRoot, 'bin', 'go'), ...args], { env, heartbeatMs: step.heartbeatMs ?? 2000 });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * Fetches the module's dependencies into the untrusted module cache, outside the sandbox and with
 * the worker's environment (proxy, GOPRIVATE credentials). `go mod download` reads go.mod and go.sum
 * and verifies checksums; it runs no code of the repository. GOTOOLCHAIN=local: go.mod cannot make
 * the worker fetch and run another toolchain.
 */
export async function downloadModules(settings: BuildSettings, dir: string, workerEnv: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { goModCache } = sandboxDirs(settings);
  await mkdir(goModCache, { recursive: true });
  const flags = (workerEnv.GOFLAGS ?? '').split(/\s+/).filter((f) => f && !f.startsWith('-mod='));
  const env = { ...workerEnv, GOMODCACHE: goModCache, GOTOOLCHAIN: 'local', GOFLAGS: [...flags, '-mod=mod'].join(' ') };
  settings.onCommand?.('go', ['mod', 'download']);
  const result = await run('go', ['mod', 'download'], { cwd: dir, env, heartbeatMs: 2000 });
  if (result.code !== 0) {
    const output = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    if (/go\.mod file not found|malformed|invalid|unknown directive|parsing go\.mod/i.test(output)) {
      throw ApplicationFailure.nonRetryable(`go mod download failed:\n${output}`, 'ModuleDownloadFailed');
    }
    throw new Error(`go mod download failed:\n${output}`);
  }
}
