// The two-proportion z-test with pooled variance: are x's errors per total (rateX) and y's (rateY) the
// same proportion? z = (rateX − rateY) / sqrt(pooled·(1 − pooled)·(1/totalX + 1/totalY)),
// pooled = (errorsX + errorsY) / (totalX + totalY); no continuity correction (the textbook test,
// R's prop.test(correct = FALSE) is its square). Counts may be fractional (Prometheus increase()).
// Degenerate inputs give "no difference" (z = 0, p = 1) instead of NaN: a zero total on either side
// (no rate to compare), or a pooled proportion of 0 or 1 (no errors anywhere, or only errors: no variance).
import { normalCdf, normalUpperTail } from './normal.js';

export interface TwoProportionResult {
  /** errorsX / totalX, null when totalX is 0. */
  rateX: number | null;
  rateY: number | null;
  /** The pooled proportion, null when both totals are 0. */
  pooled: number | null;
  z: number;
  pTwoSided: number;
  /** H1: x's proportion is larger than y's. */
  pGreater: number;
  /** H1: x's proportion is smaller than y's. */
  pLess: number;
  /** Why the test could not be computed (z = 0, p = 1), absent when it was. */
  degenerate?: 'zero-total' | 'no-variance';
}

export function twoProportionZTest(errorsX: number, totalX: number, errorsY: number, totalY: number): TwoProportionResult {
  checkCounts('x', errorsX, totalX);
  checkCounts('y', errorsY, totalY);
  const rateX = totalX > 0 ? errorsX / totalX : null;
  const rateY = totalY > 0 ? errorsY / totalY : null;
  const pooled = totalX + totalY > 0 ? (errorsX + errorsY) / (totalX + totalY) : null;
  const none = { z: 0, pTwoSided: 1, pGreater: 1, pLess: 1 };
  if (rateX === null || rateY === null) return { rateX, rateY, pooled, ...none, degenerate: 'zero-total' };
  if (pooled === null || pooled <= 0 || pooled >= 1) return { rateX, rateY, pooled, ...none, degenerate: 'no-variance' };
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / totalX + 1 / totalY));
  const z = (rateX - rateY) / se;
  return {
    rateX,
    rateY,
    pooled,
    z,
    pTwoSided: Math.min(1, 2 * Math.min(normalCdf(z), normalUpperTail(z))),
    pGreater: normalUpperTail(z),
    pLess: normalCdf(z),
  };
}

/** Counts the test cannot mean anything with are the caller's bug (or bad data): say so. */
export function checkCounts(side: string, errors: number, total: number): void {
  if (!Number.isFinite(errors) || !Number.isFinite(total) || errors < 0 || total < 0 || errors > total) {
    throw new RangeError(`twoProportionZTest: sample ${side} needs 0 <= errors <= total (finite), got errors=${errors} total=${total}`);
  }
}
