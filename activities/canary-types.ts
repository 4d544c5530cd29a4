// Contracts of the canary's activities on the deploy queue: metric measurement (one sample, a
// heartbeating series) and the generated canary plumbing (canary.generate).
import type { MetricSpec } from '../spec/schema.js';
import type { JudgeSpec } from '../spec/judge-schema.js';
import type { MetricJudgement } from './judge/metric-verdict.js';
import type { ImageRef, ReleaseRef } from './refs.js';

export interface MeasureInput extends ReleaseRef {
  metric: MetricSpec;
}

/** A metric's running totals (MetricTally), carried between measurement series. */
export interface TallyState {
  failures: number;
  consecutiveErrors: number;
  measurements: number;
  /** Successful or failed measurements (judge.ts MetricTally.finish); absent in tallies of older runs. */
  conclusive?: number;
}

/** Up to `rounds` measurements of one metric at its interval, in one heartbeating activity. */
export interface MeasureSeriesInput extends ReleaseRef {
  metric: MetricSpec;
  rounds: number;
  tally: TallyState;
}

export interface SeriesMeasurement {
  at: string;
  value: number | null;
  phase: 'successful' | 'failed' | 'inconclusive' | 'error';
  message?: string;
  /** A web metric's HTTP status. */
  status?: number;
}

export interface MeasureSeriesResult {
  measurements: SeriesMeasurement[];
  tally: TallyState;
  /** Set when the metric failed the analysis (the series stopped at that measurement). */
  verdict?: string;
}

/**
 * One sample; `value: null` means the query returned no data (inconclusive). A web metric's timeout
 * or non-2xx answer is also no data, with the reason in `message` and the HTTP status in `status`.
 */
export interface Measurement {
  value: number | null;
  message?: string;
  status?: number;
}

// ---- generated canary plumbing (canary.generate) ----

/** The objects of a generated canary: Deployment and Service `<name>-canary`, and the VirtualService. */
export interface PlumbingInput extends ReleaseRef {
  namespace: string;
  kubeContext?: string;
  /** The stable Deployment (never modified). */
  stable: string;
  /** The stable Service, host of the stable destination (never modified). */
  service: string;
  virtualService: string;
  /** Name of the HTTP route of a generated VirtualService. */
  route: string;
  image: ImageRef;
}

export type PlumbingKind = 'Deployment' | 'Service' | 'VirtualService';

export interface PlumbingObject {
  kind: PlumbingKind;
  namespace: string;
  name: string;
  uid?: string;
  /**
   * created: made by this attempt (removed by its undo); adopted: a leftover canary Deployment of an
   * earlier Shipyard release, now this attempt's; kept: already there (the user's, or left by an
   * earlier release for the next ones), used as it is and never removed by this release.
   */
  action: 'created' | 'adopted' | 'kept';
}

export interface PlumbingResult {
  objects: PlumbingObject[];
}

/** Removes the listed objects that carry this attempt's annotations; others are left and reported. */
export interface RemovePlumbingInput extends ReleaseRef {
  namespace: string;
  kubeContext?: string;
  /** With the uid the create returned: an object of that name with another uid is not the one created. */
  objects: { kind: PlumbingKind; name: string; uid?: string }[];
}

export interface StableWorkloadInput extends ReleaseRef {
  namespace: string;
  kubeContext?: string;
  deployment: string;
}

// ---- the statistical judge (canary.judge, judge steps) ----

/** One judgement over [start, end]: each named metric sampled for the canary and the baseline. */
export interface JudgeInput extends ReleaseRef {
  judge: JudgeSpec;
  /** Metric names to judge (all of judge.metrics when unset). */
  metrics?: string[];
  /** The window, ISO times fixed by the workflow: a retried attempt judges the same samples. */
  start: string;
  end: string;
}

/** One metric's judgement, as recorded in status and history (an infinite effect is null in JSON; the reason says ×∞). */
export type MetricJudgementRecord = MetricJudgement;

export interface CanaryJudgement {
  score: number;
  verdict: 'pass' | 'marginal' | 'fail';
  reason: string;
  metrics: MetricJudgementRecord[];
}
