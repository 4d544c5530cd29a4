// freezeWorkflow: the line-wide deploy freeze (and per-service freezes), strongly consistent.
// `shipyard freeze` signals it (signal-with-start) and then reads it back by query. Every release
// subscribes when it starts (the subscribeFreeze activity, signal-with-start) and is answered with
// the state that applies to it; every later change is pushed to the subscribers it applies to,
// numbered so a release ignores an older push; what is queued goes out together, in one workflow task. Releases unsubscribe when they end; one that closed
// without doing so is dropped when a push to it fails. The memo mirrors the line state for clients
// that read it without a worker. Long-running: it continues as new when Temporal suggests it.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  getExternalWorkflowHandle,
  patched,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { freezeSignal, freezeSubscribeSignal, freezeUnsubscribeSignal, unfreezeSignal } from './messages.js';
import type { FreezeState } from './types.js';

export interface FreezeBook {
  line: FreezeState | null;
  services: Record<string, FreezeState>;
  subscribers: { releaseId: string; runId: string; service: string }[];
  seq: number;
}

export const freezeStateQuery = defineQuery<FreezeState | null>('freezeState');
export const freezeBookQuery = defineQuery<Omit<FreezeBook, 'subscribers'> & { subscribers: { releaseId: string; service: string }[]; pending: number }>('freezeBook');

type Subscriber = FreezeBook['subscribers'][number];

/** `initial`: a FreezeState (runs started by older code continued as new with one) or a FreezeBook. */
export async function freezeWorkflow(initial: FreezeState | FreezeBook | null = null): Promise<void> {
  const book: FreezeBook =
    initial && 'subscribers' in initial ? initial : { line: (initial as FreezeState | null) ?? null, services: {}, subscribers: [], seq: 0 };
  const work: (() => Promise<void>)[] = [];
  let inflight = 0;
  const applies = (s: Subscriber) => book.line ?? book.services[s.service] ?? null;
  const publish = () => upsertMemo({ frozen: book.line !== null, freeze: book.line, services: Object.keys(book.services) });

  const push = async (s: Subscriber) => {
    const state = applies(s);
    // Numbered from workflow time, so a freeze workflow started anew still outranks older pushes.
    const seq = (book.seq = Math.max(book.seq + 1, Date.now()));
    try {
      const h = getExternalWorkflowHandle(s.releaseId, s.runId);
      if (state) await h.signal(freezeSignal, { by: state.by, reason: state.reason, seq });
      else await h.signal(unfreezeSignal, { by: 'shipyard', seq });
    } catch {
      book.subscribers = book.subscribers.filter((x) => x !== s); // closed: no longer a subscriber
    }
  };
  /** Pushes to the subscribers whose freeze state changed with this update. */
  const change = (update: () => void) => {
    const before = new Map(book.subscribers.map((s) => [s, applies(s)]));
    update();
    publish();
    const affected = book.subscribers.filter((s) => before.get(s) !== applies(s));
    work.push(async () => {
      await Promise.all(affected.map(push));
    });
  };

  setHandler(freezeStateQuery, () => book.line);
  setHandler(freezeBookQuery, () => ({ line: book.line, services: book.services, seq: book.seq, subscribers: book.subscribers.map((x) => ({ releaseId: x.releaseId, service: x.service })), pending: work.length + inflight }));
  setHandler(freezeSignal, (req) => {
    const state = { by: req?.by || 'unknown', reason: req?.reason, at: new Date().toISOString() };
    change(() => {
      if (req?.service) book.services[req.service] = state;
      else book.line = state;
    });
  });
  setHandler(unfreezeSignal, (req) => {
    change(() => {
      if (req?.service) delete book.services[req.service];
      else book.line = null;
    });
  });
  setHandler(freezeSubscribeSignal, (s) => {
    let sub = book.subscribers.find((x) => x.releaseId === s.releaseId && x.runId === s.runId);
    if (!sub) {
      sub = { releaseId: s.releaseId, runId: s.runId, service: s.service };
      book.subscribers.push(sub);
    }
    const target = sub;
    work.push(() => push(target)); // the answer: what applies to it now
  });
  setHandler(freezeUnsubscribeSignal, (s) => {
    book.subscribers = book.subscribers.filter((x) => !(x.releaseId === s.releaseId && x.runId === s.runId));
  });
  publish();
  // Before this patch the queued pushes went out one per workflow task.
  const batched = patched('freeze-batched-pushes');
  for (;;) {
    await condition(() => work.length > 0 || workflowInfo().continueAsNewSuggested);
    while (work.length) {
      if (batched) {
        // Everything queued goes out in one workflow task: with thousands of releases subscribing at
        // once, one push per task round trip made this workflow the line's bottleneck (each release's
        // deploy waits for its answer). Pushes keep their order: seq is taken before the first await.
        const batch = work.splice(0);
        inflight += batch.length;
        try {
          await Promise.all(batch.map((next) => next()));
        } finally {
          inflight -= batch.length;
        }
        continue;
      }
      const next = work.shift()!;
      inflight++;
      try {
        await next();
      } finally {
        inflight--;
      }
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (!work.length) await continueAsNew<typeof freezeWorkflow>(book);
    }
  }
}
