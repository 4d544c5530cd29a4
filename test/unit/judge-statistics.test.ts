// The canary judge's statistics (activities/judge): Mann-Whitney U (exact and normal approximation),
// the normal tails, the two-proportion z-test and sample cleaning. Reference values come from
// published examples (R's wilcox.test documentation, Wikipedia, OpenStax, Mann-Whitney critical
// value tables) or were computed independently (brute-force enumeration here, or by hand with
// Python's math.erfc as the normal tail; the formula is in the comment next to each number).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { averageRanks, cleanSample, exactUDistribution, mannWhitney, normalCdf, normalUpperTail, quartiles, twoProportionZTest } from '../../activities/judge/index.js';

const close = (actual: number | undefined, expected: number, tol: number, what = '') => {
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
};
const relClose = (actual: number, expected: number, rel: number, what = '') => {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what} expected ${expected} (±${rel * 100}%), got ${actual}`);
};

// Independent of the DP: P(U_x = u) by enumerating every split of the ranks 1..m+n into x and y.
function enumerateU(m: number, n: number): number[] {
  const counts = new Array<number>(m * n + 1).fill(0);
  let total = 0;
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === m) {
      const inX = new Set(chosen);
      let u = 0;
      for (const a of chosen) for (let b = 0; b < m + n; b++) if (!inX.has(b) && a > b) u++;
      counts[u]++;
      total++;
      return;
    }
    for (let i = start; i < m + n; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return counts.map((c) => c / total);
}

describe('normal tails from errorFunction (not the 0.01-step table)', () => {
  test('known quantiles: Φ(1.96) = 0.9750021, Φ(−3) = 0.0013499, Φ(0) = 0.5', () => {
    // Reference: 0.5·erfc(−z/√2) with Python's math.erfc.
    close(normalCdf(1.96), 0.9750021048517795, 2e-7);
    close(normalCdf(-3), 0.0013498980316300957, 2e-7);
    close(normalCdf(0), 0.5, 1e-7);
    close(normalUpperTail(1.96), 1 - 0.9750021048517795, 2e-7);
    // Between table steps the table would say 0.9750 for 1.961 too; the erf-based CDF moves.
    assert.ok(normalCdf(1.964) - normalCdf(1.96) > 1e-4);
    assert.equal(normalCdf(Infinity), 1);
    assert.equal(normalCdf(-Infinity), 0);
  });
});

describe('mannWhitney: exact distribution', () => {
  // R's ?wilcox.test, Hollander & Wolfe (1973) p. 69f: permeability constants at term (x) and at
  // 12-26 weeks (y). R prints: wilcox.test(x, y, alternative = "g") W = 35, p-value = 0.1272.
  const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
  const y = [1.15, 0.88, 0.9, 0.74, 1.21];

  test('R wilcox.test example: W = 35, p(greater) = 0.1272 exact', () => {
    const r = mannWhitney(x, y);
    assert.equal(r.method, 'exact');
    assert.equal(r.ties, false);
    assert.deepEqual([r.uX, r.uY, r.u], [35, 15, 15]);
    close(r.pGreater, 0.1272, 5e-5, 'pGreater');
    // Enumeration of all C(15,5) = 3003 splits (Python): P(W >= 35) = 382/3003 = 0.127206...,
    // P(W <= 35) = 0.896770, two-sided = 2·0.127206 = 0.254412.
    close(r.pGreater, 0.1272061272061272, 1e-12, 'pGreater exact');
    close(r.pLess, 0.8967698967698968, 1e-12, 'pLess');
    close(r.pTwoSided, 0.2544122544122544, 1e-12, 'pTwoSided');
    assert.equal(r.p, r.pTwoSided);
    assert.equal(r.z, undefined);
  });

  test('swapping the samples mirrors U and the one-sided p-values', () => {
    const r = mannWhitney(y, x);
    assert.deepEqual([r.uX, r.uY, r.u], [15, 35, 15]);
    close(r.pLess, 0.1272061272061272, 1e-12);
    close(r.pTwoSided, 0.2544122544122544, 1e-12);
  });

  test("Wikipedia's tortoise and hare (finishing order T H H H H H T T T T T H): U = 11", () => {
    const order = 'THHHHHTTTTTH';
    const pos = (c: string) => [...order].flatMap((o, i) => (o === c ? [i + 1] : []));
    const r = mannWhitney(pos('T'), pos('H')); // values: finishing positions
    assert.equal(r.u, 11);
    assert.equal(r.uY, 11); // U_T in the article: hares beaten by tortoises
    assert.equal(r.uX, 25);
    // Enumeration of C(12,6) = 924 (Python): P(U <= 11) = 143/924; two-sided 0.309524.
    close(r.pTwoSided, 0.30952380952380953, 1e-12);
  });

  test('n1 = n2 = 6: the tables\' two-sided 5% critical value U = 5 (P(U<=5) = 0.0206, P(U<=6) = 0.0325)', () => {
    // Mann & Whitney (1947) / Siegel & Castellan critical value for n1 = n2 = 6, α = 0.05 two-sided: 5.
    const p = exactUDistribution(6, 6);
    const cdf = (u: number) => p.slice(0, u + 1).reduce((s, v) => s + v, 0);
    close(cdf(5), 0.020562770562770564, 1e-12);
    close(cdf(6), 0.032467532467532464, 1e-12);
    assert.ok(cdf(5) <= 0.025 && cdf(6) > 0.025);
  });

  test('the exact distribution sums to 1, is symmetric, has mean m·n/2 and equals brute-force enumeration', () => {
    for (const [m, n] of [[1, 1], [1, 5], [3, 4], [6, 6], [10, 5], [20, 20], [49, 49]]) {
      const p = exactUDistribution(m, n);
      assert.equal(p.length, m * n + 1);
      close(p.reduce((s, v) => s + v, 0), 1, 1e-12, `sum ${m},${n}`);
      close(p.reduce((s, v, u) => s + u * v, 0), (m * n) / 2, 1e-9, `mean ${m},${n}`);
      for (let u = 0; u <= m * n; u++) close(p[u], p[m * n - u], 1e-15, `symmetry ${m},${n} at ${u}`);
    }
    for (const [m, n] of [[3, 4], [4, 5], [6, 6], [2, 7]]) {
      const dp = exactUDistribution(m, n);
      const brute = enumerateU(m, n);
      brute.forEach((v, u) => close(dp[u], v, 1e-15, `P(U=${u}) for ${m},${n}`));
    }
    // Extremes: P(U = 0) = 1 / C(m+n, m); for 20,20: 1/137846528820.
    close(exactUDistribution(20, 20)[0], 7.254444551924844e-12, 1e-22);
  });

  test('exact up to 49 values per side, normal from 50 (R: exact when both n < 50 and no ties)', () => {
    const seq = (n: number, off: number) => Array.from({ length: n }, (_, i) => 2 * i + off);
    assert.equal(mannWhitney(seq(49, 0), seq(49, 1)).method, 'exact');
    assert.equal(mannWhitney(seq(50, 0), seq(10, 1)).method, 'normal');
    // At 49 each the exact tail and the normal approximation of the same U agree closely:
    // U = 1176, mean 1200.5, σ = √(49·49·99/12), two-sided z = (1176 − 1200.5 + 0.5)/σ.
    const e = mannWhitney(seq(49, 0), seq(49, 1));
    assert.equal(e.uX, 1176); // Σ_{k=0}^{48} k = 48·49/2: x = 2k beats y = 1,3,..,2k−1
    const z = (1176 - 1200.5 + 0.5) / Math.sqrt((49 * 49 * 99) / 12);
    close(e.pTwoSided, 2 * normalCdf(z), 2e-3, 'exact vs normal at 49');
    assert.ok(e.pTwoSided > 0.8 && e.pTwoSided < 0.95);
  });
});

describe('mannWhitney: normal approximation', () => {
  test('ties: tie-corrected variance and continuity correction (hand computation)', () => {
    // x = 1 2 2 3 5, y = 2 3 3 4 6 7. Pooled ranks: 1→1, 2,2,2→3, 3,3,3→6, 4→8, 5→9, 6→10, 7→11.
    // R_x = 1+3+3+6+9 = 22, U_x = 22 − 15 = 7, n1·n2/2 = 15, d = −8. Ties: two groups of 3: Σ(t³−t) = 48.
    // σ² = (30/12)·(12 − 48/(11·10)) = 28.909091, σ = 5.3767175.
    // two-sided z = (−8 + 0.5)/σ = −1.3949031, p = 2Φ(z) = 0.1630451; pLess = Φ(z) = 0.0815225;
    // pGreater = 1 − Φ((−8 − 0.5)/σ) = 0.9430484 (Φ from Python's math.erfc).
    const r = mannWhitney([1, 2, 2, 3, 5], [2, 3, 3, 4, 6, 7]);
    assert.equal(r.method, 'normal');
    assert.equal(r.ties, true);
    assert.deepEqual([r.uX, r.uY, r.u], [7, 23, 7]);
    close(r.z, -1.3949031210020042, 1e-9, 'z');
    close(r.pTwoSided, 0.16304505585423731, 3e-7, 'two-sided');
    close(r.pLess, 0.08152252792711866, 2e-7, 'less');
    close(r.pGreater, 0.9430484277057347, 2e-7, 'greater');
  });

  test("the normal tail reproduces R's large-sample p-value for its example: 0.1103 (no correction)", () => {
    // R ?wilcox.test: wilcox.test(x, y, alternative = "greater", exact = FALSE, correct = FALSE) on the
    // data above prints W = 35, p-value = 0.1103: 1 − Φ((35 − 25)/σ), σ = √(10·5·16/12) = 8.164966.
    // With R's default continuity correction: 1 − Φ(9.5/σ) = 0.1223118 (Python math.erfc).
    const sigma = Math.sqrt((10 * 5 * 16) / 12);
    close(normalUpperTail(10 / sigma), 0.1103, 5e-5, 'no correction');
    close(normalUpperTail(9.5 / sigma), 0.12231180256349172, 2e-7, 'with correction');
  });

  test('all values equal: p = 1, z = 0, no NaN', () => {
    const r = mannWhitney([3, 3, 3], [3, 3, 3, 3]);
    assert.deepEqual([r.uX, r.uY, r.z, r.p, r.pGreater, r.pLess, r.method], [6, 6, 0, 1, 1, 1, 'normal']);
  });

  test('all-zero samples (n = 200 each): p = 1', () => {
    const zeros = new Array<number>(200).fill(0);
    const r = mannWhitney(zeros, zeros);
    assert.deepEqual([r.uX, r.pTwoSided, r.pGreater, r.pLess], [20000, 1, 1, 1]);
  });

  test('n = 200 each, not shifted (odd vs even numbers): U = 19900, p = 0.9314', () => {
    // x = 1,3,..,399, y = 2,4,..,400: x = 2k−1 beats k−1 values of y: U_x = Σ(k−1) = 19900.
    // σ = √(200·200·401/12) = 1156.1430; z = (19900 − 20000 + 0.5)/σ = −0.0860620;
    // two-sided 2Φ(z) = 0.9314171, greater 1 − Φ(−100.5/σ) = 0.5346352, less Φ(z) = 0.4657086.
    const x = Array.from({ length: 200 }, (_, i) => 2 * i + 1);
    const y = Array.from({ length: 200 }, (_, i) => 2 * i + 2);
    const r = mannWhitney(x, y);
    assert.equal(r.method, 'normal');
    assert.equal(r.uX, 19900);
    close(r.z, -0.08606201730695512, 1e-9);
    close(r.pTwoSided, 0.9314171173559691, 3e-7);
    close(r.pGreater, 0.5346352160526766, 2e-7);
    close(r.pLess, 0.46570855867798455, 2e-7);
  });

  test('n = 200 each, shifted by 100: U = 28675, p(greater) = 3.12e-14', () => {
    // x = 2k+99 (k = 1..200) beats min(k+49, 200) of y = 2,4,..,400:
    // U_x = Σ_{k=1}^{151}(k+49) + 49·200 = 18875 + 9800 = 28675.
    // zGreater = (28675 − 20000 − 0.5)/1156.1430 = 7.5029645, 1 − Φ = 0.5·erfc(z/√2) = 3.1195e-14.
    const x = Array.from({ length: 200 }, (_, i) => 2 * (i + 1) + 99);
    const y = Array.from({ length: 200 }, (_, i) => 2 * i + 2);
    const r = mannWhitney(x, y);
    assert.equal(r.uX, 28675);
    assert.equal(r.u, 40000 - 28675);
    close(r.z, 7.502964513861127, 1e-9);
    relClose(r.pGreater, 3.1195223559460656e-14, 0.02, 'pGreater');
    relClose(r.pTwoSided, 6.239044711892131e-14, 0.02, 'pTwoSided');
    close(r.pLess, 1, 1e-12);
  });

  test('average ranks for ties; empty and non-finite samples', () => {
    assert.deepEqual(averageRanks([10, 20, 20, 30, 20]), { ranks: [1, 3, 3, 5, 3], tieSizes: [3] });
    assert.deepEqual(averageRanks([5, 5, 1, 1]), { ranks: [3.5, 3.5, 1.5, 1.5], tieSizes: [2, 2] });
    const empty = mannWhitney([], [1, 2]);
    assert.deepEqual([empty.p, empty.pGreater, empty.pLess], [1, 1, 1]);
    assert.throws(() => mannWhitney([1, NaN], [2]), (e: Error) => e instanceof RangeError && /sample x .*not a finite number/.test(e.message));
    assert.throws(() => mannWhitney([1], [Infinity]), /sample y/);
  });
});

describe('twoProportionZTest (pooled variance)', () => {
  test('OpenStax Introductory Statistics, hives: 20/200 vs 12/200, p = 0.1404', () => {
    // OpenStax Introductory Statistics, Example 10.11 (medication A 20 of 200, B 12 of 200): p-value
    // 0.1404. By hand: pooled = 32/400 = 0.08, se = √(0.08·0.92·(2/200)) = 0.0271293,
    // z = 0.04/se = 1.4744196, one-sided 0.0701843.
    const r = twoProportionZTest(20, 200, 12, 200);
    close(r.z, 1.4744195615489717, 1e-12);
    close(r.pTwoSided, 0.1404, 5e-5);
    close(r.pTwoSided, 0.1403686607716732, 3e-7);
    close(r.pGreater, 0.0701843303858366, 2e-7);
    close(r.pLess, 1 - 0.0701843303858366, 2e-7);
    assert.deepEqual([r.rateX, r.rateY, r.pooled, r.degenerate], [0.1, 0.06, 0.08, undefined]);
    const s = twoProportionZTest(12, 200, 20, 200);
    close(s.z, -1.4744195615489717, 1e-12);
    close(s.pLess, 0.0701843303858366, 2e-7);
  });

  test('30/200 vs 10/200: z = 0.1/0.03 = 3.3333, p(greater) = 0.000429', () => {
    // pooled 0.1, se = √(0.1·0.9·0.01) = 0.03; 1 − Φ(10/3) = 4.290603e-4 (Python math.erfc).
    const r = twoProportionZTest(30, 200, 10, 200);
    close(r.z, 10 / 3, 1e-12);
    close(r.pGreater, 0.0004290603331968383, 2e-7);
  });

  test('degenerate inputs: zero totals, no errors anywhere, only errors → z = 0, p = 1', () => {
    const zeroTotal = twoProportionZTest(0, 0, 3, 100);
    assert.deepEqual([zeroTotal.z, zeroTotal.pTwoSided, zeroTotal.pGreater, zeroTotal.pLess, zeroTotal.degenerate, zeroTotal.rateX], [0, 1, 1, 1, 'zero-total', null]);
    const noErrors = twoProportionZTest(0, 1000, 0, 500);
    assert.deepEqual([noErrors.z, noErrors.pTwoSided, noErrors.degenerate, noErrors.pooled, noErrors.rateX], [0, 1, 'no-variance', 0, 0]);
    const allErrors = twoProportionZTest(10, 10, 20, 20);
    assert.deepEqual([allErrors.z, allErrors.pTwoSided, allErrors.degenerate, allErrors.pooled], [0, 1, 'no-variance', 1]);
    assert.throws(() => twoProportionZTest(11, 10, 0, 10), (e: Error) => e instanceof RangeError && /sample x needs 0 <= errors <= total/.test(e.message));
    assert.throws(() => twoProportionZTest(1, 10, NaN, 10), /sample y/);
  });
});

describe('cleanSample', () => {
  test('NaN and ±Infinity removed, or replaced (default 0, or replaceWith)', () => {
    const raw = [1, NaN, 2, Infinity, -Infinity, 3];
    assert.deepEqual(cleanSample(raw, { nan: 'remove' }), { values: [1, 2, 3], removedNonFinite: 3, replacedNonFinite: 0, removedOutliers: 0, removed: 3 });
    assert.deepEqual(cleanSample(raw, { nan: 'replace' }), { values: [1, 0, 2, 0, 0, 3], removedNonFinite: 0, replacedNonFinite: 3, removedOutliers: 0, removed: 0 });
    assert.deepEqual(cleanSample(raw, { nan: 'replace', replaceWith: 7 }).values, [1, 7, 2, 7, 7, 3]);
    assert.throws(() => cleanSample(raw, { nan: 'replace', replaceWith: NaN }), RangeError);
  });

  test('IQR fences with linear quartiles: 1..9 and 100, k = 1.5 drops 100', () => {
    // Sorted 1..9,100: Q1 at index 0.25·9 = 2.25 → 3.25, Q3 at 6.75 → 7.75 (R type 7), IQR 4.5,
    // fences 3.25 − 6.75 = −3.5 and 7.75 + 6.75 = 14.5.
    const raw = [100, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert.deepEqual(quartiles(raw), { q1: 3.25, q3: 7.75 });
    const c = cleanSample(raw, { nan: 'remove', outlierIqrFactor: 1.5 });
    assert.deepEqual(c.values, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([c.removedOutliers, c.removed, c.fences], [1, 1, { low: -3.5, high: 14.5 }]);
    // k = 20: fences −86.75 .. 97.75 still drop 100; k = 21: 7.75 + 94.5 = 102.25 keeps it.
    assert.equal(cleanSample(raw, { nan: 'remove', outlierIqrFactor: 20 }).removedOutliers, 1);
    assert.equal(cleanSample(raw, { nan: 'remove', outlierIqrFactor: 21 }).removedOutliers, 0);
    // No factor: no outlier removal.
    assert.deepEqual(cleanSample(raw, { nan: 'remove' }).values, raw);
  });

  test('IQR 0 (mostly equal values): every other value is outside the fences', () => {
    const c = cleanSample([0, 0, 5, 0, 0, 0, NaN], { nan: 'remove', outlierIqrFactor: 3 });
    assert.deepEqual([c.values, c.removedNonFinite, c.removedOutliers, c.removed], [[0, 0, 0, 0, 0], 1, 1, 2]);
  });
});
