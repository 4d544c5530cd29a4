// The Helm deployer: `helm upgrade --install --atomic --cleanup-on-fail --wait` with the spec's values
// and the built image, and the undo: `helm rollback <release> <previous>` (or uninstall).
// Idempotent: an upgrade whose chart and values are already deployed makes no new revision, and a
// rollback to what is already deployed does nothing. A helm left running by a killed worker keeps
// going on its own; the retry waits for its pending operation to end before deciding anything.
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { heartbeat } from '@temporalio/activity';
import { parse } from 'yaml';
import semver from 'semver';
import { run } from '../exec.js';
import type { HelmInput, HelmRevision, HelmRollbackInput } from '../types.js';
import { parseDuration } from '../../spec/duration.js';

interface HistoryEntry {
  revision: number;
  status: string;
  chart: string;
  app_version: string;
  description: string;
}

function baseArgs(input: { helm: { namespace: string; kubeContext?: string } }): string[] {
  return ['--namespace', input.helm.namespace, ...(input.helm.kubeContext ? ['--kube-context', input.helm.kubeContext] : [])];
}

/** Runs helm; a failure becomes an ApplicationFailure that says what helm said, classified for retries. */
async function helm(args: string[], what: string, timeoutMs?: number): Promise<string> {
  const result = await run('helm', args, { heartbeatMs: 2000, timeoutMs });
  if (result.code === 0) return result.stdout;
  throw classify(what, `${result.stderr}\n${result.stdout}`.trim());
}

export function classify(what: string, output: string): Error {
  const message = `${what}: ${output.split('\n').filter(Boolean).slice(-8).join('\n')}`;
  if (/forbidden|unauthorized|Unauthorized|cannot (get|list|create|patch|update|delete) resource/i.test(output)) return ApplicationFailure.nonRetryable(message, 'Forbidden');
  if (/connection refused|no such host|i\/o timeout|Kubernetes cluster unreachable|EOF$|TLS handshake timeout/i.test(output)) {
    return ApplicationFailure.retryable(message, 'ClusterUnreachable');
  }
  if (/another operation \(install\/upgrade\/rollback\) is in progress/i.test(output)) return ApplicationFailure.retryable(message, 'HelmBusy');
  if (/UPGRADE FAILED|INSTALLATION FAILED|timed out waiting|context deadline exceeded|release .* failed, and has been rolled back/i.test(output)) {
    return ApplicationFailure.nonRetryable(message, 'HelmUpgradeFailed');
  }
  if (/not found|no such file|path .* not found|Chart.yaml file is missing|failed to download/i.test(output)) return ApplicationFailure.nonRetryable(message, 'ChartNotFound');
  return ApplicationFailure.nonRetryable(message, 'HelmFailed');
}

export async function history(input: { helm: HelmInput['helm'] }): Promise<HistoryEntry[]> {
  const out = await run('helm', ['history', input.helm.release, ...baseArgs(input), '--max', '50', '-o', 'json'], { heartbeatMs: 5000 });
  if (out.code !== 0) {
    if (/release: not found/.test(out.stderr)) return [];
    throw classify(`helm history ${input.helm.release}`, out.stderr);
  }
  return (JSON.parse(out.stdout || '[]') as HistoryEntry[]).sort((a, b) => a.revision - b.revision);
}

const PENDING = /^pending-/;

/** Waits while another helm (e.g. one orphaned by a killed worker) works on the release. */
async function settle(input: { helm: HelmInput['helm'] }, budgetMs: number): Promise<HistoryEntry[]> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const h = await history(input);
    const last = h[h.length - 1];
    if (!last || !PENDING.test(last.status)) return h;
    if (Date.now() > deadline) {
      // Nobody finished it: undo the half-done operation the way --atomic would have.
      const deployed = [...h].reverse().find((e) => e.status === 'deployed' || e.status === 'superseded');
      if (deployed) await helm(['rollback', input.helm.release, String(deployed.revision), ...baseArgs(input), '--wait', '--timeout', input.helm.timeout], 'helm rollback of a stuck operation');
      else await helm(['uninstall', input.helm.release, ...baseArgs(input), '--wait'], 'helm uninstall of a stuck install');
      return history(input);
    }
    heartbeat({ waiting: `revision ${last.revision} is ${last.status}` });
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function helmCurrentRevision(input: HelmInput): Promise<HelmRevision> {
  const h = await settle(input, parseDuration(input.helm.timeout) + 30_000);
  const deployed = [...h].reverse().find((e) => e.status === 'deployed');
  return { release: input.helm.release, namespace: input.helm.namespace, revision: deployed?.revision ?? null };
}

/** Sets `value` at a dotted path, refusing to replace a scalar with an object. */
export function setPath(values: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: Record<string, unknown> = values;
  keys.slice(0, -1).forEach((k, i) => {
    const next = node[k];
    if (next === undefined || next === null) node[k] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) {
      throw ApplicationFailure.nonRetryable(`values path ${path}: ${keys.slice(0, i + 1).join('.')} is a ${Array.isArray(next) ? 'list' : typeof next}, not a map`, 'InvalidValuesPath');
    }
    node = node[k] as Record<string, unknown>;
  });
  node[keys[keys.length - 1]] = value;
}

/** The values this release deploys: the spec's values plus the image. */
export function desiredValues(input: HelmInput): Record<string, unknown> {
  const values = structuredClone(input.helm.values ?? {}) as Record<string, unknown>;
  if (input.image) {
    setPath(values, input.helm.imageValues.repository, input.image.repository);
    setPath(values, input.helm.imageValues.tag, input.image.tag);
    if (input.helm.imageValues.digest) setPath(values, input.helm.imageValues.digest, input.image.digest);
  }
  return values;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Local charts: must exist, have a semver version, and get their dependencies built. */
async function prepareChart(chart: string): Promise<string | undefined> {
  const local = chart.startsWith('/') || chart.startsWith('.');
  if (!local) return undefined;
  const chartFile = join(chart, 'Chart.yaml');
  if (!existsSync(chartFile)) throw ApplicationFailure.nonRetryable(`chart ${chart} not found (no Chart.yaml)`, 'ChartNotFound');
  const meta = parse(readFileSync(chartFile, 'utf8')) as { version?: string; appVersion?: string; dependencies?: unknown[] };
  if (!meta?.version || !semver.valid(String(meta.version))) {
    throw ApplicationFailure.nonRetryable(`chart ${chart}: version '${meta?.version}' is not semver (Helm requires SemVer 2)`, 'InvalidChart');
  }
  if (meta.dependencies?.length && !existsSync(join(chart, 'charts'))) {
    await helm(['dependency', 'build', chart], `helm dependency build ${chart}`);
  }
  return String(meta.version);
}

export async function helmDeploy(input: HelmInput): Promise<HelmRevision> {
  const { helm: spec } = input;
  const chartVersion = await prepareChart(spec.chart);
  const values = desiredValues(input);
  const timeoutMs = parseDuration(spec.timeout);
  const h = await settle(input, timeoutMs + 30_000);
  const last = h[h.length - 1];
  if (last?.status === 'deployed' && (!chartVersion || last.chart.endsWith(`-${chartVersion}`))) {
    // `helm get values` returns the user-supplied values: the values files merged with ours.
    const current = JSON.parse(await helm(['get', 'values', spec.release, ...baseArgs(input), '-o', 'json'], 'helm get values')) ?? {};
    const supplied = spec.valuesFiles.reduce<Record<string, unknown>>((acc, f) => deepMerge(acc, (parse(readFileSync(f, 'utf8')) ?? {}) as Record<string, unknown>), {});
    if (isDeepStrictEqual(current, deepMerge(supplied, values))) return { release: spec.release, namespace: spec.namespace, revision: last.revision };
  }
  const dir = mkdtempSync(join(tmpdir(), 'helm-values-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    const args = [
      'upgrade', '--install', spec.release, spec.chart, ...baseArgs(input),
      '--create-namespace', '--atomic', '--cleanup-on-fail', '--wait', '--timeout', spec.timeout,
      ...spec.valuesFiles.flatMap((f) => ['-f', f]), '-f', file,
      '--description', `shipyard ${input.releaseId}`, '-o', 'json',
    ];
    const out = await helm(args, `helm upgrade ${spec.release}`, timeoutMs + 60_000);
    const release = JSON.parse(out) as { version: number };
    return { release: spec.release, namespace: spec.namespace, revision: release.version };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function helmRollback(input: HelmRollbackInput): Promise<void> {
  const { helm: spec } = input;
  const h = await settle(input, parseDuration(spec.timeout) + 30_000);
  if (h.length === 0) return; // nothing installed: nothing to undo
  if (input.toRevision === null) {
    await helm(['uninstall', spec.release, ...baseArgs(input), '--wait', '--timeout', spec.timeout], `helm uninstall ${spec.release}`);
    return;
  }
  const deployed = [...h].reverse().find((e) => e.status === 'deployed');
  if (deployed?.revision === input.toRevision) return;
  if (deployed) {
    // --atomic (or an earlier attempt of this undo) may already have restored exactly that state.
    const manifest = (rev: number) => helm(['get', 'manifest', spec.release, ...baseArgs(input), '--revision', String(rev)], 'helm get manifest');
    if ((await manifest(deployed.revision)) === (await manifest(input.toRevision))) return;
  }
  await helm(['rollback', spec.release, String(input.toRevision), ...baseArgs(input), '--wait', '--timeout', spec.timeout], `helm rollback ${spec.release} ${input.toRevision}`);
}
