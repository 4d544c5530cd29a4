// Talking to helm: the runner that classifies helm's errors for retries, the release history, and the
// wait for an operation someone else (e.g. a helm orphaned by a killed worker) still runs on a release.
// Every wait here heartbeats and stops as soon as the activity is cancelled.
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { run } from '../exec.js';
import type { HelmDeploySpec } from '../../spec/schema.js';
import { parseDuration } from '../../spec/duration.js';

export interface HistoryEntry {
  revision: number;
  status: string;
  chart: string;
  app_version: string;
  description: string;
}

type HelmTarget = { helm: Pick<HelmDeploySpec, 'release' | 'namespace' | 'kubeContext' | 'timeout'>; kubeconfig?: string };

export const PENDING = /^pending-/;

/** The release's namespace and cluster (a context, and the cluster's kubeconfig file when the input carries one). */
export function baseArgs(input: { helm: { namespace: string; kubeContext?: string }; kubeconfig?: string }): string[] {
  return [
    '--namespace', input.helm.namespace,
    ...(input.helm.kubeContext ? ['--kube-context', input.helm.kubeContext] : []),
    ...(input.kubeconfig ? ['--kubeconfig', input.kubeconfig] : []),
  ];
}

/** `<namespace>/<release>`, how messages and undo details name a release. */
export function releaseName(input: HelmTarget): string {
  return `${input.helm.namespace}/${input.helm.release}`;
}

/** Runs helm; a failure becomes an ApplicationFailure that says what helm said, classified for retries. */
export async function helm(args: string[], what: string, timeoutMs?: number): Promise<string> {
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

/** The release's revisions, oldest first; [] when the release does not exist. */
export async function history(input: HelmTarget): Promise<HistoryEntry[]> {
  const out = await run('helm', ['history', input.helm.release, ...baseArgs(input), '--max', '50', '-o', 'json'], { heartbeatMs: 5000 });
  if (out.code !== 0) {
    if (/release: not found/.test(out.stderr)) return [];
    throw classify(`helm history ${input.helm.release}`, out.stderr);
  }
  return (JSON.parse(out.stdout || '[]') as HistoryEntry[]).sort((a, b) => a.revision - b.revision);
}

/** The newest revision in `deployed` state (during a pending upgrade the previous one still is). */
export function deployedEntry(h: HistoryEntry[]): HistoryEntry | undefined {
  return [...h].reverse().find((e) => e.status === 'deployed');
}

/** The manifest helm stored for a revision. */
export function manifest(input: HelmTarget, revision: number): Promise<string> {
  return helm(['get', 'manifest', input.helm.release, ...baseArgs(input), '--revision', String(revision)], `helm get manifest ${input.helm.release} --revision ${revision}`);
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Heartbeats and sleeps; inside an activity, a cancellation ends the sleep at once with a CancelledFailure. */
export async function pause(ms: number, details: unknown): Promise<void> {
  const ctx = activityContext();
  if (!ctx) return new Promise((r) => setTimeout(r, ms));
  ctx.heartbeat(details);
  await ctx.sleep(ms);
}

export interface Settled {
  history: HistoryEntry[];
  /** The last revision, still pending when the budget ran out: nobody is finishing it. */
  stuck?: HistoryEntry;
}

/**
 * Waits while another helm works on the release (its last revision is pending-*), at most `budgetMs`
 * per pending revision: helm gives up on an operation after its --timeout, so a revision still pending
 * after timeout + a margin is nobody's. The clock restarts when a new revision becomes pending, because
 * an --atomic upgrade that failed its wait goes on with a rollback revision that has a --timeout of its
 * own. Heartbeats every second and ends at once when the activity is cancelled.
 */
export async function settle(input: HelmTarget, budgetMs: number): Promise<Settled> {
  let watching: { revision: number; deadline: number } | undefined;
  for (;;) {
    const h = await history(input);
    const last = h[h.length - 1];
    if (!last || !PENDING.test(last.status)) return { history: h };
    if (watching?.revision !== last.revision) watching = { revision: last.revision, deadline: Date.now() + budgetMs };
    if (Date.now() > watching.deadline) return { history: h, stuck: last };
    await pause(1000, { waiting: `${releaseName(input)} revision ${last.revision} is ${last.status}: ${last.description}` });
  }
}

/** What settling should wait at most: helm's own --timeout plus a margin for it to record the outcome. */
export const SETTLE_MARGIN_MS = 30_000;

/**
 * settle(), and a revision still pending after it is undone the way --atomic would have: rolled back
 * to the last deployed revision, or uninstalled when there is none. Returns the history after that.
 */
export async function settleOrRecover(input: HelmTarget, timeoutMs: number): Promise<HistoryEntry[]> {
  const { history: h, stuck } = await settle(input, timeoutMs + SETTLE_MARGIN_MS);
  if (!stuck) return h;
  const deployed = deployedEntry(h);
  if (deployed) await rollbackTo(input, deployed.revision, `helm rollback of stuck revision ${stuck.revision} (${stuck.status})`);
  else await uninstall(input, `helm uninstall of stuck revision ${stuck.revision} (${stuck.status})`);
  return history(input);
}

export async function rollbackTo(input: HelmTarget, revision: number, what: string): Promise<void> {
  const { release, timeout } = input.helm;
  await helm(['rollback', release, String(revision), ...baseArgs(input), '--wait', '--timeout', timeout], what, parseDuration(timeout) + 60_000);
}

export async function uninstall(input: HelmTarget, what: string): Promise<void> {
  const { release, timeout } = input.helm;
  await helm(['uninstall', release, ...baseArgs(input), '--wait', '--timeout', timeout], what, parseDuration(timeout) + 60_000);
}
