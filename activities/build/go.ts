// The Go toolchain: the test gate (go vet, go test -race) and one cross-compile per target.
// Builds are reproducible (-trimpath, -buildvcs=false, -buildid=) and content-addressed, so a
// retried or repeated build of the same inputs is a cache hit. The Go build cache is shared by
// trusted builds; untrusted ones (`sandbox: true`) run in the sandbox of sandbox.ts with their own
// checkout, build cache and module cache, and their artifacts are keyed apart.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, normalize, isAbsolute } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { CommandError, run, type RunResult } from '../exec.js';
import type { BuildArtifact, BuildTargetInput, SourceInput, TestGateInput, TestGateResult } from '../types.js';
import { artifactKey, type ArtifactStore } from './artifact-store.js';
import { downloadModules, runGoSandboxed, untrustedSettings } from './sandbox.js';
import { checkout } from './source.js';
import type { BuildSettings } from './settings.js';

let distList: Promise<Set<string>> | undefined;
let goVersion: Promise<string> | undefined;
let goRootDir: Promise<string> | undefined;

/** Where a step's go runs: on the worker as it is, or (untrusted) in the sandbox around its checkout. */
type Where = { sandbox: false } | { sandbox: true; checkout: string; outputs?: string[] };

async function go(settings: BuildSettings, args: string[], cwd: string, env: Record<string, string> = {}, where: Where = { sandbox: false }): Promise<RunResult> {
  settings.onCommand?.('go', args);
  if (where.sandbox) {
    return runGoSandboxed({ goRoot: await goRoot(), settings, cwd, checkout: where.checkout, outputs: where.outputs, build: env }, args);
  }
  return run('go', args, { cwd, env: { ...process.env, ...env }, heartbeatMs: 2000 });
}

function goRoot(): Promise<string> {
  goRootDir ??= run('go', ['env', 'GOROOT']).then((r) => r.stdout.trim());
  return goRootDir;
}

/**
 * The checkout of a step and where its go runs. Untrusted: a checkout of its own (under
 * <workDir>/untrusted) with its modules fetched first, outside the sandbox.
 */
async function prepare(input: SourceInput & { sandbox?: boolean }, settings: BuildSettings): Promise<{ dir: string; where: Where }> {
  if (!input.sandbox) return { dir: moduleDir(await checkout(input.repo, input.commit, input.service, settings), input.dir), where: { sandbox: false } };
  const root = await checkout(input.repo, input.commit, input.service, untrustedSettings(settings));
  const dir = moduleDir(root, input.dir);
  await downloadModules(settings, dir);
  return { dir, where: { sandbox: true, checkout: root } };
}

export function supportedTargets(): Promise<Set<string>> {
  distList ??= run('go', ['tool', 'dist', 'list']).then((r) => new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean)));
  return distList;
}

export function toolchainVersion(): Promise<string> {
  goVersion ??= run('go', ['env', 'GOVERSION']).then((r) => r.stdout.trim());
  return goVersion;
}

/** linux/arm/v7 -> GOOS=linux GOARCH=arm GOARM=7; linux/amd64/v3 -> GOAMD64=v3. */
export async function targetEnv(target: string): Promise<Record<string, string>> {
  const [goos, goarch, variant] = target.split('/');
  if (!(await supportedTargets()).has(`${goos}/${goarch}`)) {
    throw ApplicationFailure.nonRetryable(`unsupported build target ${target}: not in \`go tool dist list\``, 'UnsupportedTarget');
  }
  const env: Record<string, string> = { GOOS: goos, GOARCH: goarch, CGO_ENABLED: '0' };
  if (variant) {
    if (goarch === 'arm') env.GOARM = variant.replace(/^v/, '');
    else if (goarch === 'amd64') env.GOAMD64 = variant.startsWith('v') ? variant : `v${variant}`;
    else if (goarch === 'arm64') env.GOARM64 = variant.startsWith('v') ? variant : `v${variant}`;
    else throw ApplicationFailure.nonRetryable(`build target ${target}: ${goarch} has no variants`, 'UnsupportedTarget');
  }
  return env;
}

/** The module directory inside the checkout; refuses paths that leave it. */
export function moduleDir(checkoutDir: string, dir: string | undefined): string {
  const rel = normalize(dir ?? '.');
  if (isAbsolute(rel) || rel.startsWith('..')) {
    throw ApplicationFailure.nonRetryable(`source.dir '${dir}' must be a path inside the repository`, 'InvalidSpec');
  }
  return join(checkoutDir, rel);
}

interface GoTestEvent {
  Action: string;
  Package?: string;
  Test?: string;
  Output?: string;
}

export async function runTestGate(input: TestGateInput, settings: BuildSettings): Promise<TestGateResult> {
  const started = Date.now();
  const { dir, where } = await prepare(input, settings);
  if (input.vet) {
    const vet = await go(settings, ['vet', './...'], dir, {}, where);
    if (vet.code !== 0) {
      throw ApplicationFailure.nonRetryable(`go vet failed:\n${tail(vet.stderr || vet.stdout)}`, 'VetFailed');
    }
  }
  // -race needs cgo; the gate runs on the worker's own platform.
  const test = await go(settings, ['test', '-race', '-json', './...'], dir, { CGO_ENABLED: '1' }, where);
  const events = test.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as GoTestEvent;
      } catch {
        return undefined;
      }
    })
    .filter((e): e is GoTestEvent => Boolean(e));
  const packages = new Set(events.filter((e) => e.Package).map((e) => e.Package));
  if (test.code !== 0) {
    const failedTests = events.filter((e) => e.Action === 'fail' && e.Test).map((e) => `${e.Package} ${e.Test}`);
    const failedPackages = events.filter((e) => e.Action === 'fail' && !e.Test).map((e) => e.Package);
    const output = events
      .filter((e) => e.Action === 'output' && e.Test && failedTests.includes(`${e.Package} ${e.Test}`))
      .map((e) => e.Output ?? '')
      .join('');
    const what = failedTests.length ? `failing tests: ${failedTests.join(', ')}` : `failing packages: ${failedPackages.join(', ') || '(build failed)'}`;
    throw ApplicationFailure.create({
      type: 'TestsFailed',
      nonRetryable: true,
      message: `go test failed; ${what}\n${tail(output || test.stderr || test.stdout)}`,
      details: [{ failedTests, failedPackages }],
    });
  }
  return { packages: packages.size, durationMs: Date.now() - started };
}

export async function buildTarget(input: BuildTargetInput, settings: BuildSettings, store: ArtifactStore): Promise<BuildArtifact> {
  const env = await targetEnv(input.target);
  const version = await toolchainVersion();
  const ldflags = [input.ldflags, '-buildid=', input.versionVariable ? `-X ${input.versionVariable}=${input.version}` : '']
    .filter(Boolean)
    .join(' ');
  const key = artifactKey({
    commit: input.commit,
    repo: input.repo,
    dir: input.dir ?? '.',
    goPackage: input.goPackage,
    target: input.target,
    ldflags,
    go: version,
    // Untrusted artifacts never answer a trusted build (the key of trusted ones is unchanged).
    ...(input.sandbox ? { untrusted: true } : {}),
  });
  const binary = `${input.service}${env.GOOS === 'windows' ? '.exe' : ''}`;
  const cached = await store.get(key);
  if (cached) return toArtifact(input.target, cached, true, version);

  const { dir, where } = await prepare(input, settings);
  const scratch = join(settings.workDir, 'out', `${key}-${randomBytes(4).toString('hex')}`);
  await mkdir(scratch, { recursive: true });
  try {
    const out = join(scratch, binary);
    let result: RunResult;
    try {
      const args = ['build', ...(settings.goProcs ? ['-p', String(settings.goProcs)] : []), '-trimpath', '-buildvcs=false', '-ldflags', ldflags, '-o', out, input.goPackage];
      result = await go(settings, args, dir, env, where.sandbox ? { ...where, outputs: [scratch] } : where);
    } catch (err) {
      if (err instanceof CommandError && err.cancelled) throw ApplicationFailure.create({ type: 'Cancelled', message: `build of ${input.target} cancelled` });
      throw err;
    }
    if (result.code !== 0) {
      const output = result.stderr || result.stdout;
      if (/no Go files|cannot find package|directory not found|is not in std|does not contain package|no required module provides/i.test(output)) {
        throw ApplicationFailure.nonRetryable(`package ${input.goPackage} not found for ${input.target}:\n${tail(output)}`, 'PackageNotFound');
      }
      throw ApplicationFailure.nonRetryable(`build for ${input.target} failed:\n${tail(output)}`, 'CompileError');
    }
    const stored = await store.put(key, out, binary, { target: input.target, commit: input.commit, go: version, ldflags });
    return toArtifact(input.target, stored, false, version);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function toArtifact(target: string, s: { uri: string; sha256: string; size: number }, cacheHit: boolean, goVersion: string): BuildArtifact {
  return { target, uri: s.uri, sha256: s.sha256, size: s.size, cacheHit, goVersion };
}

function tail(text: string, lines = 25): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
