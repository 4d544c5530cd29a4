// Judging metric measurements, the way Argo Rollouts' AnalysisRun does: a measurement is
// successful, failed, inconclusive (no data) or an error; the analysis fails when failures exceed
// failureLimit or errors in a row exceed consecutiveErrorLimit. Pure and deterministic.
// With `inconclusive: error` (the default) a scrape gap is an error, not a failure, so one gap does
// not roll back; and a metric that never produced a successful or failed measurement fails the
// analysis at its end (finish()): no data never passes.
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
  /** Measurements that were successful or failed (not inconclusive, not errors). */
  conclusive = 0;

  constructor(readonly metric: MetricSpec) {}

  /** Records a phase and returns a failure message when the metric has now failed the analysis. */
  record(phase: MeasurementPhase): string | undefined {
    this.measurements++;
    if (phase === 'successful' || phase === 'failed') this.conclusive++;
    let counted = phase;
    if (phase === 'inconclusive') {
      if (this.metric.inconclusive === 'fail') counted = 'failed';
      else if (this.metric.inconclusive === 'pass') counted = 'successful';
      else if (this.metric.inconclusive === 'error') counted = 'error';
    }
    if (counted === 'error') this.consecutiveErrors++;
    else this.consecutiveErrors = 0;
    if (counted === 'failed') this.failures++;
    if (this.metric.dryRun) return undefined;
    if (this.failures > this.metric.failureLimit) {
      return `metric ${this.metric.name} failed ${this.failures} time(s), limit ${this.metric.failureLimit} (threshold ${describeThreshold(this.metric)})`;
    }
    if (this.consecutiveErrors > this.metric.consecutiveErrorLimit) {
      return `metric ${this.metric.name} could not be measured ${this.consecutiveErrors} times in a row (${this.metric.inconclusive === 'error' ? 'errors or no data, ' : ''}limit ${this.metric.consecutiveErrorLimit})`;
    }
    return undefined;
  }

  /**
   * At the end of the analysis: with `inconclusive: error`, a metric with no successful or failed
   * measurement fails it as inconclusive (other settings keep their old meaning).
   */
  finish(): string | undefined {
    if (this.metric.dryRun || this.metric.inconclusive !== 'error' || this.conclusive > 0) return undefined;
    return `metric ${this.metric.name} is inconclusive: no data in ${this.measurements} measurement(s) (${this.consecutiveErrors} error(s) or gaps in a row); an analysis never passes on no data`;
  }

  /** The totals carried between measurement series (TallyState). */
  state(): { failures: number; consecutiveErrors: number; measurements: number; conclusive: number } {
    return { failures: this.failures, consecutiveErrors: this.consecutiveErrors, measurements: this.measurements, conclusive: this.conclusive };
  }
}
