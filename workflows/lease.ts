// leaseWorkflow: one release at a time per (service, environment). Releases ask with signal-with-
// start (the requestLease activity) and are answered by signal: granted in FIFO order, denied
// (concurrency reject), or superseded (a newer release with concurrency supersede). The holder gives
// the lease back when it has promoted or finished compensating. A holder that was terminated never
// gives it back: the lease pings its holder every checkInterval, and a ping to a closed workflow
// fails, so the lease moves on within one interval. Idle, the workflow ends; busy for long, it
// continues as new carrying the holder and the queue.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { parseDuration } from '../spec/duration.js';
import {
  leaseDeniedSignal,
  leaseGrantedSignal,
  leasePingSignal,
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

export async function leaseWorkflow(input: LeaseWorkflowInput): Promise<void> {
  const state: LeaseState = { key: input.key, holder: input.holder, queue: [...input.queue] };
  const inbox: LeaseEntry[] = [];
  const releases: { releaseId: string; runId: string }[] = [];
  setHandler(leaseStateQuery, () => state);
  setHandler(leaseRequestSignal, (entry) => void inbox.push(entry));
  setHandler(leaseReleaseSignal, (who) => void releases.push(who));
  const interval = parseDuration(input.checkInterval || '30s');

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

  /** Grants to the first waiting release that is still there. */
  const grantNext = async () => {
    while (!state.holder && state.queue.length) {
      const next = state.queue.shift()!;
      if (await send(next, (h) => h.signal(leaseGrantedSignal, { key: state.key }))) {
        state.holder = { ...next, since: new Date().toISOString() };
      }
    }
    for (const [i, waiting] of state.queue.entries()) {
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
      await send(entry, (h) => h.signal(leaseDeniedSignal, { key: state.key, holder: (state.holder ?? busy).releaseId }));
      return;
    }
    if (entry.concurrency === 'supersede') {
      // Queued releases have not deployed: they leave the queue. The holder decides for itself
      // (it stands down only before its deploy or while it waits at an approval).
      for (const q of state.queue.splice(0)) await send(q, (h) => h.signal(leaseSupersededSignal, { key: state.key, by: entry.releaseId }));
      if (state.holder) await send(state.holder, (h) => h.signal(leaseSupersededSignal, { key: state.key, by: entry.releaseId }));
    }
    state.queue.push(entry);
  };

  for (;;) {
    const changed = await condition(() => inbox.length > 0 || releases.length > 0 || (!state.holder && state.queue.length > 0), state.holder ? interval : undefined);
    while (releases.length) {
      const who = releases.shift()!;
      if (state.holder && same(state.holder, who)) state.holder = null;
      state.queue = state.queue.filter((q) => !same(q, who));
    }
    while (inbox.length) await handleRequest(inbox.shift()!);
    if (!changed && state.holder) {
      // Watchdog: a holder that no longer runs cannot take a signal.
      if (!(await send(state.holder, (h) => h.signal(leasePingSignal)))) {
        log.warn('lease: holder closed without giving the lease back', { key: state.key, holder: state.holder.releaseId });
        state.holder = null;
      }
    }
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
