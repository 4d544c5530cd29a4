// One metric's verdict: the canary's sample against the baseline's. A metric FAILS only when both
//   - the difference is statistically significant in the bad direction: one-sided p < 1 − confidence
//     for 'increase'/'decrease' (Mann-Whitney for samples, two-proportion z-test for counts),
//     two-sided for 'either'; and
//   - the effect (canary center relative to baseline center, see effectRatio) is beyond the tolerance:
//     'increase' effect > 1 + tolerance, 'decrease' effect < 1 − tolerance, 'either' one of the two.
// Too few values on either side (after cleaning) is 'inconclusive', never 'pass'. Otherwise 'pass'.
import { mean, median } from 'simple-statistics';
import { mannWhitney } from './mann-whitney.js';
import { twoProportionZTest } from './proportions.js';
import { cleanSample } from './samples.js';

/** Which change of the canary is BAD. */
export type Direction = 'increase' | 'decrease' | 'either';

export interface SampleMetricOptions {
  direction: Direction;
  /** Allowed relative effect, e.g. 0.1 = 10%. */
  tolerance: number;
  /** The center compared: median or mean. */
  effect: 'median' | 'mean';
  /** e.g. 0.95: significant when p < 0.05. */
  confidence: number;
  /** Fewer values than this on either side after cleaning: inconclusive (at least 1 always). */
  minSamples: number;
  nan: 'remove' | 'replace';
  /** Replacement for NaN/±Inf with nan: 'replace' (default 0). */
  replaceWith?: number;
  /** Drop values outside [Q1 − k·IQR, Q3 + k·IQR] per side; none when unset. */
  outlierIqrFactor?: number;
}

export interface ProportionMetricOptions {
  direction: Direction;
  tolerance: number;
  confidence: number;
  /** Minimum total per side (at least 1 always). */
  minSamples: number;
}

export interface SideSummary {
  /** Values kept after cleaning (samples) or the total (proportions). */
  n: number;
  /** Median/mean of the kept values, or the error rate; null when there is none. */
  center: number | null;
  /** Values dropped by cleaning (non-finite removed + outliers). */
  removed?: number;
  /** Non-finite values replaced by replaceWith. */
  replaced?: number;
  /** Proportions: the error count. */
  errors?: number;
}

export interface MetricJudgement {
  metric: string;
  kind: 'samples' | 'proportion';
  verdict: 'pass' | 'fail' | 'inconclusive';
  /** One sentence with the numbers. */
  reason: string;
  canary: SideSummary;
  baseline: SideSummary;
  /** Samples: the conventional Mann-Whitney U, min(U canary, U baseline). */
  u?: number;
  /** Samples under the normal approximation: its two-sided z; proportions: the z of the test. */
  z?: number;
  /** The p-value the verdict used (one-sided for increase/decrease, two-sided for either); null when inconclusive. */
  p: number | null;
  /** Which test produced p. */
  method?: 'mann-whitney-exact' | 'mann-whitney-normal' | 'two-proportion-z';
  /** effectRatio(canary center, baseline center), e.g. 1.25; null without both centers. */
  effect: number | null;
  weight: number;
  critical: boolean;
}

/**
 * The canary center relative to the baseline center, > 1 meaning the canary is higher:
 * canary / baseline for a positive baseline (1.25 = 25% higher). A baseline of 0: 1 when the canary is
 * 0 too, +Infinity when the canary is above it, −Infinity below. A negative baseline (rare for
 * metrics): 1 + (canary − baseline) / |baseline|, so that the direction still reads the same way.
 * Note: JSON has no Infinity; a serialised ±Infinity effect becomes null (the reason still says ∞).
 */
export function effectRatio(canary: number, baseline: number): number {
  if (baseline === 0) return canary === 0 ? 1 : canary > 0 ? Infinity : -Infinity;
  if (baseline > 0) return canary / baseline;
  return 1 + (canary - baseline) / Math.abs(baseline);
}

export function judgeSamples(metric: string, canary: number[], baseline: number[], opts: SampleMetricOptions, weight: number, critical: boolean): MetricJudgement {
  checkCommon(metric, opts);
  const clean = { nan: opts.nan, replaceWith: opts.replaceWith, outlierIqrFactor: opts.outlierIqrFactor };
  const c = cleanSample(canary, clean);
  const b = cleanSample(baseline, clean);
  const centerOf = (v: number[]) => (v.length === 0 ? null : opts.effect === 'median' ? median(v) : mean(v));
  const side = (s: typeof c): SideSummary => ({ n: s.values.length, center: centerOf(s.values), removed: s.removed, ...(s.replacedNonFinite ? { replaced: s.replacedNonFinite } : {}) });
  const cs = side(c);
  const bs = side(b);
  const base = { metric, kind: 'samples' as const, canary: cs, baseline: bs, weight, critical };
  const effect = cs.center !== null && bs.center !== null ? effectRatio(cs.center, bs.center) : null;
  const minimum = Math.max(1, opts.minSamples);
  if (cs.n < minimum || bs.n < minimum) {
    const cleaned = c.removed + b.removed > 0 ? ' after cleaning' : '';
    return { ...base, verdict: 'inconclusive', p: null, effect, reason: `too few values${cleaned}: canary ${cs.n}, baseline ${bs.n} (minimum ${minimum})` };
  }
  const mw = mannWhitney(c.values, b.values);
  const p = opts.direction === 'increase' ? mw.pGreater : opts.direction === 'decrease' ? mw.pLess : mw.pTwoSided;
  const what = `canary ${opts.effect} ${num(cs.center!)} vs baseline ${num(bs.center!)}`;
  const test = `Mann-Whitney U=${num(mw.u)}${mw.z !== undefined ? ` (z=${mw.z.toFixed(2)})` : ''}`;
  const d = decide(opts, p, effect!, what, test);
  return { ...base, ...d, u: mw.u, ...(mw.z !== undefined ? { z: mw.z } : {}), p, method: mw.method === 'exact' ? 'mann-whitney-exact' : 'mann-whitney-normal', effect };
}

export function judgeProportions(
  metric: string,
  canary: { errors: number; total: number },
  baseline: { errors: number; total: number },
  opts: ProportionMetricOptions,
  weight: number,
  critical: boolean,
): MetricJudgement {
  checkCommon(metric, opts);
  const rate = (s: { errors: number; total: number }) => (Number.isFinite(s.errors) && Number.isFinite(s.total) && s.total > 0 ? s.errors / s.total : null);
  const cs: SideSummary = { n: canary.total, center: rate(canary), errors: canary.errors };
  const bs: SideSummary = { n: baseline.total, center: rate(baseline), errors: baseline.errors };
  const base = { metric, kind: 'proportion' as const, canary: cs, baseline: bs, weight, critical };
  const invalidCounts = (s: { errors: number; total: number }) => !(Number.isFinite(s.errors) && Number.isFinite(s.total) && s.errors >= 0 && s.total >= 0 && s.errors <= s.total);
  const invalid = invalidCounts(canary) ? { name: 'canary', s: canary } : invalidCounts(baseline) ? { name: 'baseline', s: baseline } : null;
  if (invalid) {
    // Bad data (e.g. errors > total from scrapes at different instants) never passes.
    return { ...base, verdict: 'inconclusive', p: null, effect: null, reason: `invalid counts for the ${invalid.name}: ${invalid.s.errors} errors of ${invalid.s.total} (need 0 <= errors <= total)` };
  }
  const effect = cs.center !== null && bs.center !== null ? effectRatio(cs.center, bs.center) : null;
  const minimum = Math.max(1, opts.minSamples);
  if (canary.total < minimum || baseline.total < minimum) {
    return { ...base, verdict: 'inconclusive', p: null, effect, reason: `too few events: canary ${num(canary.total)}, baseline ${num(baseline.total)} (minimum ${minimum})` };
  }
  const t = twoProportionZTest(canary.errors, canary.total, baseline.errors, baseline.total);
  const p = opts.direction === 'increase' ? t.pGreater : opts.direction === 'decrease' ? t.pLess : t.pTwoSided;
  const what = `canary rate ${num(cs.center!)} (${num(canary.errors)}/${num(canary.total)}) vs baseline ${num(bs.center!)} (${num(baseline.errors)}/${num(baseline.total)})`;
  const test = t.degenerate === 'no-variance' ? `two-proportion z-test (pooled rate ${num(t.pooled!)}: no variance)` : `two-proportion z=${t.z.toFixed(2)}`;
  const d = decide(opts, p, effect!, what, test);
  return { ...base, ...d, z: t.z, p, method: 'two-proportion-z', effect };
}

/** The verdict and its sentence from the p-value and the effect. */
function decide(opts: { direction: Direction; tolerance: number; confidence: number }, p: number, effect: number, what: string, test: string): { verdict: 'pass' | 'fail'; reason: string } {
  const alpha = significanceLevel(opts.confidence);
  const hi = 1 + opts.tolerance;
  const lo = 1 - opts.tolerance;
  const tolerance = opts.direction === 'increase' ? `×${hi.toFixed(2)}` : opts.direction === 'decrease' ? `×${lo.toFixed(2)}` : `×${lo.toFixed(2)}–×${hi.toFixed(2)}`;
  const head = `${what} (${times(effect)}, tolerance ${tolerance}), ${test}, p${pText(p)}`;
  const higher = effect > hi;
  const lower = effect < lo;
  const beyond = opts.direction === 'increase' ? higher : opts.direction === 'decrease' ? lower : higher || lower;
  const change = opts.direction === 'increase' ? 'increase' : opts.direction === 'decrease' ? 'decrease' : 'difference';
  if (!(p < alpha)) return { verdict: 'pass', reason: `${head} >= ${num(alpha)}: no significant ${change}` };
  if (!beyond) return { verdict: 'pass', reason: `${head} < ${num(alpha)}: a significant ${change} but within the tolerance` };
  return { verdict: 'fail', reason: `${head} < ${num(alpha)}: ${higher ? 'higher' : 'lower'}` };
}

/** 1 − confidence, rounded so that 1 − 0.95 is 0.05 and not 0.050000000000000044. */
export function significanceLevel(confidence: number): number {
  return Math.round((1 - confidence) * 1e12) / 1e12;
}

function checkCommon(metric: string, opts: { direction: Direction; tolerance: number; confidence: number; minSamples: number }): void {
  const bad = (what: string) => new RangeError(`metric ${metric}: ${what}`);
  if (!['increase', 'decrease', 'either'].includes(opts.direction)) throw bad(`direction must be increase, decrease or either, got ${opts.direction}`);
  if (!(Number.isFinite(opts.tolerance) && opts.tolerance >= 0)) throw bad(`tolerance must be a number >= 0, got ${opts.tolerance}`);
  if (!(opts.confidence > 0 && opts.confidence < 1)) throw bad(`confidence must be between 0 and 1 (exclusive), got ${opts.confidence}`);
  if (!(Number.isFinite(opts.minSamples) && opts.minSamples >= 0)) throw bad(`minSamples must be a number >= 0, got ${opts.minSamples}`);
}

/** Three significant digits, no exponent for everyday magnitudes. */
function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e9)) return x.toExponential(2);
  return String(Number(x.toPrecision(3)));
}

function times(effect: number): string {
  if (effect === Infinity) return '×∞';
  if (effect === -Infinity) return '×−∞';
  return `×${effect.toFixed(2)}`;
}

function pText(p: number): string {
  if (p === 0) return '<1e-15'; // below the precision of the normal tail (normal.ts)
  if (p < 1e-4) return `=${p.toExponential(1)}`;
  return `=${Number(p.toPrecision(2))}`;
}
