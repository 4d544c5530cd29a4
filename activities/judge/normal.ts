// The standard normal distribution's tails for the judge's tests, from simple-statistics' errorFunction.
// Not its cumulativeStdNormalProbability: that one looks z up in a table rounded to 0.01 and 4 digits.
// errorFunction is Numerical Recipes' erfc approximation (fractional error < 1.2e-7); computed as
// 1 - erf, a tail below ~1e-16 comes out as 0, far below any significance level the judge uses.
import { errorFunction } from 'simple-statistics';

/** P(Z <= z) for a standard normal Z. */
export function normalCdf(z: number): number {
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  return clamp01(0.5 * (1 + errorFunction(z / Math.SQRT2)));
}

/** P(Z >= z) for a standard normal Z, computed on the side that keeps its precision. */
export function normalUpperTail(z: number): number {
  return normalCdf(-z);
}

function clamp01(p: number): number {
  return Math.min(1, Math.max(0, p));
}
