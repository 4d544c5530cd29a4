// The Mann-Whitney U test (Wilcoxon rank-sum test) of two independent samples, computed the way R's
// wilcox.test(x, y) does with its defaults (exact = NULL, correct = TRUE):
//   - ranks of the pooled sample, tied values get the average of their ranks;
//   - exact distribution of U when there are no ties and both samples have fewer than 50 values
//     (R's rule; counts of every U by dynamic programming, below);
//   - otherwise the normal approximation with the tie correction of the variance and a continuity
//     correction of 0.5 towards the mean (R's `correct = TRUE`; scipy's mannwhitneyu(use_continuity=True)).
// uX is R's W: the number of pairs (x_i, y_j) with x_i > y_j, plus half the tied pairs.
import { normalCdf, normalUpperTail } from './normal.js';

/** Both samples below this size and no ties: the exact distribution of U (as R's wilcox.test). */
export const EXACT_MAX_EXCLUSIVE = 50;

export interface MannWhitneyResult {
  /** The conventional U statistic: min(uX, uY). */
  u: number;
  /** U of x: pairs with x > y (+ ½ per tie); R's W for wilcox.test(x, y). */
  uX: number;
  /** U of y: n1·n2 − uX. */
  uY: number;
  /**
   * Normal approximation only: the standardised statistic of the two-sided test,
   * (uX − n1·n2/2 − sign·0.5) / σ with the tie-corrected σ (0 when σ is 0: all values equal).
   */
  z?: number;
  /** Two-sided p-value; the same as pTwoSided (kept for callers that want one p). */
  p: number;
  /** H1: the distributions differ. */
  pTwoSided: number;
  /** H1: x tends to be larger than y (large uX). */
  pGreater: number;
  /** H1: x tends to be smaller than y (small uX). */
  pLess: number;
  method: 'exact' | 'normal';
  /** Whether the pooled sample had tied values (which rules out the exact method). */
  ties: boolean;
}

export function mannWhitney(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  for (const [name, s] of [['x', x], ['y', y]] as const) {
    if (s.some((v) => !Number.isFinite(v))) throw new RangeError(`mannWhitney: sample ${name} has a value that is not a finite number; clean the samples first`);
  }
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) {
    // Nothing to compare: no evidence of any difference.
    return { u: 0, uX: 0, uY: 0, p: 1, pTwoSided: 1, pGreater: 1, pLess: 1, method: 'exact', ties: false };
  }
  const { ranks, tieSizes } = averageRanks([...x, ...y]);
  let rankSumX = 0;
  for (let i = 0; i < n1; i++) rankSumX += ranks[i];
  const uX = rankSumX - (n1 * (n1 + 1)) / 2;
  const uY = n1 * n2 - uX;
  const u = Math.min(uX, uY);
  const ties = tieSizes.length > 0;

  if (!ties && n1 < EXACT_MAX_EXCLUSIVE && n2 < EXACT_MAX_EXCLUSIVE) {
    const probs = exactUDistribution(n1, n2);
    // uX is an integer without ties.
    const pLess = sumRange(probs, 0, uX);
    const pGreater = sumRange(probs, uX, n1 * n2);
    const pTwoSided = Math.min(1, 2 * (uX > (n1 * n2) / 2 ? pGreater : pLess));
    return { u, uX, uY, p: pTwoSided, pTwoSided, pGreater: Math.min(1, pGreater), pLess: Math.min(1, pLess), method: 'exact', ties };
  }

  const n = n1 + n2;
  const tieTerm = tieSizes.reduce((s, t) => s + (t * t * t - t), 0);
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const d = uX - (n1 * n2) / 2;
  if (!(sigma > 0)) {
    // Every value equal: the ranks carry no information.
    return { u, uX, uY, z: 0, p: 1, pTwoSided: 1, pGreater: 1, pLess: 1, method: 'normal', ties };
  }
  const zGreater = (d - 0.5) / sigma;
  const zLess = (d + 0.5) / sigma;
  const z = (d - Math.sign(d) * 0.5) / sigma;
  const pGreater = normalUpperTail(zGreater);
  const pLess = normalCdf(zLess);
  const pTwoSided = Math.min(1, 2 * Math.min(normalCdf(z), normalUpperTail(z)));
  return { u, uX, uY, z, p: pTwoSided, pTwoSided, pGreater, pLess, method: 'normal', ties };
}

/** Ranks 1..n of the values (ties: the average of the ranks they span) and the size of each tie group (> 1). */
export function averageRanks(values: readonly number[]): { ranks: number[]; tieSizes: number[] } {
  const order = values.map((v, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(values.length);
  const tieSizes: number[] = [];
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    const rank = (i + j) / 2 + 1; // positions i..j hold ranks i+1..j+1
    for (let k = i; k <= j; k++) ranks[order[k]] = rank;
    if (j > i) tieSizes.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, tieSizes };
}

/**
 * P(U = u) for u = 0..m·n under H0 (no ties), for samples of m and n values.
 * The number of arrangements with U = u is the coefficient of q^u in the Gaussian binomial
 * [m+n choose m]_q, built row by row with [N choose k] = [N−1 choose k−1] + q^k·[N−1 choose k]:
 * only additions of positive counts, so no cancellation (counts beyond 2^53 are rounded, relative 1e-16).
 */
export function exactUDistribution(m: number, n: number): number[] {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 0 || n < 0) throw new RangeError(`exactUDistribution: sample sizes must be non-negative integers, got ${m} and ${n}`);
  // rows[k] = coefficients of [N choose k]_q for the current N (k ≤ m).
  const rows: Float64Array[] = [Float64Array.of(1)];
  for (let N = 1; N <= m + n; N++) {
    for (let k = Math.min(N, m); k >= 1; k--) {
      const left = rows[k - 1]; // [N−1 choose k−1]
      const right = rows[k]; // [N−1 choose k], undefined while N−1 < k
      const next = new Float64Array(k * (N - k) + 1);
      next.set(left);
      if (right) for (let i = 0; i < right.length; i++) next[i + k] += right[i];
      rows[k] = next;
    }
  }
  const counts = rows[m];
  let total = 0;
  for (const c of counts) total += c;
  return Array.from(counts, (c) => c / total);
}

function sumRange(p: readonly number[], from: number, to: number): number {
  let s = 0;
  for (let i = Math.max(0, from); i <= Math.min(p.length - 1, to); i++) s += p[i];
  return s;
}
