// freezeWorkflow: the line-wide deploy freeze. `shipyard freeze` signals it (and every running
// release); releases started while it is frozen start frozen. Its memo carries the state, so clients
// read it without a worker. Long-running: it continues as new now and then to keep history short.
import { condition, continueAsNew, defineQuery, setHandler, upsertMemo } from '@temporalio/workflow';
import { freezeSignal, unfreezeSignal } from './messages.js';
import type { FreezeState } from './types.js';

export const freezeStateQuery = defineQuery<FreezeState | null>('freezeState');
const MAX_CHANGES = 500;

export async function freezeWorkflow(initial: FreezeState | null = null): Promise<void> {
  let state = initial;
  let changes = 0;
  const publish = () => upsertMemo({ frozen: state !== null, freeze: state });
  setHandler(freezeStateQuery, () => state);
  setHandler(freezeSignal, (req) => {
    state = { by: req?.by || 'unknown', reason: req?.reason, at: new Date().toISOString() };
    changes++;
    publish();
  });
  setHandler(unfreezeSignal, () => {
    state = null;
    changes++;
    publish();
  });
  publish();
  await condition(() => changes >= MAX_CHANGES);
  await continueAsNew<typeof freezeWorkflow>(state);
}
