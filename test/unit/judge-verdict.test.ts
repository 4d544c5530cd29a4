// The canary judge's verdicts (activities/judge): one metric's verdict from samples (Mann-Whitney)
// and from error counts (two-proportion z-test) on every path, and the overall score. Reference
// p-values are computed by hand in the comments (Φ from Python's math.erfc) or exactly (1/C(40,20)).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_THRESHOLDS,
  effectRatio,
  judgeProportions,
  judgeSamples,
  scoreJudgement,
  significanceLevel,
  type MetricJudgement,
  type SampleMetricOptions,
} from '../../activities/judge/index.js';

const close = (actual: number | null | undefined, expected: number, tol: number, what = '') => {
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
};
const opts = (o: Partial<SampleMetricOptions> = {}): SampleMetricOptions => ({
  direction: 'increase',
  tolerance: 0.1,
  effect: 'median',
  confidence: 0.95,
  minSamples: 5,
  nan: 'remove',
  ...o,
});
// 20 distinct values each; every canary value above every baseline value.
const baseline = Array.from({ length: 20 }, (_, i) => (100 + i) / 1000); // 0.100 .. 0.119, median 0.1095
const doubled = Array.from({ length: 20 }, (_, i) => (200 + i) / 1000); // 0.200 .. 0.219, median 0.2095 (a double just below: 3 digits 0.209)
// Exact one-sided p when one sample is entirely above the other: 1 / C(40, 20) = 7.254444551924844e-12.
const ALL_ABOVE = 7.254444551924844e-12;

describe('effectRatio', () => {
  test('canary / baseline; baseline 0; negative baseline', () => {
    assert.equal(effectRatio(1.25, 1), 1.25);
    assert.equal(effectRatio(0.2, 0.4), 0.5);
    assert.equal(effectRatio(0, 0), 1);
    assert.equal(effectRatio(3, 0), Infinity);
    assert.equal(effectRatio(-3, 0), -Infinity);
    assert.equal(effectRatio(-0.5, -1), 1.5); // higher than a negative baseline reads > 1
    assert.equal(effectRatio(-2, -1), 0);
    assert.equal(significanceLevel(0.95), 0.05);
    assert.equal(significanceLevel(0.99), 0.01);
  });
});

describe('judgeSamples', () => {
  test('increase, canary doubled: fail with U, p and the effect in the reason', () => {
    const j = judgeSamples('latency-p99', doubled, baseline, opts(), 2, false);
    assert.equal(j.verdict, 'fail');
    assert.deepEqual([j.metric, j.kind, j.weight, j.critical, j.u, j.method], ['latency-p99', 'samples', 2, false, 0, 'mann-whitney-exact']);
    assert.deepEqual([j.canary.n, j.baseline.n, j.canary.removed, j.baseline.removed], [20, 20, 0, 0]);
    close(j.canary.center, 0.2095, 1e-12);
    close(j.baseline.center, 0.1095, 1e-12);
    close(j.effect, 0.2095 / 0.1095, 1e-12);
    close(j.p, ALL_ABOVE, 1e-20);
    assert.equal(j.reason, 'canary median 0.209 vs baseline 0.11 (×1.91, tolerance ×1.10), Mann-Whitney U=0, p=7.3e-12 < 0.05: higher');
  });

  test('increase, canary lower: pass (the one-sided p is ~1)', () => {
    const j = judgeSamples('latency', baseline, doubled, opts(), 1, false);
    assert.equal(j.verdict, 'pass');
    close(j.p, 1, 1e-12);
    close(j.effect, 0.1095 / 0.2095, 1e-12);
    assert.match(j.reason, /p=1 >= 0\.05: no significant increase$/);
  });

  test('decrease: fail when the canary is lower, pass when higher', () => {
    const j = judgeSamples('throughput', baseline, doubled, opts({ direction: 'decrease' }), 1, false);
    assert.equal(j.verdict, 'fail');
    close(j.p, ALL_ABOVE, 1e-20);
    assert.match(j.reason, /\(×0\.52, tolerance ×0\.90\).*< 0\.05: lower$/);
    assert.equal(judgeSamples('throughput', doubled, baseline, opts({ direction: 'decrease' }), 1, false).verdict, 'pass');
  });

  test('either: fails both ways (two-sided p = 2/C(40,20)), passes on the same sample', () => {
    for (const [c, b, word] of [[doubled, baseline, 'higher'], [baseline, doubled, 'lower']] as const) {
      const j = judgeSamples('cpu', [...c], [...b], opts({ direction: 'either' }), 1, false);
      assert.equal(j.verdict, 'fail');
      close(j.p, 2 * ALL_ABOVE, 1e-20);
      assert.match(j.reason, new RegExp(`tolerance ×0\\.90–×1\\.10\\).*: ${word}$`));
    }
    const same = judgeSamples('cpu', baseline, baseline, opts({ direction: 'either' }), 1, false);
    assert.equal(same.verdict, 'pass');
    assert.equal(same.effect, 1);
    assert.match(same.reason, /no significant difference$/);
  });

  test('significant but within the tolerance: pass', () => {
    // Canary 5% higher, every value above the baseline: p = 1/C(40,20) but ×1.06 < ×1.10.
    const b = Array.from({ length: 20 }, (_, i) => 100 + i / 10);
    const c = b.map((v) => v + 5);
    const j = judgeSamples('latency', c, b, opts(), 1, false);
    assert.equal(j.verdict, 'pass');
    close(j.p, ALL_ABOVE, 1e-20);
    close(j.effect, 105.95 / 100.95, 1e-12);
    assert.match(j.reason, /\(×1\.05, tolerance ×1\.10\).*< 0\.05: a significant increase but within the tolerance$/);
    // The same data with a 1% tolerance fails.
    assert.equal(judgeSamples('latency', c, b, opts({ tolerance: 0.01 }), 1, false).verdict, 'fail');
  });

  test('fewer than minSamples on a side: inconclusive, never pass, p null', () => {
    const j = judgeSamples('latency', [0.1, 0.1, 0.1], baseline, opts(), 1, true);
    assert.deepEqual([j.verdict, j.p, j.u, j.canary.n, j.baseline.n, j.critical], ['inconclusive', null, undefined, 3, 20, true]);
    assert.equal(j.reason, 'too few values: canary 3, baseline 20 (minimum 5)');
    // minSamples 0 still needs a value on each side.
    const empty = judgeSamples('latency', [], baseline, opts({ minSamples: 0 }), 1, false);
    assert.deepEqual([empty.verdict, empty.canary.center, empty.effect], ['inconclusive', null, null]);
  });

  test('NaN removed (too few left: inconclusive) vs replaced by 0 (decrease: fail)', () => {
    const b = Array.from({ length: 10 }, (_, i) => (100 + i) / 100); // 1.00 .. 1.09, median 1.045 (a double just below: 3 digits 1.04)
    const c = [1.0, 1.02, 1.04, 1.06, 1.08, NaN, NaN, NaN, NaN, NaN];
    const removed = judgeSamples('rps', c, b, opts({ direction: 'decrease', minSamples: 8 }), 1, false);
    assert.deepEqual([removed.verdict, removed.canary.n, removed.canary.removed], ['inconclusive', 5, 5]);
    assert.equal(removed.reason, 'too few values after cleaning: canary 5, baseline 10 (minimum 8)');
    // Replaced by 0: canary 0×5, 1.00, 1.02, 1.04, 1.06, 1.08; median 0.5, effect 0.5/1.045.
    // U_canary = 0.5 + 2.5 + 4.5 + 6.5 + 8.5 = 22.5 (ties with 1.00..1.08), mean 50; ties: one group
    // of 5 zeros and five pairs: Σ(t³−t) = 120 + 30 = 150; σ² = (100/12)·(21 − 150/380) = 171.7105;
    // pLess = Φ((22.5 − 50 + 0.5)/13.10384) = Φ(−2.0604653) = 0.0196770; two-sided z the same.
    const replaced = judgeSamples('rps', c, b, opts({ direction: 'decrease', minSamples: 8, nan: 'replace' }), 1, false);
    assert.deepEqual([replaced.verdict, replaced.canary.n, replaced.canary.removed, replaced.canary.replaced, replaced.method], ['fail', 10, 0, 5, 'mann-whitney-normal']);
    assert.equal(replaced.u, 22.5);
    close(replaced.canary.center, 0.5, 1e-12);
    close(replaced.effect, 0.5 / 1.045, 1e-9);
    close(replaced.p, 0.01967704005276404, 2e-7);
    close(replaced.z, -2.0604652973004205, 1e-9);
    assert.match(replaced.reason, /^canary median 0\.5 vs baseline 1\.04 \(×0\.48, tolerance ×0\.90\), Mann-Whitney U=22\.5 \(z=-2\.06\), p=0\.02 < 0\.05: lower$/);
  });

  test('IQR outliers: two spikes make the mean fail; removed (k = 1.5) the canary passes', () => {
    const b = Array.from({ length: 20 }, (_, i) => (100 + i) / 100); // 1.00 .. 1.19, mean 1.095
    const c = [...Array.from({ length: 20 }, (_, i) => (105 + i) / 100), 50, 60]; // 1.05 .. 1.24 + spikes
    // Kept: mean (22.9 + 110)/22 = 6.0409, effect 5.5168; U = 287.5 + 2·20 = 327.5 of 440, σ = 39.683,
    // pGreater = 1 − Φ((327.5 − 220 − 0.5)/39.683) = 0.0035051.
    const kept = judgeSamples('latency', c, b, opts({ effect: 'mean' }), 1, false);
    assert.deepEqual([kept.verdict, kept.canary.n, kept.canary.removed], ['fail', 22, 0]);
    close(kept.effect, 5.516811955168121, 1e-9);
    close(kept.p, 0.003505089449920007, 2e-7);
    // Canary fences: Q1 = 1.1025, Q3 = 1.2075 (type 7 over 22 values), IQR 0.105, high 1.365: 50, 60 out.
    // Then mean 1.145, effect 1.0457 (< 1.10); U = 287.5 of 400, σ = 36.942, pGreater = 0.0092610.
    const cleaned = judgeSamples('latency', c, b, opts({ effect: 'mean', outlierIqrFactor: 1.5 }), 1, false);
    assert.deepEqual([cleaned.verdict, cleaned.canary.n, cleaned.canary.removed, cleaned.baseline.removed], ['pass', 20, 2, 0]);
    close(cleaned.canary.center, 1.145, 1e-12);
    close(cleaned.effect, 1.0456621004566213, 1e-9);
    close(cleaned.p, 0.009260973137871109, 2e-7);
    assert.match(cleaned.reason, /within the tolerance$/);
  });

  test('all-zero samples: pass with p = 1 and effect 1; zero baseline with a positive canary: ×∞ fail', () => {
    const zeros = new Array<number>(30).fill(0);
    const z = judgeSamples('errors', zeros, zeros, opts({ direction: 'either' }), 1, false);
    assert.deepEqual([z.verdict, z.p, z.effect, z.z, z.canary.center], ['pass', 1, 1, 0, 0]);
    // Baseline 20 zeros, canary 1..20: U = 400 of 400 (ties among the zeros: normal), σ = 34.585457,
    // pGreater = 1 − Φ((400 − 200 − 0.5)/σ) = 4.0033e-9.
    const inf = judgeSamples('errors', Array.from({ length: 20 }, (_, i) => i + 1), new Array<number>(20).fill(0), opts(), 1, false);
    assert.equal(inf.verdict, 'fail');
    assert.equal(inf.effect, Infinity);
    close(inf.p, 4.003272491281962e-9, 2e-7);
    assert.match(inf.reason, /\(×∞, tolerance ×1\.10\).*: higher$/);
  });

  test('bad options are errors', () => {
    assert.throws(() => judgeSamples('m', [1], [1], opts({ confidence: 1 }), 1, false), (e: Error) => e instanceof RangeError && /metric m: confidence/.test(e.message));
    assert.throws(() => judgeSamples('m', [1], [1], opts({ tolerance: -0.1 }), 1, false), /tolerance/);
  });
});

describe('judgeProportions', () => {
  const p = { direction: 'increase' as const, tolerance: 0.1, confidence: 0.95, minSamples: 100 };

  test('OpenStax hives numbers 20/200 vs 12/200: ×1.67 but p(greater) = 0.0702: pass', () => {
    const j = judgeProportions('errors', { errors: 20, total: 200 }, { errors: 12, total: 200 }, p, 1, false);
    assert.deepEqual([j.verdict, j.kind, j.method, j.canary.center, j.baseline.center, j.canary.n, j.canary.errors], ['pass', 'proportion', 'two-proportion-z', 0.1, 0.06, 200, 20]);
    close(j.p, 0.0701843303858366, 2e-7);
    close(j.z, 1.4744195615489717, 1e-12);
    close(j.effect, 0.1 / 0.06, 1e-12);
    assert.equal(j.reason, 'canary rate 0.1 (20/200) vs baseline 0.06 (12/200) (×1.67, tolerance ×1.10), two-proportion z=1.47, p=0.07 >= 0.05: no significant increase');
  });

  test('30/200 vs 10/200: fail on increase and either, pass on decrease; mirrored fails decrease', () => {
    // z = 0.1/0.03 = 3.3333, one-sided 4.2906e-4, two-sided 8.5812e-4.
    const up = judgeProportions('errors', { errors: 30, total: 200 }, { errors: 10, total: 200 }, p, 1, false);
    assert.equal(up.verdict, 'fail');
    close(up.p, 0.0004290603331968383, 2e-7);
    close(up.effect, 3, 1e-12);
    assert.match(up.reason, /\(×3\.00, tolerance ×1\.10\), two-proportion z=3\.33, p=0\.00043 < 0\.05: higher$/);
    const either = judgeProportions('errors', { errors: 30, total: 200 }, { errors: 10, total: 200 }, { ...p, direction: 'either' }, 1, false);
    assert.equal(either.verdict, 'fail');
    close(either.p, 0.0008581206663936767, 3e-7);
    assert.equal(judgeProportions('errors', { errors: 30, total: 200 }, { errors: 10, total: 200 }, { ...p, direction: 'decrease' }, 1, false).verdict, 'pass');
    const down = judgeProportions('success', { errors: 10, total: 200 }, { errors: 30, total: 200 }, { ...p, direction: 'decrease' }, 1, false);
    assert.equal(down.verdict, 'fail');
    assert.match(down.reason, /: lower$/);
  });

  test('no errors anywhere: pass, p = 1, effect 1; zero baseline errors with canary errors: ×∞', () => {
    const none = judgeProportions('errors', { errors: 0, total: 1000 }, { errors: 0, total: 1000 }, p, 1, false);
    assert.deepEqual([none.verdict, none.p, none.effect, none.z], ['pass', 1, 1, 0]);
    assert.match(none.reason, /pooled rate 0: no variance/);
    // 5/1000 vs 0/1000: pooled 0.0025, z = 0.005/√(0.0025·0.9975·0.002) = 2.2388683, p = 0.0125822.
    const inf = judgeProportions('errors', { errors: 5, total: 1000 }, { errors: 0, total: 1000 }, p, 1, false);
    assert.equal(inf.verdict, 'fail');
    assert.equal(inf.effect, Infinity);
    close(inf.p, 0.012582242850159277, 2e-7);
  });

  test('too few events, zero totals and invalid counts: inconclusive', () => {
    const few = judgeProportions('errors', { errors: 5, total: 50 }, { errors: 0, total: 1000 }, p, 1, false);
    assert.deepEqual([few.verdict, few.p], ['inconclusive', null]);
    assert.equal(few.reason, 'too few events: canary 50, baseline 1000 (minimum 100)');
    const zero = judgeProportions('errors', { errors: 0, total: 0 }, { errors: 0, total: 0 }, { ...p, minSamples: 0 }, 1, false);
    assert.deepEqual([zero.verdict, zero.canary.center, zero.effect], ['inconclusive', null, null]);
    const bad = judgeProportions('errors', { errors: 120, total: 100 }, { errors: 0, total: 1000 }, p, 1, false);
    assert.equal(bad.verdict, 'inconclusive');
    assert.equal(bad.reason, 'invalid counts for the canary: 120 errors of 100 (need 0 <= errors <= total)');
  });
});

describe('scoreJudgement', () => {
  const m = (metric: string, verdict: MetricJudgement['verdict'], weight = 1, critical = false): MetricJudgement => ({
    metric,
    kind: 'samples',
    verdict,
    reason: `${metric} was ${verdict}`,
    canary: { n: 10, center: 1 },
    baseline: { n: 10, center: 1 },
    p: verdict === 'inconclusive' ? null : 0.5,
    effect: 1,
    weight,
    critical,
  });

  test('defaults 95 / 75', () => {
    assert.deepEqual(DEFAULT_THRESHOLDS, { pass: 95, marginal: 75 });
  });

  test('weights: the share of passing weight, rounded to 2 decimals', () => {
    assert.deepEqual(scoreJudgement([m('a', 'pass'), m('b', 'pass')], DEFAULT_THRESHOLDS), { score: 100, verdict: 'pass', reason: 'score 100 >= pass 95 (2 of 2 metrics passed): pass' });
    const half = scoreJudgement([m('a', 'pass'), m('b', 'pass'), m('c', 'fail', 2)], DEFAULT_THRESHOLDS);
    assert.deepEqual([half.score, half.verdict], [50, 'fail']);
    assert.equal(half.reason, 'score 50 < marginal 75 (2 of 3 metrics passed; failed: c): fail');
    const marginal = scoreJudgement([m('a', 'pass', 3), m('b', 'fail')], DEFAULT_THRESHOLDS);
    assert.deepEqual([marginal.score, marginal.verdict], [75, 'marginal']);
    assert.equal(scoreJudgement([m('a', 'pass'), m('b', 'fail'), m('c', 'fail')], DEFAULT_THRESHOLDS).score, 33.33);
    assert.equal(scoreJudgement([m('a', 'pass'), m('b', 'pass'), m('c', 'fail')], DEFAULT_THRESHOLDS).score, 66.67);
  });

  test('thresholds are inclusive; custom thresholds', () => {
    const nineteen = [...Array.from({ length: 19 }, (_, i) => m(`m${i}`, 'pass')), m('x', 'fail')];
    assert.deepEqual(scoreJudgement(nineteen, DEFAULT_THRESHOLDS).score, 95);
    assert.equal(scoreJudgement(nineteen, DEFAULT_THRESHOLDS).verdict, 'pass');
    assert.equal(scoreJudgement(nineteen, { pass: 96, marginal: 75 }).verdict, 'marginal');
    const twoThirds = [m('a', 'pass'), m('b', 'pass'), m('c', 'fail')];
    assert.equal(scoreJudgement(twoThirds, { pass: 60, marginal: 40 }).verdict, 'pass');
    assert.equal(scoreJudgement(twoThirds, { pass: 80, marginal: 70 }).verdict, 'fail');
  });

  test('inconclusive counts as not passing', () => {
    const r = scoreJudgement([m('a', 'pass'), m('b', 'inconclusive')], DEFAULT_THRESHOLDS);
    assert.deepEqual([r.score, r.verdict], [50, 'fail']);
    assert.match(r.reason, /inconclusive: b/);
  });

  test('a failed critical metric: score 0, fail, named with its reason', () => {
    const r = scoreJudgement([m('a', 'pass', 10), m('errors', 'fail', 0.1, true)], DEFAULT_THRESHOLDS);
    assert.deepEqual(r, { score: 0, verdict: 'fail', reason: 'critical metric failed: errors (errors was fail)' });
    const two = scoreJudgement([m('x', 'fail', 1, true), m('y', 'fail', 1, true)], DEFAULT_THRESHOLDS);
    assert.match(two.reason, /^critical metrics failed: x \(.*\); y \(/);
  });

  test('an inconclusive critical metric caps the verdict at marginal', () => {
    const many = [...Array.from({ length: 20 }, (_, i) => m(`m${i}`, 'pass')), m('errors', 'inconclusive', 1, true)];
    const r = scoreJudgement(many, DEFAULT_THRESHOLDS); // 20/21 = 95.24
    assert.deepEqual([r.score, r.verdict], [95.24, 'marginal']);
    assert.match(r.reason, /but critical metric errors inconclusive: marginal at best$/);
    // Below marginal it stays fail.
    assert.equal(scoreJudgement([m('a', 'fail'), m('errors', 'inconclusive', 1, true)], DEFAULT_THRESHOLDS).verdict, 'fail');
  });

  test('no metrics, zero weights, bad weights', () => {
    assert.deepEqual(scoreJudgement([], DEFAULT_THRESHOLDS), { score: 0, verdict: 'fail', reason: 'no metrics were judged: nothing shows the canary is healthy' });
    assert.deepEqual(scoreJudgement([m('a', 'pass', 0)], DEFAULT_THRESHOLDS), { score: 0, verdict: 'fail', reason: 'the weights of all 1 metrics are 0: no score' });
    assert.throws(() => scoreJudgement([m('a', 'pass', -1)], DEFAULT_THRESHOLDS), (e: Error) => e instanceof RangeError && /metric a: weight/.test(e.message));
  });
});
