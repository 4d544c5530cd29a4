// The Helm deployer: `helm upgrade --install --atomic --cleanup-on-fail --wait` with the spec's values
// and the built image, the chart from wherever the spec says (chart-source.ts); promotion (`helm
// upgrade --reuse-values` with the image); and the undo: `helm rollback <release> <previous>` (or uninstall).
// Idempotent: an upgrade whose chart and values are already deployed makes no new revision, a
// promotion of the image already deployed makes none either, and a rollback to what is already
// deployed does nothing. A helm left running by a killed worker keeps going on its own; the retry
// waits for its pending operation to end before deciding anything. A helm this release killed itself
// (abort during --wait) is nobody's: the interrupted rollback undoes it at once (helm-interrupt.ts).
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { log } from '@temporalio/activity';
import { parse } from 'yaml';
import { CommandError } from '../exec.js';
import type { HelmInput, HelmPromoteInput, HelmRevision, HelmRollbackInput, ImageRef, UndoResult } from '../types.js';
import { parseDuration } from '../../spec/duration.js';
import {
  PENDING, SETTLE_MARGIN_MS, baseArgs, deployedEntry, helm, history, manifest, releaseName, rollbackTo, settle, settleOrRecover, uninstall,
  type HistoryEntry,
} from './helm-cli.js';
import { isSameChart, resolveChart } from './chart-source.js';
import { OPERATION_LABEL, interruptedBy, markInterrupted, newOperation } from './helm-interrupt.js';
import { mergeValues } from '../helm-values.js';

export { classify, history } from './helm-cli.js';

export async function helmCurrentRevision(input: HelmInput): Promise<HelmRevision> {
  const h = await settleOrRecover(input, parseDuration(input.helm.timeout));
  return { release: input.helm.release, namespace: input.helm.namespace, revision: deployedEntry(h)?.revision ?? null };
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

function getPath(values: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, k) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined), values);
}

type ImagePaths = { repository: string; tag: string; digest?: string };

/** The image's repository, tag (and digest) at the given value paths. */
function imageEntries(paths: ImagePaths, image: ImageRef): [string, string][] {
  return [[paths.repository, image.repository], [paths.tag, image.tag], ...(paths.digest ? [[paths.digest, image.digest] as [string, string]] : [])];
}

/** The values this release deploys: the spec's values plus the image. */
export function desiredValues(input: HelmInput): Record<string, unknown> {
  const values = structuredClone(input.helm.values ?? {}) as Record<string, unknown>;
  if (input.image) for (const [path, value] of imageEntries(input.helm.imageValues, input.image)) setPath(values, path, value);
  return values;
}


/**
 * Runs one `helm upgrade` with `values` in a temporary values file and a fresh operation label; when
 * the activity is cancelled (or the hard limit hits) and helm is killed, marks the pending revision it
 * left as interrupted by this release. Returns the new revision.
 */
async function upgrade(input: HelmInput | HelmPromoteInput, args: string[], values: Record<string, unknown>, what: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'helm-values-'));
  const operation = newOperation();
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    const all = [...args, '-f', file, '--labels', `${OPERATION_LABEL}=${operation}`, '-o', 'json'];
    // --atomic: the wait may take --timeout, then the rollback of a failed upgrade waits up to --timeout again.
    const out = await helm(all, what, 2 * parseDuration(input.helm.timeout) + 60_000);
    return (JSON.parse(out) as { version: number }).version;
  } catch (err) {
    if (err instanceof CommandError) {
      const marked = await markInterrupted(input, operation).catch((e: Error) => log.warn(`could not mark the interrupted helm operation: ${e.message}`));
      if (typeof marked === 'number') log.info(`${releaseName(input)} revision ${marked} left pending by the killed helm: marked interrupted`);
      // Killed because the release cancelled us: report a cancellation, so the release knows its own
      // helm was stopped mid-operation (and rolls back at once).
      if (err.cancelled) throw new CancelledFailure(`${what}: helm killed, the activity was cancelled`);
    }
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function helmDeploy(input: HelmInput): Promise<HelmRevision> {
  const { helm: spec } = input;
  const chart = await resolveChart(spec, input.chartArchive);
  try {
    const values = desiredValues(input);
    const h = await settleOrRecover(input, parseDuration(spec.timeout));
    const last = h[h.length - 1];
    if (last?.status === 'deployed' && isSameChart(chart, last.chart)) {
      // `helm get values` returns the user-supplied values: the values files merged with ours.
      const current = JSON.parse(await helm(['get', 'values', spec.release, ...baseArgs(input), '-o', 'json'], 'helm get values')) ?? {};
      const supplied = spec.valuesFiles.reduce<Record<string, unknown>>((acc, f) => mergeValues(acc, (parse(readFileSync(f, 'utf8')) ?? {}) as Record<string, unknown>), {});
      if (isDeepStrictEqual(current, mergeValues(supplied, values))) return { release: spec.release, namespace: spec.namespace, revision: last.revision };
    }
    const args = [
      'upgrade', '--install', spec.release, ...chart.args, ...baseArgs(input),
      '--create-namespace', '--atomic', '--cleanup-on-fail', '--wait', '--timeout', spec.timeout,
      ...spec.valuesFiles.flatMap((f) => ['-f', f]),
      '--description', `shipyard ${input.releaseId}`,
    ];
    const revision = await upgrade(input, args, values, `helm upgrade ${spec.release}`);
    return { release: spec.release, namespace: spec.namespace, revision };
  } finally {
    chart.cleanup();
  }
}

/**
 * Promotion: `helm upgrade --reuse-values` of an existing release with the image at `imageValues`.
 * Check-then-act: when the deployed revision's values already hold the image, no new revision.
 */
export async function helmPromote(input: HelmPromoteInput): Promise<HelmRevision> {
  const { helm: spec } = input;
  const chart = await resolveChart(spec, input.chartArchive);
  try {
    const h = await settleOrRecover(input, parseDuration(spec.timeout));
    const deployed = deployedEntry(h);
    if (!deployed) {
      const why = h.length ? `has no deployed revision (last: ${h[h.length - 1].revision} ${h[h.length - 1].status})` : 'not found';
      throw ApplicationFailure.nonRetryable(`helm release ${releaseName(input)} ${why}: promotion upgrades an existing release, it does not install one`, 'HelmReleaseNotFound');
    }
    const entries = imageEntries(input.imageValues, input.image);
    const current = JSON.parse(await helm(['get', 'values', spec.release, ...baseArgs(input), '--revision', String(deployed.revision), '--all', '-o', 'json'], 'helm get values')) ?? {};
    if (isSameChart(chart, deployed.chart) && entries.every(([path, value]) => getPath(current, path) === value)) {
      return { release: spec.release, namespace: spec.namespace, revision: deployed.revision };
    }
    const values: Record<string, unknown> = {};
    for (const [path, value] of entries) setPath(values, path, value);
    const args = [
      'upgrade', spec.release, ...chart.args, ...baseArgs(input), '--reuse-values',
      '--atomic', '--cleanup-on-fail', '--wait', '--timeout', spec.timeout,
      '--description', `shipyard ${input.releaseId} promote`,
    ];
    const revision = await upgrade(input, args, values, `helm upgrade ${spec.release} (promote ${input.image.tag})`);
    return { release: spec.release, namespace: spec.namespace, revision };
  } finally {
    chart.cleanup();
  }
}

/**
 * The undo of helmDeploy/helmPromote: back to `toRevision`, or uninstall when it is null. Waits for a
 * pending operation of someone else first (helm timeout + 30 s); a pending revision left by this
 * release's own killed helm (`interrupted`) is rolled back at once. Says what it did, read back.
 */
export async function helmRollback(input: HelmRollbackInput): Promise<UndoResult> {
  const { helm: spec, toRevision } = input;
  const name = releaseName(input);
  let h = await history(input);
  let stuck: HistoryEntry | undefined;
  const last = h[h.length - 1];
  if (input.interrupted && last && PENDING.test(last.status) && (await interruptedBy(input, last.revision))) {
    stuck = last; // this release killed the helm working on it: nobody will finish it
  } else {
    ({ history: h, stuck } = await settle(input, parseDuration(spec.timeout) + SETTLE_MARGIN_MS));
  }
  if (h.length === 0) {
    return toRevision === null ? { result: 'unchanged', detail: `helm release ${name} is not installed` } : { result: 'skipped', detail: `helm release ${name} not found` };
  }
  const top = h[h.length - 1];
  const leftover = stuck ? ` (revision ${stuck.revision} was left ${stuck.status})` : '';
  if (toRevision === null) {
    await uninstall(input, `helm uninstall ${spec.release}`);
    const after = await history(input);
    if (after.length) throw ApplicationFailure.retryable(`helm uninstall ${name} returned, but the release still has ${after.length} revision(s)`, 'HelmUninstallIncomplete');
    return { result: 'undone', detail: `helm release ${name} uninstalled, was at revision ${top.revision} ${top.status}${leftover}` };
  }
  if (!stuck) {
    // A pending revision is half applied whatever is still marked deployed, so these shortcuts only hold when nothing is pending.
    const deployed = deployedEntry(h);
    if (deployed?.revision === toRevision) return { result: 'unchanged', detail: `helm release ${name} already at revision ${toRevision}` };
    // --atomic (or an earlier attempt of this undo) may already have restored exactly that state.
    if (deployed && (await manifest(input, deployed.revision)) === (await manifest(input, toRevision))) {
      return { result: 'unchanged', detail: `helm release ${name} revision ${deployed.revision} already has revision ${toRevision}'s manifest` };
    }
  }
  await rollbackTo(input, toRevision, `helm rollback ${spec.release} ${toRevision}`);
  const now = deployedEntry(await history(input));
  return { result: 'undone', detail: `helm release ${name} rolled back to revision ${toRevision}${leftover}: revision ${now?.revision ?? '?'} deployed` };
}
