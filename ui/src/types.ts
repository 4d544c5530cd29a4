// The shapes the gateway's read API returns, from the server's own type-only modules (erased at
// build: nothing of the server is bundled into the page).
export type { ReleaseSummary as ReleaseRow, ReleaseView, EnvironmentPlan } from '../../client/view-types';
export type { DoraResult, DoraRow } from '../../client/dora';
export type { ReleaseStatus, StageRecord, MetricMeasurement as Measurement, JudgementRecord as Judgement, PendingApproval, ApprovalDecision as Decision } from '../../workflows/types';
