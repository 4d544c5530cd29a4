// A train's release (ReleaseInput.train), once every environment is promoted: it keeps its
// compensation stack and its leases (rollback scope `release`), tells the train it is released and
// waits for the verdict. commit: the release finishes succeeded. rollback: it unwinds like any
// failed release, with the train's reason as its error. An abort while holding rolls back too.
import { ApplicationFailure, CancelledFailure, condition, getExternalWorkflowHandle, isCancellation, log } from '@temporalio/workflow';
import { trainReleasedSignal } from '../train-messages.js';
import type { ReleaseState } from './state.js';

export const TRAIN_ROLLED_BACK = 'TrainRolledBack';

/** Returns the failure to unwind with, or undefined when the train committed this release. */
export async function holdForTrain(r: ReleaseState): Promise<unknown> {
  const train = r.input.train!;
  r.setStage('train', undefined, `released; holding for the verdict of ${train.workflowId}`);
  try {
    await getExternalWorkflowHandle(train.workflowId, train.runId).signal(trainReleasedSignal, {
      service: train.service,
      releaseId: r.status.releaseId,
      stage: r.status.stage,
      environments: r.status.environments,
    });
  } catch (err) {
    // Cancelled from Temporal while holding: unwind like any cancelled release.
    if (isCancellation(err)) return err;
    // The train is gone (terminated): nobody will commit this release; undo it.
    log.warn('train not reachable', { train: train.workflowId, error: (err as Error).message });
    return ApplicationFailure.nonRetryable(`train ${train.workflowId} is gone: ${(err as Error).message}`, TRAIN_ROLLED_BACK);
  }
  try {
    await condition(() => r.trainVerdict !== undefined || r.aborted);
  } catch (err) {
    if (isCancellation(err)) return err; // cancelled from Temporal: compensate, then end as Canceled
    throw err;
  }
  if (r.aborted && r.trainVerdict === undefined) return new CancelledFailure('aborted while holding for the train');
  if (r.trainVerdict!.verdict === 'commit') {
    r.closeStage('ok', `committed by ${train.workflowId}`);
    return undefined;
  }
  return ApplicationFailure.nonRetryable(r.trainVerdict!.reason ?? `train ${train.workflowId} rolled back`, TRAIN_ROLLED_BACK);
}
