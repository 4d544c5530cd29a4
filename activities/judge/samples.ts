// Cleaning one metric's sample before the judge compares it: values that are not finite numbers
// (NaN, ±Infinity: Prometheus returns NaN for 0/0 rates) removed or replaced, then optionally outliers
// beyond Tukey's fences [Q1 − k·IQR, Q3 + k·IQR] dropped (quartiles by linear interpolation, R's
// type 7 / numpy's default, simple-statistics' quantileSorted). The counts say what was done, for the record.
import { quantileSorted } from 'simple-statistics';

export interface CleanOptions {
  /** What to do with NaN and ±Infinity: drop them, or put replaceWith in their place. */
  nan: 'remove' | 'replace';
  /** The replacement for 'replace' (default 0). */
  replaceWith?: number;
  /** k of the fences; no outlier removal when unset. */
  outlierIqrFactor?: number;
}

export interface CleanedSample {
  /** The kept values, in their original order. */
  values: number[];
  /** Non-finite values dropped (nan: 'remove'). */
  removedNonFinite: number;
  /** Non-finite values replaced (nan: 'replace'). */
  replacedNonFinite: number;
  /** Values outside the IQR fences dropped. */
  removedOutliers: number;
  /** removedNonFinite + removedOutliers. */
  removed: number;
  /** The fences used, when outlier removal ran. */
  fences?: { low: number; high: number };
}

export function cleanSample(values: readonly number[], opts: CleanOptions): CleanedSample {
  const replaceWith = opts.replaceWith ?? 0;
  if (opts.nan === 'replace' && !Number.isFinite(replaceWith)) throw new RangeError(`cleanSample: replaceWith must be a finite number, got ${replaceWith}`);
  const k = opts.outlierIqrFactor;
  if (k !== undefined && !(Number.isFinite(k) && k >= 0)) throw new RangeError(`cleanSample: outlierIqrFactor must be a finite number >= 0, got ${k}`);

  let removedNonFinite = 0;
  let replacedNonFinite = 0;
  const finite: number[] = [];
  for (const v of values) {
    if (Number.isFinite(v)) finite.push(v);
    else if (opts.nan === 'replace') {
      finite.push(replaceWith);
      replacedNonFinite++;
    } else removedNonFinite++;
  }
  if (k === undefined || finite.length === 0) {
    return { values: finite, removedNonFinite, replacedNonFinite, removedOutliers: 0, removed: removedNonFinite };
  }
  const { q1, q3 } = quartiles(finite);
  const iqr = q3 - q1;
  const fences = { low: q1 - k * iqr, high: q3 + k * iqr };
  const kept = finite.filter((v) => v >= fences.low && v <= fences.high);
  const removedOutliers = finite.length - kept.length;
  return { values: kept, removedNonFinite, replacedNonFinite, removedOutliers, removed: removedNonFinite + removedOutliers, fences };
}

/** First and third quartiles, linear interpolation between order statistics (R type 7). */
export function quartiles(values: readonly number[]): { q1: number; q3: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { q1: quantileSorted(sorted, 0.25), q3: quantileSorted(sorted, 0.75) };
}
