// The train workflow's public messages, and the ones between a train and its releases.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { TrainDecisionReply, TrainDecisionRequest, TrainReleasedReport, TrainStatus, TrainVerdict } from './train-types.js';

export const trainStatusQuery = defineQuery<TrainStatus>('trainStatus');
/** Approve the gate after a service (validated against the gate's approvers). */
export const trainApproveUpdate = defineUpdate<TrainDecisionReply, [TrainDecisionRequest]>('trainApprove');
/** Reject it: the train stops and rolls back as its spec says. */
export const trainRejectUpdate = defineUpdate<TrainDecisionReply, [TrainDecisionRequest]>('trainReject');
/** Release -> train: this service is released and holds for the verdict. */
export const trainReleasedSignal = defineSignal<[TrainReleasedReport]>('trainReleased');
/** Train -> release: commit (finish succeeded) or roll back (run its own compensation). */
export const trainVerdictSignal = defineSignal<[TrainVerdict]>('trainVerdict');

/** The failure type of a train that did not succeed. */
export const TRAIN_FAILURE_TYPES = { failed: 'TrainFailed', 'rolled-back': 'TrainRolledBack', rejected: 'TrainRejected' } as const;
