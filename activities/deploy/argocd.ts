// Argo CD health for a GitOps release: the Application must be Synced and Healthy at the release's
// config commit, or at a later revision of the config branch that contains it (other releases kept
// committing to the shared branch; ancestry is checked in the config repository). Degraded at such a
// revision, or a failed sync operation, fails the release.
import { ApplicationFailure } from '@temporalio/common';
import { kube, kubeFailure, statusOf } from '../kube.js';
import { pollPause } from '../poll.js';
import type { HealthInput } from '../types.js';
import { ConfigHistory } from './config-history.js';
import type { GitOpsSettings } from './gitops.js';

const POLL_MS = 1000;

interface Application {
  status?: {
    sync?: { status?: string; revision?: string; revisions?: string[] };
    health?: { status?: string; message?: string };
    operationState?: { phase?: string; message?: string };
  };
}

const short = (rev: string) => rev.slice(0, 12);

export async function waitForArgo(input: HealthInput, deadline: number, settings: GitOpsSettings = {}): Promise<void> {
  const argo = input.argocd!;
  const history = argo.repo ? new ConfigHistory(argo.repo, settings) : undefined;
  /** Whether the synced revision(s) include the release's config commit. */
  const containsOurs = async (revisions: string[]): Promise<boolean> => {
    for (const rev of revisions) {
      if (rev === argo.revision || (history && (await history.contains(rev, argo.revision)))) return true;
    }
    return false;
  };
  let last = 'not found';
  try {
    for (;;) {
      let app: Application | undefined;
      try {
        app = (await kube(input.kubeContext).custom.getNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: argo.namespace, plural: 'applications', name: argo.application })) as Application;
      } catch (err) {
        if (statusOf(err) !== 404) throw kubeFailure(`reading Argo CD application ${argo.application}`, err);
      }
      if (app) {
        const sync = app.status?.sync ?? {};
        const health = app.status?.health ?? {};
        const revisions = sync.revision ? [sync.revision] : sync.revisions ?? [];
        const at = revisions.map(short).join(',') || '?';
        last = `sync ${sync.status ?? '?'} at ${at}, health ${health.status ?? '?'}`;
        const op = app.status?.operationState;
        if (op?.phase === 'Failed' || op?.phase === 'Error') {
          throw ApplicationFailure.nonRetryable(`Argo CD sync of ${argo.application} failed: ${op.message ?? ''}`, 'RolloutFailed');
        }
        // Ancestry is only worth a git fetch when the answer decides something.
        const decisive = health.status === 'Degraded' || (sync.status === 'Synced' && health.status === 'Healthy');
        if (decisive && revisions.length) {
          const ours = await containsOurs(revisions);
          if (health.status === 'Degraded' && ours) {
            throw ApplicationFailure.nonRetryable(`Argo CD application ${argo.application} is Degraded at ${at} (contains ${short(argo.revision)}): ${health.message ?? op?.message ?? ''}`, 'RolloutFailed');
          }
          if (ours) return;
          last += revisions.includes(argo.revision) ? '' : history ? `, which does not contain ${short(argo.revision)}` : ` (not ${short(argo.revision)}; no config repository to check ancestry)`;
        }
      }
      if (Date.now() > deadline) {
        throw ApplicationFailure.nonRetryable(`Argo CD application ${argo.application} not Synced+Healthy at ${short(argo.revision)} (or a revision containing it) within ${input.timeout} (${last})`, 'RolloutTimeout');
      }
      await pollPause(POLL_MS, { argo: last });
    }
  } finally {
    history?.cleanup();
  }
}
