// leaseWorkflow: one release at a time per (service, environment). Releases ask with signal-with-
// start (the requestLease activity) and are answered by signal: granted in FIFO order, denied
// (concurrency reject), or superseded (a newer release with concurrency supersede). The holder gives
// the lease back when it has promoted or finished compensating. A holder that was terminated never
// gives it back: every checkInterval the lease asks Temporal whether its holder still runs (an
// activity, so nothing lands in the holder's own history), and moves on when it does not. It asks only
// while a release waits (at once when the first one queues): a dead holder blocks nobody else, and a
// fleet of parked releases would otherwise keep one timer and one activity per lease busy every interval. Queued
// releases hear from it only when their place or the holder changes. Idle, the workflow ends; busy
// for long, it continues as new carrying the holder and the queue.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { CoordinationActivities } from '../activities/coordination-types.js';
import { parseDuration } from '../spec/duration.js';
import {
  leaseDeniedSignal,
  leaseGrantedSignal,
  leaseQueuedSignal,
  leaseReleaseSignal,
  leaseRequestSignal,
  leaseStateQuery,
  leaseSupersededSignal,
} from './messages.js';
import type { LeaseEntry, LeaseState } from './types.js';

export interface LeaseWorkflowInput extends LeaseState {
  checkInterval: string;
}

const same = (a: { releaseId: string; runId: string }, b: { releaseId: string; runId: string }) => a.releaseId === b.releaseId && a.runId === b.runId;
/** Which release is older: the one that started first (not the one that asked first). */
const startedOf = (e: LeaseEntry) => Date.parse(e.releaseStartedAt ?? e.since);

function intervalMs(text: string | undefined): number {
  try {
    return Math.max(1000, parseDuration(text || '30s'));
  } catch {
    return 30_000; // a bad value from one release must not wedge the lease for all
  }
}

export async function leaseWorkflow(input: LeaseWorkflowInput): Promise<void> {
  const state: LeaseState = { key: input.key, holder: input.holder, queue: [...input.queue] };
  const inbox: LeaseEntry[] = [];
  const releases: { releaseId: string; runId: string }[] = [];
  const told = new Map<string, string>(); // what each queued release was last told about its place
  setHandler(leaseStateQuery, () => state);
  setHandler(leaseRequestSignal, (entry) => void inbox.push(entry));
  setHandler(leaseReleaseSignal, (who) => void releases.push(who));
  const interval = intervalMs(input.checkInterval);
  const { describeRun } = proxyActivities<CoordinationActivities>({
    taskQueue: workflowInfo().taskQueue,
    startToCloseTimeout: '15s',
    retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
  });
  let lastCheck = Date.now();
  // Before this patch the holder was checked every interval even with nobody waiting.
  const onlyWhenWaited = patched('lease-watch-when-waited');
  const watching = () => !!state.holder && (!onlyWhenWaited || state.queue.length > 0);

  /** Signals a release; false when it is gone (closed or never existed). */
  const send = async (to: { releaseId: string; runId: string }, deliver: (h: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>) => {
    try {
      await deliver(getExternalWorkflowHandle(to.releaseId, to.runId));
      return true;
    } catch (err) {
      log.info('lease: release is gone', { key: state.key, releaseId: to.releaseId, error: (err as Error).message });
      return false;
    }
  };

  /** Grants to the first waiting release that is still there; tells the others when their place changed. */
  const grantNext = async () => {
    while (!state.holder && state.queue.length) {
      const next = state.queue.shift()!;
      told.delete(`${next.releaseId}/${next.runId}`);
      if (await send(next, (h) => h.signal(leaseGrantedSignal, { key: state.key }))) {
        state.holder = { ...next, since: new Date().toISOString() };
      }
    }
    for (const [i, waiting] of state.queue.entries()) {
      const place = `${i + 1}/${state.holder?.releaseId ?? ''}`;
      const id = `${waiting.releaseId}/${waiting.runId}`;
      if (told.get(id) === place) continue;
      told.set(id, place);
      await send(waiting, (h) => h.signal(leaseQueuedSignal, { key: state.key, position: i + 1, holder: state.holder?.releaseId ?? null }));
    }
  };

  const handleRequest = async (entry: LeaseEntry) => {
    if (state.holder && same(state.holder, entry)) {
      await send(entry, (h) => h.signal(leaseGrantedSignal, { key: state.key })); // a repeated request
      return;
    }
    if (state.queue.some((q) => same(q, entry))) return;
    const busy = state.holder ?? state.queue[0];
    if (busy && entry.concurrency === 'reject') {
      await send(entry, (h) => h.signal(leaseDeniedSignal, { key: state.key, holder: busy.releaseId }));
      return;
    }
    if (entry.concurrency === 'supersede') {
      // Older queued releases have not deployed: they leave the queue. An older holder decides for
      // itself (it stands down only before its deploy or while it waits at an approval). A release
      // that started after the newcomer is not superseded by it.
      const older = (e: LeaseEntry) => startedOf(e) <= startedOf(entry);
      for (const q of state.queue.filter(older)) await send(q, (h) => h.signal(leaseSupersededSignal, { key: state.key, by: entry.releaseId }));
      state.queue = state.queue.filter((q) => !older(q));
      if (state.holder && older(state.holder)) await send(state.holder, (h) => h.signal(leaseSupersededSignal, { key: state.key, by: entry.releaseId }));
    }
    state.queue.push(entry);
  };

  for (;;) {
    const wait = watching() ? Math.max(0, lastCheck + interval - Date.now()) : undefined;
    await condition(() => inbox.length > 0 || releases.length > 0 || (!state.holder && state.queue.length > 0), wait);
    while (releases.length) {
      const who = releases.shift()!;
      if (state.holder && same(state.holder, who)) state.holder = null;
      state.queue = state.queue.filter((q) => !same(q, who));
    }
    while (inbox.length) await handleRequest(inbox.shift()!);
    if (state.holder && watching() && Date.now() - lastCheck >= interval) {
      // Watchdog: however busy the lease is, the holder is checked every interval while someone waits.
      lastCheck = Date.now();
      const holder = state.holder;
      const status = await describeRun({ workflowId: holder.releaseId, runId: holder.runId }).catch(() => 'UNKNOWN');
      if (status !== 'RUNNING' && status !== 'UNKNOWN' && state.holder && same(state.holder, holder)) {
        log.warn('lease: holder closed without giving the lease back', { key: state.key, holder: holder.releaseId, status });
        state.holder = null;
      }
    }
    // Unwatched, the clock stands at "due": the first release to queue has the holder checked at once.
    if (!watching()) lastCheck = onlyWhenWaited ? Date.now() - interval : Date.now();
    await grantNext();
    if (!state.holder && !state.queue.length && !inbox.length && !releases.length) {
      await condition(allHandlersFinished);
      if (!inbox.length && !releases.length) return;
    }
    if (workflowInfo().continueAsNewSuggested && !inbox.length && !releases.length) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof leaseWorkflow>({ ...state, checkInterval: input.checkInterval });
    }
  }
}
