// Notifications of a release: sent in the background, never failing the release, keyed per attempt
// (a retry of a release notifies again). In-flight ones get a short grace when the release ends.
import { CancellationScope, log, sleep } from '@temporalio/workflow';
import { NOTIFICATION_DRAIN_BUDGET, NOTIFICATION_GRACE } from '../activity-options.js';
import { errorMessage } from '../saga.js';
import type { ReleaseState } from './state.js';

interface InFlight {
  done: Promise<void>;
  settled: boolean;
  event: string;
  channel: string;
  environment?: string;
}

export class Notifier {
  private seq = 0;
  private readonly inflight: InFlight[] = [];

  constructor(private readonly r: ReleaseState) {}

  /** Sends `event` to every channel that wants it, in the background; failures are recorded, not thrown. */
  notify(event: string, environment?: string, extra: Record<string, string | number | null> = {}): void {
    const r = this.r;
    const seq = ++this.seq;
    r.spec.notify.forEach((channel, index) => {
      if (!(channel.on as string[]).includes(event)) return;
      const kind = Object.keys(channel).find((k) => k !== 'on') ?? 'unknown';
      const fields = {
        service: r.spec.service,
        version: r.input.version,
        commit: r.input.commit,
        environment: environment ?? null,
        stage: r.status.stage,
        canaryWeight: r.status.canary?.weight ?? null,
        outcome: r.status.outcome,
        error: r.status.error?.message ?? null,
        environments: r.status.environments.join(', '),
        approvedBy: r.status.approvals.decisions.filter((d) => d.decision === 'approved').map((d) => d.approver).join(', ') || null,
        ...extra,
      };
      const sent = CancellationScope.nonCancellable(() =>
        r.acts.integration.notify({
          ...r.ref(environment),
          channel,
          event,
          // Per attempt: a retried release (same release ID) pings its approvers again.
          idempotencyKey: `${r.status.releaseId}/${r.attempt}/${seq}/${event}/${index}`,
          fields,
        }),
      );
      this.track(`${kind}#${index}`, environment, sent, event);
    });
  }

  track(channel: string, environment: string | undefined, work: Promise<void>, event = 'jira'): void {
    const r = this.r;
    const entry: InFlight = { done: Promise.resolve(), settled: false, event, channel, environment };
    entry.done = work.then(
      () => {
        if (entry.settled) return;
        entry.settled = true;
        r.record(r.status.notifications, { event, environment, channel, status: 'sent' as const });
      },
      (err) => {
        if (entry.settled) return;
        entry.settled = true;
        log.warn('notification failed', { event, channel, error: errorMessage(err) });
        r.record(r.status.notifications, { event, environment, channel, status: 'failed' as const, error: errorMessage(err) });
      },
    );
    this.inflight.push(entry);
  }

  /** How many have been sent so far: the final ones are those after this mark. */
  get mark(): number {
    return this.inflight.length;
  }

  /**
   * Earlier notifications get a short grace; those still retrying after it are abandoned (the
   * release's end is the news now). No timer when nothing is pending.
   */
  async abandonStale(): Promise<void> {
    const pending = this.inflight.filter((x) => !x.settled);
    if (pending.length) await Promise.race([Promise.all(pending.map((n) => n.done)), sleep(NOTIFICATION_GRACE)]);
    for (const n of this.inflight.filter((x) => !x.settled)) {
      n.settled = true;
      this.r.record(this.r.status.notifications, { event: n.event, environment: n.environment, channel: n.channel, status: 'failed' as const, error: 'still retrying when the release ended; abandoned' });
    }
  }

  /** The final notifications get a bounded wait; they never hold the release for long. */
  async drain(from: number): Promise<void> {
    const last = this.inflight.slice(from).map((n) => n.done);
    if (last.length) await Promise.race([Promise.all(last), sleep(NOTIFICATION_DRAIN_BUDGET)]);
  }
}
