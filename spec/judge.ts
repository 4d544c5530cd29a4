// Judging metric measurements, the way Argo Rollouts' AnalysisRun does: a measurement is
// successful, failed, inconclusive (no data) or an error; the analysis fails when failures exceed
// failureLimit or errors in a row exceed consecutiveErrorLimit. Pure and deterministic.
import type { MetricSpec } from './schema.js';

export type MeasurementPhase = 'successful' | 'failed' | 'inconclusive' | 'error';

export function judge(metric: MetricSpec, value: number | null): MeasurementPhase {
  if (value === null || Number.isNaN(value)) return 'inconclusive';
  const { min, max } = metric.thresholdRange;
  if (min !== undefined && value < min) return 'failed';
  if (max !== undefined && value > max) return 'failed';
  return 'successful';
}

export function describeThreshold(metric: MetricSpec): string {
  const { min, max } = metric.thresholdRange;
  if (min !== undefined && max !== undefined) return `within [${min}, ${max}]`;
  return min !== undefined ? `>= ${min}` : `<= ${max}`;
}

/** Running totals for one metric of one analysis. */
export class MetricTally {
  failures = 0;
  consecutiveErrors = 0;
  measurements = 0;

  constructor(readonly metric: MetricSpec) {}

  /** Records a phase and returns a failure message when the metric has now failed the analysis. */
  record(phase: MeasurementPhase): string | undefined {
    this.measurements++;
    let counted = phase;
    if (phase === 'inconclusive') {
      if (this.metric.inconclusive === 'fail') counted = 'failed';
      else if (this.metric.inconclusive === 'pass') counted = 'successful';
    }
    if (counted === 'error') this.consecutiveErrors++;
    else this.consecutiveErrors = 0;
    if (counted === 'failed') this.failures++;
    if (this.metric.dryRun) return undefined;
    if (this.failures > this.metric.failureLimit) {
      return `metric ${this.metric.name} failed ${this.failures} time(s), limit ${this.metric.failureLimit} (threshold ${describeThreshold(this.metric)})`;
    }
    if (this.consecutiveErrors > this.metric.consecutiveErrorLimit) {
      return `metric ${this.metric.name} could not be measured ${this.consecutiveErrors} times in a row (limit ${this.metric.consecutiveErrorLimit})`;
    }
    return undefined;
  }
}
